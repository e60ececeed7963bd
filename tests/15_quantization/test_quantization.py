import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.quantization import (INT8_MAX, QuantizedLinear, quantize_model,
                                                 symmetric_quantize)


def _mlp(seed: int = 0) -> Sequential:
    return Sequential(Flatten(), Linear(64, 32, seed=seed), ReLU(), Linear(32, 10, seed=seed + 1), Softmax(),
                      name="mlp")


def _inputs(shape=(16, 8, 8), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.task("quantization-symmetric")
@pytest.mark.parametrize("per_channel", [True, False])
def test_rounding_error_is_at_most_half_a_step(per_channel):
    w = np.random.default_rng(2).standard_normal((20, 7)).astype(np.float32)
    codes, scale = symmetric_quantize(w, per_channel=per_channel)
    assert codes.dtype == np.int8 and np.abs(codes).max() == INT8_MAX
    error = np.abs(codes.astype(np.float32) * scale - w)
    assert (error <= np.broadcast_to(scale, w.shape) / 2 + 1e-6).all()


@pytest.mark.task("quantization-symmetric")
def test_per_channel_uses_each_columns_range():
    w = np.array([[100.0, 0.01], [-50.0, 0.02]], dtype=np.float32)
    codes_c, _ = symmetric_quantize(w, per_channel=True)
    codes_t, _ = symmetric_quantize(w, per_channel=False)
    assert codes_c[1, 1] == 127, "per-channel: the small column keeps full resolution"
    np.testing.assert_array_equal(codes_t[:, 1], [0, 0], err_msg="per-tensor: the small column rounds to zero")


@pytest.mark.task("quantization-symmetric")
def test_zero_column_and_zero_matrix_do_not_divide_by_zero():
    w = np.zeros((4, 3), dtype=np.float32)
    w[:, 0] = [0.5, -1.0, 0.0, 0.25]
    with np.errstate(all="raise"):
        codes, scale = symmetric_quantize(w, per_channel=True)
        zeros_codes, zeros_scale = symmetric_quantize(np.zeros((3, 3), dtype=np.float32), per_channel=False)
    assert scale[1] == 0 and scale[2] == 0 and (codes[:, 1:] == 0).all()
    assert zeros_scale == 0 and (zeros_codes == 0).all()
    layer = QuantizedLinear(codes, scale, bias=np.ones(3, dtype=np.float32))
    out = layer(np.ones((2, 4), dtype=np.float32)).data
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 1:], 1.0)


@pytest.mark.parametrize("bad, error", [(np.ones(4, dtype=np.float32), ValueError),
                                        (np.ones((2, 2), dtype=np.int32), TypeError),
                                        (np.array([[np.nan, 1.0]], dtype=np.float32), ValueError)])
def test_symmetric_quantize_rejects_bad_weights(bad, error):
    with pytest.raises(error):
        symmetric_quantize(bad)


