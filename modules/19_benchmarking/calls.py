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
# # Calling models and reading datasets, safely
#
# Provided code for Module 19 (no exercises). Every benchmark calls user code, and user code fails in
# many ways. Here a model that raises, returns `None`, NaN or an output whose first axis is not the
# batch becomes a `BenchmarkError` naming the model, with the original exception chained
# (`raise ... from error`); nothing is ever replaced by a guess. And the three accepted shapes of
# labelled data (`(inputs, labels)`, a mapping, an iterable of `(x, y)` batches) become one: a named
# `Dataset` of batches, with clear errors for anything else. `model_size_mb` counts the bytes a model
# stores (dtype-aware: an int8 weight is one byte). `steady_peak_bytes` is the memory measurement both
# `Benchmark` and its worker processes use: the traced call is warmed up first, because CPython 3.11
# specializes ("quickens") a function's bytecode after about eight runs and the bytes it allocates then
# would land in whichever model happened to be traced first (48 B for an identity model measured first,
# 0 B measured later).

# %%
#| default_exp benchmarking.calls
#| export
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.profiling.profiler import BYTES_PER_MB, traced_peak_bytes
from tinytorch.utils.inference import as_array

# %%
#| export
class BenchmarkError(Exception):
    """A model failed while being benchmarked (raised, returned None/NaN or a wrong shape)."""


def checked_output(name: str, output, batch: int) -> np.ndarray:
    """The model output as an array; BenchmarkError for None, non-numbers, NaN or a wrong first axis."""
    if output is None:
        raise BenchmarkError(f"model {name!r} returned None; its forward/predict must return the outputs")
    array = as_array(output)
    if array.dtype.kind not in "biuf":
        raise BenchmarkError(f"model {name!r} returned {array.dtype} data; outputs must be numbers")
    if array.ndim == 0 or array.shape[0] != batch:
        raise BenchmarkError(f"model {name!r} returned an output of shape {array.shape} for a batch of {batch}; "
                             "the first axis of the output must be the batch")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BenchmarkError(f"model {name!r} returned NaN or infinite values")
    return array


def call_model(name: str, function: Callable, x):
    try:
        return function(x)
    except Exception as error:  # any failure of user code becomes a BenchmarkError naming the model
        raise BenchmarkError(f"model {name!r} raised {type(error).__name__}: {error}") from error


def call_checked(name: str, function: Callable, x, batch: int) -> np.ndarray:
    return checked_output(name, call_model(name, function, x), batch)


TRACE_WARMUP = 16  # traced runs discarded before measuring: past CPython's specialization threshold (8)


def steady_peak_bytes(name: str, function: Callable, x, runs: int) -> list[int]:
    """`runs` tracemalloc peaks of one call of `function(x)`, after `TRACE_WARMUP` discarded traced runs."""
    def traced() -> int:
        return traced_peak_bytes(lambda: call_model(name, function, x))

    for _ in range(TRACE_WARMUP):
        traced()
    return [traced() for _ in range(runs)]


def guarded(name: str, run_block: Callable[[int], None]) -> Callable[[int], None]:
    """`run_block`, with a model failing mid-run reported as a `BenchmarkError` naming it (never timed)."""
    def run(calls: int) -> None:
        try:
            run_block(calls)
        except Exception as error:  # a model failing mid-run is reported, never timed
            raise BenchmarkError(f"model {name!r} raised {type(error).__name__}: {error}") from error
    return run


_INPUT_KEYS, _LABEL_KEYS = ("inputs", "x", "data", "images", "features"), ("labels", "y", "targets")


@dataclass
class Dataset:
    name: str
    batches: list[tuple[np.ndarray, np.ndarray | None]]
    source: Any = field(repr=False, default=None)

    @property
    def labelled(self) -> bool:
        return all(labels is not None for _, labels in self.batches)

    @property
    def size(self) -> int:
        return sum(len(inputs) for inputs, _ in self.batches)


def _array_like(value) -> bool:
    return isinstance(value, (np.ndarray, Tensor))


def _batch(name: str, inputs, labels) -> tuple[np.ndarray, np.ndarray | None]:
    x = as_array(inputs)
    y = None if labels is None else as_array(labels)
    if x.ndim == 0:
        raise ValueError(f"dataset {name!r}: inputs are a scalar; pass an array with a batch axis first")
    if y is not None and (y.ndim == 0 or len(y) != len(x)):
        raise ValueError(f"dataset {name!r}: {len(x)} inputs but {y.size if y.ndim == 0 else len(y)} labels; "
                         "each input needs exactly one label")
    return x, y


def normalize_dataset(dataset, index: int) -> Dataset:
    """Turn one of the accepted dataset shapes into named batches."""
    name = f"dataset_{index}"
    if isinstance(dataset, Mapping):
        name = str(dataset.get("name", name))
        inputs = next((dataset[key] for key in _INPUT_KEYS if key in dataset), None)
        if inputs is None:
            raise ValueError(f"dataset {name!r} has no inputs; give it one of the keys {list(_INPUT_KEYS)}")
        labels = next((dataset[key] for key in _LABEL_KEYS if key in dataset), None)
        return Dataset(name, [_batch(name, inputs, labels)], dataset)
    if _array_like(dataset):
        return Dataset(name, [_batch(name, dataset, None)], dataset)
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2 and all(_array_like(part) for part in dataset):
        return Dataset(name, [_batch(name, dataset[0], dataset[1])], dataset)
    if isinstance(dataset, Iterable) and not isinstance(dataset, (str, bytes)):
        batches = []
        for number, item in enumerate(dataset):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(f"dataset {name!r}: batch {number} is {type(item).__name__}, not an (x, y) pair")
            batches.append(_batch(f"{name} batch {number}", item[0], item[1]))
        if not batches:
            raise ValueError(f"dataset {name!r} is an empty iterable; give it at least one (x, y) batch")
        return Dataset(name, batches, dataset)
    raise ValueError(f"dataset {index} is a {type(dataset).__name__}; pass (inputs, labels), "
                     "{'inputs': x, 'labels': y} or an iterable of (x, y) batches")


def model_size_mb(model) -> tuple[float | None, str | None]:
    """Stored parameter bytes in MB (dtype-aware), or None with the reason it cannot be counted."""
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return None, f"{type(model).__name__} has no parameters() method, so its stored size is unknown"
    return sum(int(as_array(p).nbytes) for p in parameters()) / BYTES_PER_MB, None

