# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Worker processes: measuring beyond one process
#
# Provided code (no exercises). Most timing noise lies *between* processes (where the memory pages
# landed, which core, the state of the BLAS threads), so an interval built from the blocks of one
# process describes that process only. To measure a model, start several fresh interpreters one after
# the other, let each measure it, and take the interval across their results.
#
# A worker is `python -m <module>`: a new interpreter, not a fork of this one, so it shares nothing with
# the parent but files. It reads one JSON request on stdin and writes one JSON line on stdout. Models
# reach it only as data, by one of three routes (a `ModelSource`):
#
# | route | what the worker does | made by |
# |---|---|---|
# | a saved model | `load_model(path)`: arrays and a JSON architecture, no code | `ModelSource.saved(path)`, or any tinytorch model (the parent saves it into a temporary folder) |
# | a reference model | `load_reference_model(name)` | `ModelSource.reference("tinydigits_mlp")` |
# | an importable factory | imports `package.module` and calls `function()`, which returns the model | `ModelSource.factory("package.module:function")` |
#
# Nothing is pickled: a model that fits none of the routes (a function defined in a notebook, say) is
# an error that names them. `across_processes` turns the values of every process into one value per
# process plus the variance within and between processes.

# %%
#| default_exp benchmarking.workers
#| export
from __future__ import annotations

import importlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.models.zoo import list_reference_models, load_model, load_reference_model, save_model
from tinytorch.utils.inference import inference_function, model_name

# %%
#| export
ROUTES = ("a model saved with save_model (ModelSource.saved(path); any model made of tinytorch layers is saved "
          "for you), a reference-model name (ModelSource.reference('tinydigits_mlp')), or an importable factory "
          "(ModelSource.factory('package.module:function'), a function that returns the model)")
DEFAULT_WORKER_TIMEOUT_S = 600.0
_MAX_LINE = 64 * 1024 * 1024
# How a process that hit its address-space limit says so: Python, OpenBLAS, the C library.
_OUT_OF_MEMORY = ("MemoryError", "Memory allocation", "Cannot allocate memory", "cannot allocate memory")


class WorkerError(RuntimeError):
    """A worker process failed: it reported an error, crashed, was killed, or missed its deadline."""


@dataclass(frozen=True)
class ModelSource:
    """How a worker process obtains a model, as data: never pickled code.

    Attributes:
        kind: "saved" (a `save_model` path), "reference" (a reference-model name) or "factory"
            ("package.module:function", called without arguments).
        target: the path, the name or the factory.
        name: the model's name in results (default: the file's stem, the reference name, the function's).
    """

    kind: str
    target: str
    name: str | None = None

    def __post_init__(self):
        if self.kind not in ("saved", "reference", "factory"):
            raise ValueError(f"kind={self.kind!r} must be 'saved', 'reference' or 'factory'")
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"target={self.target!r} must be a non-empty string (a path, a name or module:function)")
        if self.kind == "reference" and self.target not in list_reference_models():
            raise ValueError(f"unknown reference model {self.target!r}; choose one of {', '.join(list_reference_models())}")
        if self.kind == "factory":
            module, _, function = self.target.partition(":")
            if not module or not function or not all(part.isidentifier() for part in
                                                       module.split(".") + function.split(".")):
                raise ValueError(f"factory {self.target!r} must be 'package.module:function', e.g. "
                                 "'mymodels.zoo:make_mlp' (importable where the worker runs)")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ValueError(f"name={self.name!r} must be a non-empty string or None")
        if self.name is None:  # results need a name: the file's stem, the reference name, the function's
            if self.kind == "saved":
                default = Path(self.target).name.removesuffix(".npz").removesuffix(".json")
            else:
                default = self.target.rpartition(":")[2].rpartition(".")[2]
            object.__setattr__(self, "name", default)

    @classmethod
    def saved(cls, path: str | Path, name: str | None = None) -> ModelSource:
        """A model saved with `save_model(model, path)`."""
        return cls("saved", str(Path(path)), name)

    @classmethod
    def reference(cls, name: str) -> ModelSource:
        """One of `list_reference_models()`."""
        return cls("reference", name, name)

    @classmethod
    def factory(cls, target: str, name: str | None = None) -> ModelSource:
        """`"package.module:function"`: the worker imports the module and calls the function for the model."""
        return cls("factory", target, name)

    def load(self) -> Any:
        """Build the model (in a worker, or in the parent when it measures in-process)."""
        if self.kind == "saved":
            model = load_model(self.target)
        elif self.kind == "reference":
            model = load_reference_model(self.target)
        else:
            module_name, _, path = self.target.partition(":")
            found: Any = importlib.import_module(module_name)
            for part in path.split("."):
                found = getattr(found, part)
            if not callable(found):
                raise TypeError(f"factory {self.target!r} is a {type(found).__name__}, not a function")
            model = found()
            inference_function(model, f"the model made by {self.target}")  # a clear TypeError if unusable
        try:
            model.name = self.name
        except AttributeError:  # an object with fixed attributes keeps its own name
            pass
        return model

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "target": self.target, "name": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelSource:
        return cls(str(data["kind"]), str(data["target"]), data.get("name"))


