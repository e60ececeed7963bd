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
# # Utilities shared by every module, by `tito` and by `tools/`
#
# Provided code (no exercises): the few helpers that several modules would otherwise each write again.
# Each lives in its own small file of `tinytorch.utils`:
#
# | file | what | used by |
# |---|---|---|
# | `files` | atomic file writes: the old file or the new one, never half of either | models, TinyMLPerf, the suite, `tito`, `tools/` |
# | `checks` | argument checks with messages that name the value and the fix | profiler, benchmarks, training |
# | `inference` | how to call a model (`forward`, `predict` or a plain callable) and read its output | profiler, TinyMLPerf, the benchmark |
# | `testing` | a fake nanosecond clock, so timing logic is tested without wall-clock time | tests and inline tests |
# | `progress` | a progress bar on stderr that can be turned off | the suite, `tito bench` |
#
# `files` uses only the standard library: `tito` imports it to write the package itself, so it must
# import even when a module being exported is broken.

# %% [markdown]
# ## Atomic writes
#
# A reader (another process, or this one after a crash) must see the old file or the new one. So the
# data goes to a temporary file in the same folder, is flushed to the disk (`fsync`), and is renamed
# over the target (`os.replace`, atomic on POSIX); then the folder itself is synced, so the rename
# survives a power cut. The temporary file gets the mode any new file gets (`0o666` minus the umask;
# `mkstemp` would leave `0o600`). Its name carries the writer's process id,
# `.<name>.<pid>.<random>.tmp`: a writer that was killed leaves one behind, and the next write of the
# same file removes it once that process is gone.

# %%
#| default_exp utils.files
#| export
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

