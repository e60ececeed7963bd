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
# # What a benchmark is given, checked once
#
# Provided code for Module 19 (no exercises). `BenchmarkSetup` takes what the lesson's `Benchmark` is
# given (the models, the labelled data, the settings, the clock) and checks all of it before anything is
# measured: settings once (`BenchmarkSettings`), one distinct name per model, an inference function per
# model, each dataset in one shape (`calls.normalize_dataset`). It also makes the seeded input, loads a
# `ModelSource` when a measurement runs in this process, scores a model by its own `evaluate()` when asked,
# traces the peak memory of one inference, and hands a measurement to worker processes (`latency_workers`)
# when the settings ask for several. The timing in this process and the judging (latency blocks,
# accuracy from outputs, comparisons) are the lesson's `Benchmark`, which builds on this class and sets
# `result_type` to its `BenchmarkResult`.

# %%
#| default_exp benchmarking.benchmark_setup
#| export
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np

from tinytorch.benchmarking.calls import (
    BenchmarkError, Dataset, call_checked, model_size_mb, normalize_dataset, steady_peak_bytes)
from tinytorch.benchmarking.latency_workers import measure_in_workers
from tinytorch.benchmarking.metrics import metric_info
from tinytorch.benchmarking.settings import BenchmarkSettings, settings_from
from tinytorch.benchmarking.system import collect_system_info
from tinytorch.benchmarking.workers import ModelSource
from tinytorch.profiling.profiler import BYTES_PER_MB
from tinytorch.utils.checks import check_input_shape
from tinytorch.utils.inference import inference_function, model_name