def model_sources(models: Sequence[Any], names: Sequence[str], folder: Path) -> list[ModelSource]:
    """The route of each model to a worker: a `ModelSource` as it is; any other model saved into `folder`.

    Raises:
        ValueError: for a model that cannot be sent (the message names the model and the routes).
    """
    sources = []
    for index, (model, name) in enumerate(zip(models, names)):
        if isinstance(model, ModelSource):
            sources.append(ModelSource(model.kind, model.target, name))
            continue
        path = folder / f"model_{index}"
        try:
            save_model(model, path)
        except (ValueError, TypeError, AttributeError) as error:
            raise ValueError(f"model {name!r} ({type(model).__name__}) cannot be sent to a worker process: a worker "
                             f"receives a model only as data, as {ROUTES}. Here save_model said: {error}") from error
        sources.append(ModelSource.saved(path, name))
    return sources

# %% [markdown]
# ## Starting workers (the parent's side)

# %%
#| export
def worker_environment() -> dict[str, str]:
    """This process's environment, with the folder holding this `tinytorch` first on the import path."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def kill_group(process: subprocess.Popen) -> None:
    """Kill a worker started with `start_new_session=True`, and everything it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: nothing it started survives
    except ProcessLookupError:
        pass


def _read_output(process: subprocess.Popen, timeout_s: float) -> tuple[bytes, str | None]:
    """Everything the worker writes on stdout until it closes it, or a problem (deadline, flood)."""
    deadline, chunks, size = time.monotonic() + timeout_s, [], 0
    fd = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"", f"it did not finish within {timeout_s:g} s"
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks), None
            chunks.append(chunk)
            size += len(chunk)
            if size > _MAX_LINE:
                return b"", "it wrote more than 64 MB of results"


def how_it_ended(returncode: int, stderr: str) -> str:
    """A worker's end in words, e.g. "was killed by SIGKILL (out of memory): <its last line on stderr>"."""
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with code {returncode}"
    if any(word in line for line in stderr.splitlines()[-5:] for word in _OUT_OF_MEMORY):
        how += " (out of memory)"
    last = [line for line in stderr.strip().splitlines() if line.strip()][-1:]
    return how + (f": {last[0][:500]}" if last else "")