# %%
#| export
TEMPORARY_SUFFIX = ".tmp"


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_folder(folder: str | Path) -> Path:
    """Create `folder` (and its parents) if needed; an OSError says which folder and what to do."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create the output folder {folder}: {error}; choose an output folder you can "
                      f"write to") from error
    return folder


def _temporary_pattern(path: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[A-Za-z0-9_]+{re.escape(TEMPORARY_SUFFIX)}$")


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove temporary files of `path` left by writers that were killed; return what was removed.

    A temporary file of a process that is still running is left alone: it may be writing right now.
    """
    path = Path(path)
    pattern, removed = _temporary_pattern(path), []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        match = pattern.match(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _process_is_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def stage_file(path: str | Path, data: bytes | Callable[[Path], None]) -> Path:
    """Write the future content of `path` to a synced temporary file beside it; return that file.

    `data` is the bytes, or a function that writes the file it is given (e.g. `figure.savefig`).
    `commit_file` then puts it in place. On any error the temporary file is removed.
    """
    path = Path(path)
    folder = ensure_folder(path.parent)
    remove_stale_temporaries(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMPORARY_SUFFIX, dir=folder)
    except OSError as error:
        raise OSError(f"cannot write to the output folder {folder}: {error}; choose an output folder you can "
                      f"write to") from error
    temporary = Path(name)
    try:
        os.fchmod(handle, 0o666 & ~current_umask())
        if callable(data):
            os.close(handle)
            handle = None
            data(temporary)
            handle = os.open(temporary, os.O_RDONLY)
        else:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
        os.fsync(handle)
    except BaseException:
        if handle is not None:
            os.close(handle)
            handle = None
        temporary.unlink(missing_ok=True)
        raise
    finally:
        if handle is not None:
            os.close(handle)
    return temporary


def commit_file(temporary: str | Path, path: str | Path) -> Path:
    """Rename a staged file over `path` and sync the folder; the staged file is removed on failure."""
    temporary, path = Path(temporary), Path(path)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def write_atomic(path: str | Path, data: bytes | Callable[[Path], None]) -> Path:
    """Write `path` atomically: bytes, or a function that writes the (temporary) file it is given."""
    return commit_file(stage_file(path, data), path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    return write_atomic(path, bytes(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """UTF-8, newlines as given (no platform translation), so generated files are identical everywhere."""
    return write_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")

# %% [markdown]
# ## Argument checks
#
# Bad input gets a `ValueError` that names the value and says what would be right.

# %%
#| export utils.checks
import math
import numbers
from collections.abc import Mapping

import numpy as np

# %%
#| export utils.checks
def check_count(name: str, value, low: int) -> int:
    """`value` as an int if it is an integer (not a bool) of at least `low`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def check_positive(name: str, value, example: str = "") -> float:
    """`value` as a float if it is a finite number above zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive finite number" + (f", e.g. {example}" if example else ""))
    return float(value)


def finite_values(values, what: str = "values") -> np.ndarray:
    """`values` as a 1-D float64 array of measurements.

    Raises:
        ValueError: for a single number instead of a sequence, strings or booleans among the values,
            no values, NaN or infinite values, or values so large that their mean or spread overflows.
    """
    if isinstance(values, (str, bytes, numbers.Number, Mapping)) or (isinstance(values, np.ndarray) and values.ndim == 0):
        raise ValueError(f"{what} must be a sequence of numbers (one per measurement), got the single "
                         f"{type(values).__name__} {values!r:.80}; wrap one value in a list: [{values!r:.40}]")
    try:
        items = values if isinstance(values, np.ndarray) else list(values)
    except TypeError as error:
        raise ValueError(f"{what} must be a sequence of numbers, got {type(values).__name__}") from error
    raw = np.asarray(items)
    flat = raw.reshape(-1) if raw.dtype == object else items if isinstance(items, list) else []
    odd = [v for v in flat if isinstance(v, (str, bytes, bool, np.bool_))]
    if raw.dtype.kind in "bUSV" or odd:
        example = odd[0] if odd else raw.reshape(-1)[0] if raw.size else raw
        raise ValueError(f"{what} must be numbers, got {type(example).__name__} values such as {example!r:.40}; "
                         "convert them to measured numbers first (a boolean or a text is not a measurement)")
    try:
        array = np.asarray(items, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be numbers, got {values!r:.80}") from error
    if array.size == 0:
        raise ValueError(f"{what} is empty; a result needs at least one measured value")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{what} holds NaN or infinite numbers at positions {bad[:5].tolist()} "
                         f"(e.g. {array[bad[0]]}); a failed measurement must raise, not be recorded")
    with np.errstate(over="ignore", invalid="ignore"):
        summary = (array.mean(), array.std())
    if not np.isfinite(summary).all():
        raise ValueError(f"{what} are too large: their mean or spread overflows a float (largest magnitude "
                         f"{np.abs(array).max():.3g}); record them in a larger unit")
    return array


def check_input_shape(input_shape, min_axes: int = 1) -> tuple[int, ...]:
    """A batch-first tuple of positive integers with at least `min_axes` axes, e.g. (1, 64)."""
    if not isinstance(input_shape, (tuple, list)) or not input_shape or any(
            isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in input_shape):
        raise ValueError(f"input_shape={input_shape!r} must be a tuple of integers, batch first, e.g. (1, 64)")
    if len(input_shape) < min_axes:
        raise ValueError(f"input_shape={tuple(input_shape)!r} has no batch axis; pass (batch, features...), "
                         "e.g. (1, 64)")
    if any(n < 1 for n in input_shape):
        raise ValueError(f"input_shape={tuple(input_shape)!r} has a zero or negative size; every axis must be "
                         "at least 1, batch first, e.g. (1, 8, 8)")
    return tuple(int(n) for n in input_shape)

# %% [markdown]
# ## Calling a model
#
# A model is a tinytorch layer (`forward(x)`), an object with `predict(x)`, or a plain function, in
# that order of preference. Its output may be a `Tensor` or anything NumPy can read.

# %%
#| export utils.inference
from typing import Any, Callable

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| export utils.inference
def inference_function(model: Any, label: str = "model") -> tuple[Callable, str]:
    """The model's inference call and how it is called: `"forward"`, `"predict"` or `"__call__"`.

    Raises:
        TypeError: if the model has none of the three (`label` names it in the message).
    """
    for method in ("forward", "predict"):
        function = getattr(model, method, None)
        if callable(function):
            return function, method
    if callable(model):
        return model, "__call__"
    raise TypeError(f"{label} ({type(model).__name__}) has no forward(x), no predict(x) and is not callable; "
                    "wrap it, e.g. `lambda x: my_model.run(x)`")


def model_name(model: Any, default: str) -> str:
    """`model.name` when it has a non-empty one, else `default`."""
    return str(getattr(model, "name", None) or default)


def as_array(output: Any) -> np.ndarray:
    """A model's output (a `Tensor` or array-like) as a NumPy array."""
    return output.data if isinstance(output, Tensor) else np.asarray(output)

# %% [markdown]
# ## A fake clock for tests
#
# Timing code takes its clock as a parameter (`clock=time.perf_counter_ns`), so tests pass this one and
# know every duration exactly. It moves only when told: `advance(ns)` (a fake model's cost), a `tick`
# added at every reading, a cycle of `steps` (one per reading), or a `script` of readings.

# %%
#| export utils.testing
from collections.abc import Iterable

# %%
#| export utils.testing
class FakeClock:
    """A nanosecond clock that moves only when told to.

    Args:
        start: the first reading (without tick or steps).
        tick: added before every reading is returned.
        steps: a cycle of increments, one per reading (instead of `tick`).
        script: the readings themselves, returned one by one (the others are then ignored).
    """

    def __init__(self, start: int = 0, *, tick: int = 0, steps: Iterable[int] | None = None,
                 script: Iterable[int] | None = None):
        self.now, self.tick, self.readings = int(start), int(tick), 0
        self.steps = list(steps) if steps is not None else None
        self.script = list(script) if script is not None else None

    def __call__(self) -> int:
        self.readings += 1
        if self.script is not None:
            if self.readings > len(self.script):
                raise RuntimeError(f"the fake clock's script has {len(self.script)} readings; a test read it "
                                   f"{self.readings} times")
            self.now = self.script[self.readings - 1]
            return self.now
        self.now += self.steps[(self.readings - 1) % len(self.steps)] if self.steps else self.tick
        return self.now

    def advance(self, nanoseconds: int) -> None:
        """Move the clock forward, as the work being timed would."""
        self.now += int(nanoseconds)

# %% [markdown]
# ## A progress display
#
# A `rich` progress bar on stderr while a long measurement runs; off, it costs nothing.

# %%
#| export utils.progress
from contextlib import contextmanager

# %%
#| export utils.progress
@contextmanager
def progress_display(enabled: bool, total: int):
    """Yield `advance(description)`; shows a rich progress bar on stderr when enabled."""
    if not enabled:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("starting", total=total)
        state = {"started": False}

        def advance(description: str) -> None:
            if state["started"]:
                progress.advance(task)
            state["started"] = True
            progress.update(task, description=description)

        yield advance
        progress.advance(task)
