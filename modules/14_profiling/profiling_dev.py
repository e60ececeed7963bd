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
# # Module 14: Profiling
#
# Before optimizing a model we need numbers that describe it, each measured or counted in a way we can
# state in one sentence. The `Profiler` gives four:
#
# | method | what it is | how |
# |---|---|---|
# | `count_parameters(model)` | how many numbers the model stores | sum of `p.size` over `model.parameters()` |
# | `count_flops(model, input_shape)` | arithmetic work of one forward on a batch | counted per layer from shapes (convention below) |
# | `measure_memory(model, input_shape)` | bytes stored and bytes allocated while running | `nbytes` of the parameters; `tracemalloc` peak of one forward |
# | `measure_latency(model, x)` | wall time of one call | median of many timed calls, after warm-up |
#
# **Nothing is invented.** If a quantity cannot be counted (a layer with parameters the profiler does
# not understand) the profiler raises an error instead of guessing, and it never reports one quantity
# under another's name (parameter bytes are not a memory peak).
#
# **The FLOP convention.** One multiply and one add are two FLOPs. A `Linear(in, out)` applied to one
# row costs `2 * in * out` for the product plus `out` for the bias add. Layers without parameters
# (ReLU, Softmax, Flatten) are counted as 0: their work grows with the width, not with `in * out`, and
# this is the convention most papers use. A layer with parameters can report its own cost through a
# `flops_per_sample(sample_shape)` method (the quantized and sparse layers of Modules 15 and 16 do).
# A `Conv2d` (Module 09) does too: one `Linear(k * k * in, out)` per output position, so
# `H' * W' * (2 * k * k * in * out + out)`; its pools have no parameters and count 0.
# The first axis of `input_shape` is the batch: `(8, 64)` costs exactly 8 times `(1, 64)`.
#
# **Units.** `MB` here is `2**20` bytes (what `tracemalloc` and most memory tools call a megabyte);
# latency is in milliseconds.

# %% nbgrader={"grade": false, "grade_id": "profiling-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp profiling.profiler
#| export
from __future__ import annotations

import numbers
import time
import tracemalloc
from typing import Callable

import numpy as np

from tinytorch.core.layers import Layer, Linear, Sequential
from tinytorch.core.tensor import Tensor

# %% nbgrader={"grade": false, "grade_id": "profiling-helpers", "locked": false, "schema_version": 3, "solution": false}
#| export
BYTES_PER_MB = 1024 * 1024


def _leaf_layers(model: Layer) -> list[Layer]:
    """The layers of a model in order, nested Sequentials flattened; a bare layer is its own list."""
    if isinstance(model, Sequential):
        return [leaf for layer in model.layers for leaf in _leaf_layers(layer)]
    return [model]


def _as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _call_model(model, x):
    """Run one inference: `model.forward(x)` if it has one, else `model(x)`."""
    forward = getattr(model, "forward", None)
    if callable(forward):
        return forward(x)
    if callable(model):
        return model(x)
    raise TypeError(f"the model must have a forward(x) method or be callable, got {type(model).__name__}")


def _check_input_shape(input_shape) -> tuple[int, ...]:
    """A batch-first shape of positive integers, at least 2-D."""
    if not isinstance(input_shape, (tuple, list)) or any(
            isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in input_shape):
        raise ValueError(f"input_shape={input_shape!r} must be a tuple of integers, batch first, e.g. (1, 64)")
    if len(input_shape) < 2:
        raise ValueError(f"input_shape={tuple(input_shape)!r} has no batch axis; pass (batch, features...), e.g. (1, 64)")
    if any(n < 1 for n in input_shape):
        raise ValueError(f"input_shape={tuple(input_shape)!r} has a zero or negative size; every axis must be >= 1")
    return tuple(int(n) for n in input_shape)


def _check_count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)

# %% [markdown]
# ## Counting FLOPs of one layer
#
# Your task (Task 14.1): `layer_flops(layer, sample_shape)`, the FLOPs of one layer for **one sample** whose
# shape (without the batch axis) is `sample_shape`. A sample may have several rows (e.g. `(T, in)`);
# a `Linear` is applied to each row, so multiply by `rows = prod(sample_shape[:-1])` (1 for a vector).
#
# 1. `Linear`: check that `sample_shape[-1] == in_features` (a `ValueError` naming both otherwise), then
#    `rows * (2 * in * out + out)` with a bias, `rows * 2 * in * out` without.
# 2. A layer with a `flops_per_sample` method: return what it says.
# 3. A layer without parameters: 0 (the convention above).
# 4. Anything else holds parameters we cannot count: `TypeError` naming the layer type.

