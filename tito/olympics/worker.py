"""Worker processes of `tito olympics run`: `python -m tito.olympics.worker check`.

A worker reads one JSON request on stdin and writes JSON lines on stdout (data only, both ways:
models reach it as files that it loads with `load_model`, never pickled). Before it imports tinytorch or
loads a model it caps its own address space (RLIMIT_AS), so a model that would exhaust memory
kills this process, not the run; the parent (`measure.py`) enforces a deadline and kills it when late.

- `check`: for each entry, load the model, check its shapes, its accuracy on the TinyDigits test set
  (Benchmark.run_accuracy_benchmark: NaN or a wrong shape is a BenchmarkError) and the time of one
  inference; one line per entry, flushed, so the parent knows which entry a crash belongs to.
(The measurement itself runs in tinytorch's own workers: `Benchmark(..., processes=N)`, see `measure.py`.)
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _limit_memory(limit_bytes: int | None) -> None:
    if limit_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit_bytes), int(limit_bytes)))


_RESULTS = sys.stdout  # replaced in main() by a private copy of the original stdout


def _emit(record: dict) -> None:
    _RESULTS.write(json.dumps(record, default=str) + "\n")
    _RESULTS.flush()


def _keep_stdout_for_results() -> None:
    """Results go to the original stdout; anything else written there (a library's print, a C library's
    message on fd 1) goes to stderr instead, so it can never be mistaken for a result."""
    global _RESULTS
    sys.stdout.flush()
    _RESULTS = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def _load(entry: dict):
    from tito.olympics.submission import load_checked_model

    model = load_checked_model(Path(entry["folder"]))
    model.name = entry["key"]  # Benchmark names models by .name; keys are unique, team names may not be
    return model


def check(request: dict) -> None:
    import numpy as np

    from tinytorch.benchmarking.benchmark import Benchmark, BenchmarkError
    from tinytorch.core.tensor import Tensor
    from tinytorch.datasets.tinydigits import load_tinydigits
    from tito.olympics.submission import INPUT_SHAPE, SubmissionError

    x_test, y_test = load_tinydigits().test
    max_ms = float(request["max_inference_ms"])
    for entry in request["entries"]:
        key = entry["key"]
        try:
            model = _load(entry)
            accuracy = Benchmark([model], [(x_test, y_test)], warmup_runs=0).run_accuracy_benchmark()[key]
            predictions = np.asarray(model(Tensor(x_test)).data).argmax(axis=-1)
            one = np.zeros(INPUT_SHAPE, dtype=np.float32)
            model(Tensor(one))
            start = time.perf_counter_ns()
            model(Tensor(one))
            single_ms = (time.perf_counter_ns() - start) / 1e6
        except (SubmissionError, BenchmarkError) as error:
            _emit({"key": key, "ok": False, "reason": str(error)})
            continue
        except MemoryError:
            _emit({"key": key, "ok": False, "reason": "checking the model ran out of memory (the worker's limit is "
                                                      f"{request.get('memory_limit_bytes', 0) // 2**20} MB)"})
            continue
        if single_ms > max_ms:
            _emit({"key": key, "ok": False, "reason": f"one inference took {single_ms:.1f} ms (a single timing); "
                                                      f"this run measures models up to {max_ms:g} ms"})
            continue
        _emit({"key": key, "ok": True, "accuracy": accuracy.to_dict(), "predictions": predictions.tolist(),
               "single_inference_ms": single_ms})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"check": check}
    if len(argv) != 1 or argv[0] not in commands:
        sys.stderr.write("usage: python -m tito.olympics.worker check  (a JSON request on stdin)\n")
        return 2
    _keep_stdout_for_results()
    request = json.loads(sys.stdin.read())
    _limit_memory(request.get("memory_limit_bytes"))
    commands[argv[0]](request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