@pytest.mark.task("quantization-linear")
def test_forward_is_exact_for_the_dequantized_weight_per_channel_and_per_tensor():
    linear = Linear(64, 32, seed=5)
    linear.bias = Tensor(np.linspace(-1, 1, 32, dtype=np.float32))
    x = _inputs((9, 64))
    for per_channel in (True, False):
        layer = QuantizedLinear.from_linear(linear, per_channel=per_channel)
        expected = x.astype(np.float64) @ layer.dequantized_weight().data.astype(np.float64) + linear.bias.data
        np.testing.assert_allclose(layer(x).data, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(layer(Tensor(x[3])).data, expected[3], rtol=1e-5, atol=1e-5)
        assert layer.per_channel is per_channel
        assert layer.scale.shape == ((32,) if per_channel else ())


def test_parameters_are_the_int8_storage_and_about_four_times_smaller():
    linear = Linear(64, 32, seed=0)
    layer = QuantizedLinear.from_linear(linear)
    params = layer.parameters()
    assert [p.dtype for p in params] == [np.int8, np.float32, np.float32]
    assert params[0] is layer.weight_q and params[1] is layer.scale and params[2] is layer.bias
    assert (layer.in_features, layer.out_features) == (64, 32)
    assert sum(p.nbytes for p in params) == 64 * 32 + 32 * 4 + 32 * 4
    no_bias = QuantizedLinear.from_linear(Linear(4, 2, bias=False))
    assert no_bias.bias is None and len(no_bias.parameters()) == 2


@pytest.mark.task("quantization-linear")
@pytest.mark.parametrize("shape", [(2, 5), (3,), ()])
def test_forward_rejects_wrong_width_or_rank(shape):
    layer = QuantizedLinear.from_linear(Linear(4, 2))
    with pytest.raises(ValueError, match="last dimension must be 4"):
        layer(np.ones(shape, dtype=np.float32))


@pytest.mark.task("quantization-linear")
def test_forward_rejects_integer_input():
    with pytest.raises(TypeError, match="cast it to float"):
        QuantizedLinear.from_linear(Linear(4, 2))(np.ones((1, 4), dtype=np.int64))


def test_constructor_validates_its_arrays():
    codes = np.zeros((4, 3), dtype=np.int8)
    with pytest.raises(TypeError, match="int8"):
        QuantizedLinear(codes.astype(np.float32), np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="scale must have shape"):
        QuantizedLinear(codes, np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        QuantizedLinear(codes, -np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="bias must have shape"):
        QuantizedLinear(codes, np.ones(3, dtype=np.float32), bias=np.ones(4))
    with pytest.raises(TypeError, match="Linear"):
        QuantizedLinear.from_linear(ReLU())


def test_quantize_model_returns_a_new_model_and_leaves_the_original_untouched():
    model = _mlp()
    snapshot = [p.data.copy() for p in model.parameters()]
    quantized = quantize_model(model)
    assert quantized is not model and quantized.name == "mlp_int8" and model.name == "mlp"
    assert [type(layer).__name__ for layer in quantized.layers] == [
        "Flatten", "QuantizedLinear", "ReLU", "QuantizedLinear", "Softmax"]
    assert all(type(layer) is not QuantizedLinear for layer in model.layers)
    for before, after in zip(snapshot, model.parameters()):
        np.testing.assert_array_equal(before, after.data)
        assert after.dtype == np.float32
    x = _inputs()
    np.testing.assert_allclose(quantized(x).data, model(x).data, atol=0.02)
    assert (quantized(x).data.argmax(-1) == model(x).data.argmax(-1)).mean() >= 0.9


def test_quantized_model_parameter_bytes_are_under_thirty_percent():
    model = _mlp()
    fp32 = sum(p.nbytes for p in model.parameters())
    int8 = sum(p.nbytes for p in quantize_model(model).parameters())
    assert int8 <= 0.30 * fp32
    assert int8 == 64 * 32 + 32 * 10 + 2 * (32 + 10) * 4


def test_quantize_model_handles_nested_sequential_single_linear_and_requantizing():
    inner = Sequential(Linear(4, 4, seed=1), ReLU())
    model = Sequential(inner, Linear(4, 2, seed=2))
    quantized = quantize_model(model, per_channel=False)
    assert isinstance(quantized.layers[0].layers[0], QuantizedLinear)
    assert isinstance(model.layers[0].layers[0], Linear)
    assert quantized.layers[1].scale.shape == ()
    assert isinstance(quantize_model(Linear(3, 2)), QuantizedLinear)
    twice = quantize_model(quantized)
    np.testing.assert_array_equal(twice.layers[1].weight_q.data, quantized.layers[1].weight_q.data)


@pytest.mark.parametrize("bits", [4, 16, 2, True, "8"])
def test_unsupported_bits_name_the_value_and_the_supported_set(bits):
    with pytest.raises(ValueError, match=r"bits=.*supported values: \[8\]"):
        quantize_model(_mlp(), bits=bits)


def test_unknown_layers_with_parameters_and_non_layers_are_errors():
    class Scale(Layer):
        def __init__(self):
            self.gain = Tensor(np.ones(3, dtype=np.float32))

        def forward(self, x):
            return Tensor(np.asarray(x) * self.gain.data)

        def parameters(self):
            return [self.gain]

    with pytest.raises(TypeError, match="Scale"):
        quantize_model(Sequential(Linear(3, 3), Scale()))
    with pytest.raises(TypeError, match="Layer"):
        quantize_model(lambda x: x)


def test_pruned_zeros_stay_exact_zeros_after_quantization():
    linear = Linear(8, 4, seed=0)
    linear.weight.data[::2] = 0.0
    layer = QuantizedLinear.from_linear(linear)
    assert (layer.weight_q.data[::2] == 0).all()


@pytest.mark.task("quantization-symmetric")
@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 6)),
              elements=st.floats(-1e3, 1e3, width=32)), st.booleans())
