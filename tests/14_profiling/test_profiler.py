import tracemalloc

import numpy as np
import pytest

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.compression import magnitude_prune, to_sparse
from tinytorch.optimization.quantization import quantize_model
from tinytorch.profiling.profiler import BYTES_PER_MB, Profiler, layer_flops, time_calls, traced_peak_bytes

MLP_FLOPS = 2 * 64 * 32 + 32 + 2 * 32 * 10 + 10


def _mlp() -> Sequential:
    return Sequential(Flatten(), Linear(64, 32, seed=0), ReLU(), Linear(32, 10, seed=1), Softmax())


class FakeClock:
    """Returns scripted nanosecond readings, one per call."""

    def __init__(self, readings):
        self.readings = list(readings)
        self.calls = 0

    def __call__(self) -> int:
        value = self.readings[self.calls]
        self.calls += 1
        return value


def _clock_for(durations_ns):
    readings, now = [], 1_000
    for duration in durations_ns:
        readings += [now, now + duration]
        now += duration + 500
    return FakeClock(readings)


class Gain(Layer):
    def __init__(self):
        self.gain = Tensor(np.ones(10, dtype=np.float32))

    def forward(self, x):
        return Tensor(np.asarray(x) * self.gain.data)

    def parameters(self):
        return [self.gain]


def test_count_parameters_is_the_element_count_of_parameters():
    assert Profiler().count_parameters(_mlp()) == 64 * 32 + 32 + 32 * 10 + 10
    assert Profiler().count_parameters(Sequential(ReLU())) == 0
    assert Profiler().count_parameters(Linear(3, 2, bias=False)) == 6
    with pytest.raises(TypeError, match="parameters"):
        Profiler().count_parameters(lambda x: x)


@pytest.mark.task("profiling-layer-flops")
@pytest.mark.parametrize("batch", [1, 2, 8, 33])
def test_count_flops_is_batch_aware(batch):
    assert Profiler().count_flops(_mlp(), (batch, 8, 8)) == batch * MLP_FLOPS


@pytest.mark.task("profiling-layer-flops")
def test_flops_convention_bias_rows_and_nested_models():
    profiler = Profiler()
    assert profiler.count_flops(Linear(5, 4, bias=False), (3, 5)) == 3 * 2 * 5 * 4
    assert profiler.count_flops(Linear(5, 4), (2, 7, 5)) == 2 * 7 * (2 * 5 * 4 + 4)
    nested = Sequential(Flatten(), Sequential(Linear(64, 32, seed=0), ReLU()), Linear(32, 10), Softmax())
    assert profiler.count_flops(nested, (1, 64)) == MLP_FLOPS
    table = profiler.layer_flops_table(_mlp(), (2, 8, 8))
    assert [row["sample_shape"] for row in table] == [(8, 8), (64,), (32,), (32,), (10,)]
    assert [row["flops"] for row in table] == [0, 2 * (2 * 64 * 32 + 32), 0, 2 * (2 * 32 * 10 + 10), 0]


def test_flops_of_quantized_and_sparse_models_come_from_their_layers():
    profiler = Profiler()
    quantized = quantize_model(_mlp())
    assert profiler.count_flops(quantized, (1, 8, 8)) == MLP_FLOPS + 32 + 10, "plus one scale multiply per output"
    sparse = to_sparse(magnitude_prune(_mlp(), 0.75))
    nnz = sum(layer.nnz for layer in sparse.layers if hasattr(layer, "nnz"))
    assert profiler.count_flops(sparse, (4, 64)) == 4 * (2 * nnz + 32 + 10)


@pytest.mark.task("profiling-layer-flops")
def test_unknown_layer_with_parameters_is_an_error_not_a_guess():
    with pytest.raises(TypeError, match="Gain"):
        Profiler().count_flops(Sequential(Linear(4, 10), Gain()), (1, 4))
    assert layer_flops(Softmax(), (10,)) == 0


@pytest.mark.parametrize("shape, message", [((0, 64), "zero or negative"), ((1, -3), "zero or negative"),
                                            ((64,), "no batch axis"), ((1, 2.5), "integers"),
                                            ("1,64", "integers"), ((True, 64), "integers")])
def test_bad_input_shapes_are_clear_errors(shape, message):
    with pytest.raises(ValueError, match=message):
        Profiler().count_flops(_mlp(), shape)
    with pytest.raises(ValueError, match=message):
        Profiler().measure_memory(_mlp(), shape)


@pytest.mark.task("profiling-layer-flops")
def test_width_mismatch_names_the_layer_and_the_shape():
    with pytest.raises(ValueError, match=r"expects a last dimension of 64.*\(100,\)"):
        Profiler().count_flops(_mlp(), (1, 100))


