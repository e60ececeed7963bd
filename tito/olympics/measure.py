"""The checks (in `worker.py` processes), and the measurement: tinytorch's `Benchmark(..., processes=N)`.

`measure_entries` is the one place that measures: one `Benchmark` over every entry, each given as its
saved files (`ModelSource.saved`, so this process never loads a submission), measures latency and
memory in `processes` fresh worker processes one after the other (never two at once: they would slow
each other), each loading every entry from disk under an address-space limit and timing all of them
interleaved; the raw values of every process are kept, with the machine's warnings.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinytorch.benchmarking.workers import how_it_ended, kill_group, worker_environment

from .submission import INPUT_SHAPE

_MAX_LINE = 16 * 1024 * 1024


@dataclass(frozen=True)
class MeasureSettings:
    """How every entry of a run is measured (the same for all).

    Attributes:
        processes: fresh worker processes; the interval of each entry is computed across them.
        warmup: untimed calls per model in each process before calibration.
        runs: timed blocks per model in each process (each block is calibrated to >= min_block_ms).
        min_block_ms: the shortest timed block.
        seed: seed of the input and of each process's model order.
        memory_limit_mb: address-space limit of each worker (RLIMIT_AS).
        check_timeout_s: the longest one entry's check may take.
        process_timeout_s: the longest one measuring process may take.
        max_inference_ms: entries slower than this on one inference are not measured.
    """

    processes: int = 10
    warmup: int = 5
    runs: int = 10
    min_block_ms: float = 1.0
    seed: int = 0
    memory_limit_mb: int = 4096
    check_timeout_s: float = 60.0
    process_timeout_s: float = 600.0
    max_inference_ms: float = 1000.0

    def __post_init__(self):
        if type(self.processes) is not int or self.processes < 2:
            raise ValueError(f"processes={self.processes!r}: at least 2 are needed for an interval across "
                             "processes; use 10 or more")
        if type(self.runs) is not int or self.runs < 2:
            raise ValueError(f"runs={self.runs!r}: at least 2 timed blocks per process are needed")
        if type(self.warmup) is not int or self.warmup < 0:
            raise ValueError(f"warmup={self.warmup!r} must be a non-negative integer")
        for name in ("min_block_ms", "check_timeout_s", "process_timeout_s", "max_inference_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be positive")
        if self.memory_limit_mb < 512:
            raise ValueError(f"memory_limit_mb={self.memory_limit_mb!r}: a worker needs at least 512 MB to "
                             "import numpy, scipy and tinytorch")

    def describe(self) -> dict:
        return {**vars(self), "input_shape": list(INPUT_SHAPE),
                "method": f"{self.processes} fresh processes one after another; in each, every entry loaded from "
                          f"disk, {self.warmup} warm-up calls, {self.runs} calibrated blocks (>= {self.min_block_ms:g} "
                          "ms) per entry, entries interleaved round-robin in a shuffled order; batch 1"}


@dataclass
class ProcessResult:
    """One measuring process: raw values per entry, or why it failed."""

    index: int
    ok: bool
    reason: str = ""
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    calls_per_block: dict[str, int] = field(default_factory=dict)
    memory_mb: dict[str, list[float]] = field(default_factory=dict)
    model_size_mb: dict[str, float | None] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    system_info: dict = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # the run's: a busy machine, unstable values


def _worker_command(command: str) -> list[str]:
    return [sys.executable, "-m", "tito.olympics.worker", command]


def run_worker(command: str, request: dict, timeout_s: float, on_record: Callable[[dict], None],
               reset_deadline_on_record: bool = False) -> tuple[str | None, float]:
    """Start a worker, send `request`, pass each JSON line to `on_record`.

    Returns:
        `(problem, seconds)`: problem is None if the worker finished cleanly, else what went wrong
        (a deadline passed, a crash, a signal).
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(_worker_command(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr, env=worker_environment(), start_new_session=True)
        try:
            process.stdin.write(json.dumps(request).encode("utf-8"))
            process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; its exit code says why
        problem = _read_records(process, timeout_s, on_record, reset_deadline_on_record)
        if problem is not None:
            kill_group(process)
        returncode = process.wait()
        stderr.seek(0)
        text = stderr.read()[-20_000:].decode("utf-8", "replace")
    if problem is None and returncode != 0:
        problem = f"the {command} process {how_it_ended(returncode, text)}"
    return problem, time.monotonic() - started


def _read_records(process: subprocess.Popen, timeout_s: float, on_record, reset: bool) -> str | None:
    deadline = time.monotonic() + timeout_s
    buffer = b""
    fd = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"it did not finish within {timeout_s:g} s"
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                process.stdout.close()
                return None
            buffer += chunk
            if len(buffer) > _MAX_LINE:
                return "it wrote an over-long line"
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    return f"it wrote a line that is not a result: {line[:200]!r}"
                on_record(record)
                if reset:
                    deadline = time.monotonic() + timeout_s


def check_entries(entries: list[tuple[str, Path]], settings: MeasureSettings,
                  on_entry: Callable[[str, dict], None] = lambda key, outcome: None) -> dict[str, dict]:
    """Check every entry in a worker process; restart the worker after an entry that kills it.

    Returns:
        key -> `{"ok": True, "accuracy": ..., "predictions": ..., "single_inference_ms": ...}` or
        `{"ok": False, "reason": ...}`.
    """
    pending = [(key, str(folder)) for key, folder in entries]
    outcomes: dict[str, dict] = {}

    def record(line: dict) -> None:
        key = line.pop("key")
        outcomes[key] = line
        pending[:] = [item for item in pending if item[0] != key]
        on_entry(key, line)

    while pending:
        request = {"entries": [{"key": k, "folder": f} for k, f in pending],
                   "memory_limit_bytes": settings.memory_limit_mb * 2**20,
                   "max_inference_ms": settings.max_inference_ms}
        problem, _ = run_worker("check", request, settings.check_timeout_s, record, reset_deadline_on_record=True)
        if pending:  # the worker stopped (or was stopped) while checking the first pending entry
            key, _ = pending.pop(0)
            outcomes[key] = {"ok": False, "reason": f"checking this model failed: {problem or 'the worker stopped'}"}
            on_entry(key, outcomes[key])
    return outcomes


def measure_entries(entries: list[tuple[str, Path]], settings: MeasureSettings,
                    on_progress: Callable[[int, int], None] = lambda done, total: None) -> list[ProcessResult]:
    """Measure every entry, interleaved, with `Benchmark(..., processes=settings.processes)`.

    Returns:
        One `ProcessResult` per process. If a worker fails (a deadline, its memory limit), the measurement
        stops and every process is returned failed, with the reason.
    """
    from tinytorch.benchmarking.benchmark import Benchmark, BenchmarkError, BenchmarkSettings, ModelSource

    bench_settings = BenchmarkSettings(
        warmup_runs=settings.warmup, measurement_runs=settings.runs, min_block_ms=settings.min_block_ms,
        seed=settings.seed, input_shape=INPUT_SHAPE, processes=settings.processes,
        worker_timeout_s=settings.process_timeout_s, worker_memory_mb=settings.memory_limit_mb)
    bench = Benchmark([ModelSource.saved(folder / "model", name=key) for key, folder in entries], settings=bench_settings)
    try:
        measured = bench.run_in_processes(("latency", "memory"), INPUT_SHAPE, on_progress)
    except (BenchmarkError, ValueError) as error:
        return [ProcessResult(index, ok=False, reason=str(error)) for index in range(settings.processes)]
    latency, memory = measured["latency"], measured["memory"]
    first = next(iter(latency.values())).metadata
    results = []
    for index in range(settings.processes):
        result = ProcessResult(
            index, ok=True, seconds=first["worker_seconds"][index], order=first["orders"][index],
            latency_ms={key: r.metadata["per_process_values"][index] for key, r in latency.items()},
            calls_per_block={key: r.metadata["calls_per_block"][index] for key, r in latency.items()},
            memory_mb={key: r.metadata["per_process_values"][index] for key, r in memory.items()},
            model_size_mb={key: r.metadata.get("model_size_mb") for key, r in memory.items()},
            system_info={**bench.system_info, "load_average": first["worker_load_average"][index]},
            warnings=list(first.get("warnings", [])))
        results.append(result)
    return results