def run_worker(module: str, request: Mapping[str, Any], timeout_s: float = DEFAULT_WORKER_TIMEOUT_S) -> dict:
    """Run `python -m module` in a fresh interpreter with `request` on stdin; return its result.

    Raises:
        WorkerError: the worker reported an error (its message is kept), crashed, or missed the deadline.
    """
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=stderr, env=worker_environment(), start_new_session=True)
        except OSError as error:  # e.g. a sandbox that allows no new processes
            raise WorkerError(f"a worker process cannot be started here ({type(error).__name__}: {error}); "
                              "measure in this process instead (processes=1)") from error
        try:
            try:
                process.stdin.write(json.dumps(request).encode("utf-8"))
                process.stdin.close()
            except BrokenPipeError:
                pass  # it died at once; its exit code says why
            output, problem = _read_output(process, timeout_s)
            if problem is None:
                try:
                    process.wait(timeout=30)  # it closed its output: it is finishing
                except subprocess.TimeoutExpired:
                    problem = "it did not exit after writing its result"
        except BaseException:  # e.g. Ctrl-C: never leave a worker behind
            kill_group(process)
            process.wait()
            raise
        finally:
            process.stdout.close()
        if problem:
            kill_group(process)
        returncode = process.wait()
        stderr.seek(0)
        text = stderr.read()[-20_000:].decode("utf-8", "replace")
    if problem:
        raise WorkerError(f"the worker process ({module}) was stopped: {problem}")
    lines = [line for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    try:
        record = json.loads(lines[-1]) if len(lines) == 1 else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or "ok" not in record:
        raise WorkerError(f"the worker process ({module}) {how_it_ended(returncode, text)}")
    if not record["ok"]:
        raise WorkerError(str(record.get("error")))
    return record["result"]


def run_workers(module: str, requests: Sequence[Mapping[str, Any]], timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
                on_result: Callable[[int, dict], None] = lambda index, result: None) -> list[dict]:
    """Run one worker per request, one after the other (two at once would disturb each other's timing).

    Each result gets `worker_seconds`: the worker's wall time, start-up included.

    Raises:
        WorkerError: naming the worker (1-based) that failed and why; the others are not started.
    """
    results = []
    for index, request in enumerate(requests):
        started = time.monotonic()
        try:
            result = run_worker(module, request, timeout_s)
        except WorkerError as error:
            raise WorkerError(f"worker {index + 1} of {len(requests)} failed: {error}") from error
        result["worker_seconds"] = time.monotonic() - started  # start-up included
        results.append(result)
        on_result(index, result)
    return results

# %% [markdown]
# ## A worker's own side
#
# `serve(handler)` is the `main` of a worker module: the request in, the handler's result out, as one
# JSON line on the original stdout. Anything else printed (a library's message) goes to stderr, so
# it can never be mistaken for a result. A request may cap the worker's address space
# (`memory_limit_bytes`), set before any model is loaded.

# %%
#| export
def serve(handler: Callable[[dict], dict]) -> int:
    """Read one JSON request on stdin, write `{"ok": true, "result": handler(request)}` (or the error)."""
    sys.stdout.flush()
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        request = json.loads(sys.stdin.read())
        limit = request.get("memory_limit_bytes")
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
        record = {"ok": True, "result": handler(request)}
    except Exception as error:  # reported to the parent, which raises it as a WorkerError
        traceback.print_exc()
        record = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    results.write(json.dumps(record, default=_plain) + "\n")
    results.flush()
    return 0 if record["ok"] else 1


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a worker cannot send {type(value).__name__}")


def process_order(count: int, seed: int, process_index: int) -> list[int]:
    """The order a worker measures its models in: shuffled per process, so position effects average out."""
    return np.random.default_rng([seed, process_index]).permutation(count).tolist()

# %% [markdown]
# ## Across processes
#
# Each process gives one value per model: the **median** of its blocks, which one preempted block
# cannot move far (the process's mean can). The interval is then Student's t with `N - 1` degrees of
# freedom on those `N` values, an interval for the typical value of a fresh process. The spread is
# split the way a one-way analysis of variance splits it: *within* (blocks around their own process's
# mean, pooled) and *between* (the variance of the per-process values).

# %%
#| export
def across_processes(per_process: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Per-process medians and the variance within and between processes.

    Args:
        per_process: the values (e.g. block times) of each process; at least one value each.

    Returns:
        `values` (one median per process), `per_process_values` (all raw values), `processes`,
        `within_process_variance` (pooled, of the raw values), `between_process_variance` (of the
        medians), and both as coefficients of variation (`within_process_cv`, `between_process_cv`).
    """
    arrays = [np.asarray(values, dtype=np.float64).reshape(-1) for values in per_process]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("across_processes needs at least one process, each with at least one value")
    medians = np.array([float(np.median(a)) for a in arrays])
    spread = [(float(a.var(ddof=1)), a.size - 1) for a in arrays if a.size > 1]
    dof = sum(d for _, d in spread)
    within = sum(v * d for v, d in spread) / dof if dof else 0.0
    between = float(medians.var(ddof=1)) if medians.size > 1 else 0.0
    centre = float(np.mean(medians))
    return {"values": medians.tolist(), "per_process_values": [a.tolist() for a in arrays],
            "processes": len(arrays), "within_process_variance": within, "between_process_variance": between,
            "within_process_cv": within**0.5 / centre if centre > 0 else None,
            "between_process_cv": between**0.5 / centre if centre > 0 else None}

# %% [markdown]
# ## Single-stream queries in a worker (TinyMLPerf)
#
# `python -m tinytorch.benchmarking.workers` times single queries: it loads the model by its route,
# loads the queries the parent wrote (`np.load`, no pickle), runs the untimed warm-up ones, then times
# each of the others on its own.

# %%
#| export
def time_queries(request: Mapping[str, Any]) -> dict[str, Any]:
    """The handler of the query worker: `latencies_ns`, one per timed query, in the order given."""
    model = ModelSource.from_json(request["model"]).load()
    run, _ = inference_function(model, model_name(model, "the model"))
    queries = np.load(request["queries"], allow_pickle=False)
    warmup = int(request["warmup"])
    for query in queries[:warmup]:
        run(query[None])
    latencies = []
    for query in queries[warmup:]:
        one = query[None]
        start = time.perf_counter_ns()
        run(one)
        latencies.append(time.perf_counter_ns() - start)
    return {"latencies_ns": latencies}


if __name__ == "__main__":
    sys.exit(serve(time_queries))