# %%
#| export
def seeded_input(input_shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A standard-normal float32 input of `input_shape` from `np.random.default_rng(seed)` (never the
    global random state), so that every model, run and process gets the same input."""
    return np.random.default_rng(seed).standard_normal(check_input_shape(input_shape)).astype(np.float32)


class BenchmarkSetup:
    """The models, datasets, settings and clock of a benchmark, checked; see the lesson's `Benchmark`.

    Memory, and any measurement in worker processes, are measured here too and returned as
    `result_type` (the lesson's `Benchmark` sets its `BenchmarkResult`).
    """

    result_type: Callable[..., Any]

    def __init__(self, models: list, datasets: list | None = None, warmup_runs: int = 5,
                 measurement_runs: int = 10, min_block_ms: float = 1.0, max_timer_overhead: float = 0.01,
                 clock: Callable[[], int] = time.perf_counter_ns, seed: int = 0, *, processes: int = 1,
                 settings: BenchmarkSettings | None = None):
        settings = settings_from(settings, warmup_runs=warmup_runs, measurement_runs=measurement_runs,
                                 min_block_ms=min_block_ms, max_timer_overhead=max_timer_overhead, seed=seed,
                                 processes=processes)
        if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
            raise TypeError(f"models must be a list of models, got {type(models).__name__}")
        self.models = list(models)
        if not self.models:
            raise ValueError("models is empty; pass at least one model")
        if not callable(clock):
            raise TypeError(f"clock must be callable and return nanoseconds, got {clock!r}")
        self.settings, self.clock = settings, clock
        self.names = self._model_names()
        self.functions = {name: inference_function(model, f"model {index}") for index, (name, model)
                          in enumerate(zip(self.names, self.models)) if not isinstance(model, ModelSource)}
        self.datasets = [normalize_dataset(d, i) for i, d in enumerate(datasets or [])]
        self.system_info = collect_system_info(clock)
        self.results: dict[str, dict[str, Any]] = {}

    def _model_names(self) -> list[str]:
        names = [model_name(model, f"model_{i}") for i, model in enumerate(self.models)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names {duplicates}; give each model a distinct `.name`")
        return names

    def _in_process(self) -> dict[str, tuple[Callable, str]]:
        """The inference function of every model, loading any `ModelSource` first (to measure it here)."""
        self.models = [model.load() if isinstance(model, ModelSource) else model for model in self.models]
        self.functions = {name: self.functions.get(name) or inference_function(model, name)
                          for name, model in zip(self.names, self.models)}
        return self.functions

    def inputs(self, input_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The seeded input (default shape: the settings' input shape, else (1, 28, 28))."""
        if input_shape is None:  # not `or`: an empty shape is an error to report, not a default to take
            input_shape = self.settings.input_shape or (1, 28, 28)
        return seeded_input(input_shape, self.settings.seed)

    def first_sample_shape(self) -> tuple[int, ...]:
        """Batch-of-one shape of the first dataset's inputs."""
        if not self.datasets:
            raise ValueError("no datasets to tell the input shape from; pass input_shape=(1, ...)")
        return (1, *self.datasets[0].batches[0][0].shape[1:])

    def _labelled_datasets(self) -> list[Dataset]:
        """The datasets, when there are some and all have labels (else a ValueError saying what to pass)."""
        if not self.datasets:
            raise ValueError("no datasets were given; pass labelled data, e.g. Benchmark(models, [(x_test, y_test)])")
        for dataset in self.datasets:
            if not dataset.labelled:
                raise ValueError(f"dataset {dataset.name!r} has no labels, so accuracy cannot be measured; "
                                 "pass (inputs, labels) or {'inputs': x, 'labels': y}")
        return self.datasets

    @staticmethod
    def _evaluated_accuracy(name: str, model, dataset: Dataset) -> tuple[float, dict]:
        """The fraction correct by the model's own `evaluate(dataset)`, checked to be a fraction."""
        try:
            value = float(model.evaluate(dataset.source))
        except Exception as error:
            raise BenchmarkError(f"model {name!r}: evaluate() raised {type(error).__name__}: {error}") from error
        if not 0.0 <= value <= 1.0:
            raise BenchmarkError(f"model {name!r}: evaluate() returned {value}, not a fraction in [0, 1]")
        return value, {"dataset": dataset.name, "samples": dataset.size, "method": "model.evaluate(dataset)"}

    def run_in_processes(self, metrics: Iterable[str] = ("latency", "memory"), input_shape: tuple[int, ...] | None = None,
                         on_process: Callable[[int, int], None] | None = None) -> dict[str, dict[str, Any]]:
        """Latency (ms) and/or memory (MB) in `settings.processes` fresh processes: one value per process.

        `on_process(done, total)` is called after each worker process (e.g. for a progress display).
        """
        x = self.inputs(input_shape)
        measured = measure_in_workers(self.models, self.names, x, self.settings, tuple(metrics), on_process)
        results = {metric: {name: self.result_type(f"{name}_{metric}", entry["values"], entry["metadata"],
                                                   unit=metric_info(metric).unit) for name, entry in per_model.items()}
                   for metric, per_model in measured.items()}
        self.results.update(results)
        return results

    def run_memory_benchmark(self, input_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
        """Peak MB allocated during one inference (tracemalloc, peak reset each run), in its own pass."""
        if self.settings.processes > 1:
            return self.run_in_processes(["memory"], input_shape)["memory"]
        x = self.inputs(input_shape)
        results = {name: self.result_type(f"{name}_memory", *self._peak_memory_mb(name, x), unit="MB")
                   for name in self._in_process()}
        self.results["memory"] = results
        return results

    def _peak_memory_mb(self, name: str, x: np.ndarray) -> tuple[list[float], dict]:
        """Peak MB of one inference of model `name` on `x`, `measurement_runs` times, and how it was measured."""
        function, method = self._in_process()[name]
        call_checked(name, function, x, x.shape[0])  # warm-up outside tracing, and the output check
        # only the model call is traced (the output check's temporaries must not count), warmed up first
        peaks = steady_peak_bytes(name, function, x, self.settings.measurement_runs)
        size_mb, reason = model_size_mb(self.models[self.names.index(name)])
        metadata = {"peak_bytes": peaks, "model_size_mb": size_mb, "input_shape": x.shape,
                    "seed": self.settings.seed, "input_bytes": int(x.nbytes), "called_as": method,
                    "method": "tracemalloc peak of one inference, peak reset before each run"}
        if reason:
            metadata["model_size_unavailable"] = reason
        return (np.asarray(peaks) / BYTES_PER_MB).tolist(), metadata