def test_quantization_law_codes_in_range_and_error_within_half_a_step(w, per_channel):
    codes, scale = symmetric_quantize(w, per_channel=per_channel)
    assert codes.dtype == np.int8 and np.abs(codes.astype(int)).max(initial=0) <= INT8_MAX
    step = np.broadcast_to(scale, w.shape).astype(np.float64)
    error = np.abs(codes.astype(np.float64) * step - w.astype(np.float64))
    assert (error <= step / 2 * (1 + 1e-5) + 1e-30).all()
    assert ((w == 0) <= (codes == 0)).all(), "zero weights map to zero codes"


# --- Conv2d (Module 09): per-filter int8 scales -------------------------------------------------

from tinytorch.core.spatial import Conv2d, GlobalMaxPool2d, MaxPool2d  # noqa: E402
from tinytorch.optimization.quantization import QuantizedConv2d  # noqa: E402


def _cnn(seed: int = 0) -> Sequential:
    return Sequential(Conv2d(3, 6, 3, stride=2, padding=1, seed=seed), ReLU(), MaxPool2d(2),
                      Conv2d(6, 8, 3, padding=1, seed=seed + 1), ReLU(), GlobalMaxPool2d(), Linear(8, 2, seed=seed + 2),
                      name="cnn")


@pytest.mark.parametrize("per_channel", [True, False])
def test_quantized_conv2d_equals_a_conv_with_the_dequantized_weight(per_channel):
    conv = Conv2d(4, 5, 3, stride=2, padding=1, seed=3)
    conv.bias = Tensor(np.linspace(-1, 1, 5, dtype=np.float32))
    layer = QuantizedConv2d.from_conv2d(conv, per_channel=per_channel)
    assert layer.weight_q.dtype == np.int8 and layer.scale.shape == ((5,) if per_channel else ())
    dequantized = Conv2d(4, 5, 3, stride=2, padding=1)
    dequantized.weight, dequantized.bias = layer.dequantized_weight(), conv.bias
    x = _inputs((3, 11, 10, 4), seed=4)
    np.testing.assert_allclose(layer(x).data, dequantized(x).data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer(x[0]).data, layer(x).data[0], rtol=1e-6)


def test_conv_scales_are_per_filter_so_a_small_filter_keeps_its_precision():
    conv = Conv2d(2, 2, 3, bias=False, seed=0)
    conv.weight.data[..., 1] *= 1e-3  # one filter a thousand times smaller than the other
    per_filter = QuantizedConv2d.from_conv2d(conv).dequantized_weight().data
    per_tensor = QuantizedConv2d.from_conv2d(conv, per_channel=False).dequantized_weight().data
    small = conv.weight.data[..., 1]
    assert np.abs(per_filter[..., 1] - small).max() <= np.abs(small).max() / 254 + 1e-9
    assert np.count_nonzero(per_tensor[..., 1]) == 0, "per tensor, the small filter rounds to zero"


def test_quantize_model_handles_a_cnn_and_keeps_predictions():
    model = _cnn()
    quantized = quantize_model(model)
    kinds = [type(layer).__name__ for layer in quantized.layers]
    assert kinds == ["QuantizedConv2d", "ReLU", "MaxPool2d", "QuantizedConv2d", "ReLU", "GlobalMaxPool2d",
                     "QuantizedLinear"]
    assert isinstance(model.layers[0], Conv2d) and quantized.name == "cnn_int8"
    x = _inputs((8, 16, 16, 3), seed=5)
    np.testing.assert_allclose(quantized(x).data, model(x).data, atol=0.05)
    float_bytes = sum(p.nbytes for p in model.parameters())
    assert sum(p.nbytes for p in quantized.parameters()) < 0.4 * float_bytes


def test_quantized_conv2d_flops_and_bad_input():
    layer = QuantizedConv2d.from_conv2d(Conv2d(3, 4, 3, padding=1, seed=0))
    conv_flops = Conv2d(3, 4, 3, padding=1).flops_per_sample((5, 5, 3))
    assert layer.flops_per_sample((5, 5, 3)) == conv_flops + 5 * 5 * 4  # one scale multiply per output
    with pytest.raises(ValueError, match="expects 3 channels"):
        layer(np.ones((1, 3, 5, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="from_conv2d"):
        QuantizedConv2d(np.zeros((3, 3, 3, 4), dtype=np.float32), np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="scale must have shape"):
        QuantizedConv2d(np.zeros((3, 3, 3, 4), dtype=np.int8), np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="Conv2d"):
        QuantizedConv2d.from_conv2d(Linear(3, 4))