# %% nbgrader={"grade": false, "grade_id": "profiling-layer-flops", "locked": false, "schema_version": 3, "solution": true}
#| export
def layer_flops(layer: Layer, sample_shape: tuple[int, ...]) -> int:
    """FLOPs of `layer` on one sample of shape `sample_shape` (no batch axis).

    Raises:
        ValueError: if a Linear's `in_features` does not match `sample_shape[-1]`.
        TypeError: if the layer holds parameters and its cost is unknown.
    """
    # Task 14.1: Linear by formula, self-reporting layers by their method, parameter-free layers 0.
    ### BEGIN SOLUTION
    rows = int(np.prod(sample_shape[:-1], dtype=np.int64))
    if isinstance(layer, Linear):
        if sample_shape[-1] != layer.in_features:
            raise ValueError(f"{layer!r} expects a last dimension of {layer.in_features}, but its input "
                             f"per sample has shape {tuple(sample_shape)}")
        bias_adds = layer.out_features if layer.bias is not None else 0
        return rows * (2 * layer.in_features * layer.out_features + bias_adds)
    if callable(getattr(layer, "flops_per_sample", None)):
        return int(layer.flops_per_sample(tuple(sample_shape)))
    if not layer.parameters():
        return 0
    raise TypeError(f"cannot count the FLOPs of {type(layer).__name__}: it holds parameters and has no "
                    "flops_per_sample(sample_shape) method; add one rather than let the profiler guess")
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "profiling-layer-flops-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_layer_flops():
    from tinytorch.core.layers import ReLU
    assert layer_flops(Linear(64, 32), (64,)) == 2 * 64 * 32 + 32
    assert layer_flops(Linear(64, 32, bias=False), (64,)) == 2 * 64 * 32
    assert layer_flops(Linear(4, 3), (5, 4)) == 5 * (2 * 4 * 3 + 3), "a Linear runs once per row"
    assert layer_flops(ReLU(), (64,)) == 0
    try:
        layer_flops(Linear(64, 32), (10,))
    except ValueError as error:
        assert "64" in str(error) and "(10,)" in str(error)
    else:
        raise AssertionError("a width mismatch must raise ValueError")


test_unit_layer_flops()

# %% [markdown]
# ## Measuring the memory of one forward
#
# `tracemalloc` records every allocation Python and NumPy make. Its *peak* since the last
# `reset_peak()` is the most memory the code held at once: the output and every temporary (a freed
# temporary still counts, which an RSS delta would miss). Tracing slows Python down, so memory is
# measured in its own pass, never while timing.
#
# Your task (Task 14.2): `traced_peak_bytes(fn)` runs `fn()` once and returns the peak number of bytes allocated
# *during* the call, above what was allocated before it. If tracing was already on (someone else is
# profiling), keep it on and subtract the memory already traced; if it was off, start it and stop it
# again afterwards, also when `fn` raises.