def test_memory_parameter_bytes_are_dtype_aware():
    profiler = Profiler()
    fp32 = profiler.measure_memory(_mlp(), (1, 8, 8))
    int8 = profiler.measure_memory(quantize_model(_mlp()), (1, 8, 8))
    assert fp32["parameter_bytes"] == 4 * (64 * 32 + 32 + 32 * 10 + 10)
    assert int8["parameter_bytes"] == 64 * 32 + 32 * 10 + 2 * 4 * (32 + 10)
    assert fp32["parameter_memory_mb"] == fp32["parameter_bytes"] / BYTES_PER_MB
    assert fp32["buffer_bytes"] == 0 and fp32["model_size_mb"] == fp32["parameter_memory_mb"]


def test_memory_of_a_sparse_model_counts_its_index_buffers():
    sparse = to_sparse(magnitude_prune(_mlp(), 0.5))
    memory = Profiler().measure_memory(sparse, (1, 64))
    nnz = sum(layer.nnz for layer in sparse.layers if hasattr(layer, "nnz"))
    assert memory["parameter_bytes"] == 4 * (nnz + 32 + 10)
    assert memory["buffer_bytes"] == 4 * (nnz + 65 + 33)
    assert memory["model_size_mb"] == (memory["parameter_bytes"] + memory["buffer_bytes"]) / BYTES_PER_MB


@pytest.mark.task("profiling-traced-peak")
def test_peak_memory_is_the_traced_forward_and_grows_with_the_batch():
    profiler = Profiler()
    small = profiler.measure_memory(_mlp(), (1, 8, 8))
    large = profiler.measure_memory(_mlp(), (512, 8, 8))
    # a batch of 512 materialises at least the (512, 32) hidden activations and the (512, 10) output
    assert large["peak_bytes"] >= 512 * (32 + 10) * 4
    assert large["peak_bytes"] > small["peak_bytes"] > 0
    assert large["output_bytes"] == 512 * 10 * 4 and large["input_bytes"] == 512 * 64 * 4
    assert large["peak_memory_mb"] == large["peak_bytes"] / BYTES_PER_MB
    assert large["peak_bytes"] != large["parameter_bytes"], "the peak is not the parameter size"
    assert not tracemalloc.is_tracing()


def test_memory_input_is_seeded():
    seen = []

    class Recorder(Layer):
        def forward(self, x):
            seen.append(np.array(x, copy=True))
            return Tensor(x)

    Profiler().measure_memory(Recorder(), (2, 3), seed=7)
    Profiler().measure_memory(Recorder(), (2, 3), seed=7)
    np.testing.assert_array_equal(seen[0], seen[2])
    np.testing.assert_array_equal(seen[0], np.random.default_rng(7).standard_normal((2, 3)).astype(np.float32))