# %% nbgrader={"grade": false, "grade_id": "profiling-traced-peak", "locked": false, "schema_version": 3, "solution": true}
#| export
def traced_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated while `fn()` runs, measured with tracemalloc (peak reset first).

    The result of `fn` is kept alive until the peak is read, so it is part of the peak.
    """
    if not callable(fn):
        raise TypeError(f"traced_peak_bytes needs a callable, got {type(fn).__name__}")
    # Task 14.2: start tracing if needed, reset the peak, run, read the peak above the baseline.
    ### BEGIN SOLUTION
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
        return max(0, peak - baseline)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "profiling-traced-peak-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_traced_peak_bytes():
    one_mb = traced_peak_bytes(lambda: np.ones(BYTES_PER_MB // 8))
    assert BYTES_PER_MB <= one_mb < 1.1 * BYTES_PER_MB
    temporary = traced_peak_bytes(lambda: np.ones(2 * BYTES_PER_MB // 8).sum())
    assert temporary >= 2 * BYTES_PER_MB, "a freed temporary still counts in the peak"
    assert not tracemalloc.is_tracing(), "tracing started here must be stopped again"


test_unit_traced_peak_bytes()

# %% [markdown]
# ## Timing calls
#
# One timed call is `clock()`, the call, `clock()` again. The clock is a parameter (by default
# `time.perf_counter_ns`, integer nanoseconds), so the logic can be tested with a fake clock that
# advances by known amounts. Warm-up calls run first and are not recorded: the first calls of a model
# pay for caches and lazy set-up. Each call is timed on its own, so for calls of a few microseconds the
# clock's own cost (about 44 ns here) is part of each sample; Module 19 times blocks of calls instead.
#
# Your task (Task 14.3): `time_calls(fn, warmup, iterations, clock)` returns the per-call times in milliseconds.
# A clock that goes backwards is broken: raise a `RuntimeError` rather than record a negative time.

# %% nbgrader={"grade": false, "grade_id": "profiling-time-calls", "locked": false, "schema_version": 3, "solution": true}
#| export
def time_calls(fn: Callable[[], object], warmup: int = 10, iterations: int = 100,
               clock: Callable[[], int] = time.perf_counter_ns) -> np.ndarray:
    """Run `fn()` `warmup` times untimed, then `iterations` times timed; return each call's time in ms.

    Args:
        fn: the call to time.
        warmup: untimed calls first (>= 0).
        iterations: timed calls (>= 1).
        clock: returns integer nanoseconds; `time.perf_counter_ns` by default.

    Raises:
        ValueError: for negative warm-up or fewer than one iteration.
        RuntimeError: if the clock goes backwards.
    """
    warmup, iterations = _check_count("warmup", warmup, 0), _check_count("iterations", iterations, 1)
    if not callable(fn) or not callable(clock):
        raise TypeError("fn and clock must both be callable")
    # Task 14.3: warm up, then time each call with two clock readings.
    ### BEGIN SOLUTION
    for _ in range(warmup):
        fn()
    elapsed_ns = np.empty(iterations, dtype=np.int64)
    for i in range(iterations):
        start = clock()
        fn()
        stop = clock()
        if stop < start:
            raise RuntimeError(f"the clock went backwards ({start} -> {stop} ns); use a monotonic clock "
                               "such as time.perf_counter_ns")
        elapsed_ns[i] = stop - start
    return elapsed_ns / 1e6
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "profiling-time-calls-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_time_calls():
    ticks = iter(range(0, 10**9, 250_000))  # every reading advances 0.25 ms
    calls = []
    samples = time_calls(lambda: calls.append(1), warmup=3, iterations=5, clock=lambda: next(ticks))
    np.testing.assert_allclose(samples, [0.25] * 5)
    assert len(calls) == 8, "3 warm-up calls and 5 timed calls"
    for bad in ({"iterations": 0}, {"warmup": -1}):
        try:
            time_calls(lambda: None, **bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} must raise ValueError")


test_unit_time_calls()

# %% [markdown]
# ## The Profiler
#
# The class puts the pieces together for a model. `count_flops` finds the shape each layer sees by
# running one sample (batch 1, zeros) through the layers, so layers that change shapes (Flatten) need
# no special rules; it then multiplies the per-sample count by the batch size. `measure_memory`
# reports, next to the peak, everything it used, so no number needs to be taken on trust.

# %% nbgrader={"grade": false, "grade_id": "profiling-profiler", "locked": false, "schema_version": 3, "solution": false}
#| export
class Profiler:
    """Counts and measures a model: parameters, FLOPs, memory and latency."""

    def count_parameters(self, model: Layer) -> int:
        """The number of stored values: the sum of `p.size` over `model.parameters()`."""
        if not callable(getattr(model, "parameters", None)):
            raise TypeError(f"count_parameters needs a model with parameters(), got {type(model).__name__}")
        return int(sum(_as_array(p).size for p in model.parameters()))

    def layer_flops_table(self, model: Layer, input_shape: tuple[int, ...]) -> list[dict]:
        """Per layer: its repr, the per-sample input shape it sees, and its FLOPs for the whole batch."""
        shape = _check_input_shape(input_shape)
        if not isinstance(model, Layer):
            raise TypeError(f"count_flops needs a tinytorch Layer such as Sequential, got {type(model).__name__}")
        batch, sample = shape[0], np.zeros((1, *shape[1:]), dtype=np.float32)
        rows = []
        for layer in _leaf_layers(model):
            sample_shape = sample.shape[1:]
            rows.append({"layer": repr(layer), "sample_shape": sample_shape,
                         "flops": batch * layer_flops(layer, sample_shape)})
            sample = _as_array(_call_model(layer, sample))
        return rows

    def count_flops(self, model: Layer, input_shape: tuple[int, ...]) -> int:
        """FLOPs of one forward on a batch of shape `input_shape` (batch first); see the convention above.

        Raises:
            ValueError: for a shape with fewer than 2 axes or a size below 1, or a width mismatch.
            TypeError: for a layer with parameters whose cost is unknown.
        """
        return int(sum(row["flops"] for row in self.layer_flops_table(model, input_shape)))

    def _stored_bytes(self, model) -> dict:
        """Parameter and buffer bytes, or None with a reason when the model does not expose them."""
        if not callable(getattr(model, "parameters", None)):
            reason = (f"{type(model).__name__} has no parameters() method, so its stored size cannot be "
                      "counted; wrap it in a tinytorch Layer to report it")
            keys = ("parameter_memory_mb", "buffer_memory_mb", "model_size_mb", "parameter_bytes",
                    "buffer_bytes", "parameter_count")
            return {**{key: None for key in keys}, "unavailable": {key: reason for key in keys}}
        leaves = _leaf_layers(model) if isinstance(model, Layer) else [model]
        parameter_bytes = int(sum(_as_array(p).nbytes for p in model.parameters()))
        buffer_bytes = int(sum(_as_array(b).nbytes for layer in leaves
                               for b in getattr(layer, "buffers", lambda: [])()))
        return {"parameter_memory_mb": parameter_bytes / BYTES_PER_MB, "buffer_memory_mb": buffer_bytes / BYTES_PER_MB,
                "model_size_mb": (parameter_bytes + buffer_bytes) / BYTES_PER_MB,
                "parameter_bytes": parameter_bytes, "buffer_bytes": buffer_bytes,
                "parameter_count": self.count_parameters(model), "unavailable": {}}

    def measure_memory(self, model, input_shape: tuple[int, ...], seed: int = 0) -> dict:
        """Stored bytes and the allocation peak of one forward.

        The input is `np.random.default_rng(seed).standard_normal(input_shape)` as float32, created
        before tracing. One untraced warm-up call runs first; then one traced call.

        Returns:
            `peak_memory_mb`: tracemalloc peak during the traced forward (temporaries and output;
            not the input or the parameters, which existed before); `parameter_memory_mb`: the real
            `nbytes` of `model.parameters()` (dtype-aware); `buffer_memory_mb`: non-trainable arrays
            such as the index arrays of sparse layers; `model_size_mb`: the two together;
            `input_memory_mb`, `output_memory_mb`, the byte counts behind them, the parameter
            count, the input shape and dtype, and a `method` string. For a plain callable without
            `parameters()`, the stored-size entries are None and `unavailable` says why.
        """
        shape = _check_input_shape(input_shape)
        stored = self._stored_bytes(model)
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        output = _call_model(model, x)  # warm-up outside tracing
        peak = traced_peak_bytes(lambda: _call_model(model, x))
        output_bytes = int(_as_array(output).nbytes)
        return {
            "peak_memory_mb": peak / BYTES_PER_MB,
            **stored,
            "input_memory_mb": x.nbytes / BYTES_PER_MB,
            "output_memory_mb": output_bytes / BYTES_PER_MB,
            "peak_bytes": int(peak), "input_bytes": int(x.nbytes), "output_bytes": output_bytes,
            "input_shape": shape, "input_dtype": "float32", "seed": seed,
            "method": "tracemalloc peak of one forward (peak reset first, after one untraced warm-up call)",
        }

    def measure_latency(self, model, x, warmup: int = 10, iterations: int = 100,
                        clock: Callable[[], int] = time.perf_counter_ns) -> float:
        """Median wall time of one `model(x)` call in milliseconds (see `time_calls`)."""
        return float(np.median(self.latency_samples(model, x, warmup, iterations, clock)))

    def latency_samples(self, model, x, warmup: int = 10, iterations: int = 100,
                        clock: Callable[[], int] = time.perf_counter_ns) -> np.ndarray:
        """Every timed call's wall time in milliseconds, for statistics beyond the median."""
        return time_calls(lambda: _call_model(model, x), warmup, iterations, clock)

# %% nbgrader={"grade": false, "grade_id": "profiling-profiler-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_profiler():
    from tinytorch.core.layers import Flatten, ReLU, Softmax
    model = Sequential(Flatten(), Linear(64, 32), ReLU(), Linear(32, 10), Softmax())
    profiler = Profiler()
    assert profiler.count_parameters(model) == 64 * 32 + 32 + 32 * 10 + 10
    one = profiler.count_flops(model, (1, 8, 8))
    assert one == 2 * 64 * 32 + 32 + 2 * 32 * 10 + 10
    assert profiler.count_flops(model, (8, 8, 8)) == 8 * one
    memory = profiler.measure_memory(model, (4, 8, 8))
    assert memory["parameter_bytes"] == 4 * profiler.count_parameters(model)
    assert memory["peak_bytes"] >= memory["output_bytes"] > 0
    ticks = iter(range(0, 10**9, 1_000_000))
    assert profiler.measure_latency(model, np.zeros((1, 8, 8), np.float32), warmup=2, iterations=9,
                                    clock=lambda: next(ticks)) == 1.0


test_unit_profiler()
print("Profiler tests passed")