@pytest.mark.task("profiling-traced-peak")
def test_traced_peak_keeps_outer_tracing_running_and_subtracts_its_baseline():
    tracemalloc.start()
    try:
        kept = np.ones(4 * BYTES_PER_MB // 8)
        peak = traced_peak_bytes(lambda: np.ones(BYTES_PER_MB // 8))
        assert tracemalloc.is_tracing()
        assert BYTES_PER_MB <= peak < 1.5 * BYTES_PER_MB
        del kept
    finally:
        tracemalloc.stop()


@pytest.mark.task("profiling-traced-peak")
def test_traced_peak_stops_tracing_when_the_call_raises():
    def boom():
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        traced_peak_bytes(boom)
    assert not tracemalloc.is_tracing()


@pytest.mark.task("profiling-time-calls")
def test_latency_is_the_median_of_the_fake_clock_durations():
    durations = [3_000_000, 1_000_000, 2_000_000, 100_000_000, 2_500_000]  # one outlier
    clock = _clock_for(durations)
    calls = []
    model = Sequential(Linear(4, 2))
    model.forward = lambda x: calls.append(x) or Tensor(x)
    latency = Profiler().measure_latency(model, np.zeros((1, 4), np.float32), warmup=4, iterations=5,
                                         clock=clock)
    assert latency == 2.5
    assert len(calls) == 9 and clock.calls == 10, "warm-up calls are not timed"


@pytest.mark.task("profiling-time-calls")
def test_latency_samples_are_in_milliseconds_and_accept_callables():
    clock = _clock_for([1_500_000, 500_000])
    samples = Profiler().latency_samples(lambda x: x, np.zeros(3), warmup=0, iterations=2, clock=clock)
    np.testing.assert_allclose(samples, [1.5, 0.5])


@pytest.mark.parametrize("kwargs, message", [({"iterations": 0}, "iterations=0"), ({"warmup": -1}, "warmup=-1"),
                                             ({"iterations": 2.5}, "iterations=2.5"),
                                             ({"iterations": True}, "iterations=True")])
def test_latency_rejects_bad_counts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Profiler().measure_latency(_mlp(), np.zeros((1, 64), np.float32), **kwargs)


@pytest.mark.task("profiling-time-calls")
def test_a_clock_going_backwards_is_an_error():
    with pytest.raises(RuntimeError, match="backwards"):
        time_calls(lambda: None, warmup=0, iterations=1, clock=FakeClock([10, 5]))


def test_a_real_clock_gives_non_negative_samples():
    samples = Profiler().latency_samples(_mlp(), np.zeros((1, 64), np.float32), warmup=1, iterations=5)
    assert samples.shape == (5,) and (samples >= 0).all()


def test_a_failing_model_propagates_its_error():
    with pytest.raises(ValueError, match="last dimension must be 64"):
        Profiler().measure_latency(_mlp(), np.zeros((1, 10), np.float32), warmup=0, iterations=1)
    with pytest.raises(TypeError, match="forward"):
        Profiler().measure_latency(object(), np.zeros(1), warmup=0, iterations=1)


def test_memory_of_a_plain_callable_reports_the_peak_and_says_why_sizes_are_missing():
    weight = np.ones((64, 10), dtype=np.float32)
    memory = Profiler().measure_memory(lambda x: x @ weight, (4, 64))
    assert memory["peak_bytes"] >= 4 * 10 * 4 and memory["output_bytes"] == 160
    assert memory["parameter_memory_mb"] is None and memory["model_size_mb"] is None
    assert "parameters()" in memory["unavailable"]["parameter_memory_mb"]
    assert Profiler().measure_memory(_mlp(), (1, 64))["unavailable"] == {}


# --- convolutional models (Module 09) ------------------------------------------------------------

from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalMaxPool2d  # noqa: E402


def _cnn() -> Sequential:
    return Sequential(AvgPool2d(2), Conv2d(3, 8, 3, stride=2, padding=1, seed=0), ReLU(),
                      Conv2d(8, 16, 3, stride=2, padding=1, bias=False, seed=1), ReLU(), GlobalMaxPool2d(),
                      Linear(16, 2, seed=2))


@pytest.mark.parametrize("batch", [1, 3])
def test_conv_flops_follow_the_formula_per_layer_and_scale_with_the_batch(batch):
    rows = Profiler().layer_flops_table(_cnn(), (batch, 32, 32, 3))
    assert [row["sample_shape"] for row in rows[:4]] == [(32, 32, 3), (16, 16, 3), (8, 8, 8), (8, 8, 8)]
    # conv 1: 16x16 input, stride 2, padding 1 -> 8x8 positions; conv 2 -> 4x4 positions, no bias.
    conv1 = 8 * 8 * (2 * 3 * 3 * 3 * 8 + 8)
    conv2 = 4 * 4 * (2 * 3 * 3 * 8 * 16)
    assert [row["flops"] for row in rows] == [0, batch * conv1, 0, batch * conv2, 0, 0, batch * (2 * 16 * 2 + 2)]
    assert Profiler().count_flops(_cnn(), (batch, 32, 32, 3)) == batch * (conv1 + conv2 + 66)


def test_int8_cnn_flops_add_one_scale_multiply_per_output():
    profiler = Profiler()
    shape = (1, 32, 32, 3)
    difference = profiler.count_flops(quantize_model(_cnn()), shape) - profiler.count_flops(_cnn(), shape)
    assert difference == 8 * 8 * 8 + 4 * 4 * 16 + 2


def test_conv_flops_with_the_wrong_channels_name_the_shape():
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\), got \(16, 16, 4\)"):
        Profiler().count_flops(_cnn(), (1, 32, 32, 4))


def test_memory_of_a_cnn_counts_its_parameters_and_its_im2col_peak():
    model = _cnn()
    memory = Profiler().measure_memory(model, (4, 32, 32, 3))
    assert memory["parameter_bytes"] == 4 * (3 * 3 * 3 * 8 + 8 + 3 * 3 * 8 * 16 + 16 * 2 + 2)
    int8 = Profiler().measure_memory(quantize_model(model), (4, 32, 32, 3))
    assert int8["parameter_bytes"] < memory["parameter_bytes"] / 2
    im2col_bytes = 4 * 8 * 8 * (3 * 3 * 3) * 4  # the first convolution's columns, float32
    assert memory["peak_bytes"] >= im2col_bytes
