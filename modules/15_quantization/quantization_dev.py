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
# # Module 15: Quantization
#
# A `float32` weight costs four bytes. Most trained weights sit in a narrow range around zero, so
# 256 evenly spaced levels describe them well: store each weight as an `int8` code `q` and keep one
# `float32` scale per output column, so that `w ~= q * scale`. The model's parameters shrink about 4x.
#
# **Symmetric int8 quantization**, per output channel `j` (a column of the `(in, out)` weight):
#
# ```
# scale_j = max_i |W[i, j]| / 127          q[i, j] = round(W[i, j] / scale_j), clipped to [-127, 127]
# ```
#
# The code range is `[-127, 127]` (not -128) so that `+max` and `-max` are both representable and
# zero maps exactly to zero, which keeps pruned weights pruned. A column of zeros has `max = 0`: its
# scale is stored as `0` and its codes as `0`, with no division by zero.
#
# **Why the forward is exact in the scales.** For one output `j`,
# `sum_i x_i * (q_ij * scale_j) = scale_j * sum_i x_i * q_ij`, so the layer can multiply the input by the
# integer codes (cast to `float32` for the product) and apply the per-column scale once, afterwards.
# The only error left is the rounding of `W` to `q * scale`, at most `scale_j / 2` per weight.
#
# **What this module does not claim.** NumPy has no fast int8 matrix product, so the codes are
# cast to `float32` inside `forward`: the *stored* model is ~4x smaller, but every call pays for the
# cast, so expect no speed-up from this form. Module 19 measures both; neither is assumed.
#
# | per-tensor | per-channel |
# |---|---|
# | one scale for the whole matrix | one scale per output column |
# | a column of tiny weights loses precision to the largest column | every column uses its full code range |
# | `scale.shape == ()` | `scale.shape == (out_features,)` |

# %% nbgrader={"grade": false, "grade_id": "quantization-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp optimization.quantization
#| export
from __future__ import annotations

import copy

import numpy as np

from tinytorch.core.layers import Layer, Linear, Sequential
from tinytorch.core.spatial import Conv2d, image_batch, im2col
from tinytorch.core.tensor import Tensor

# %% nbgrader={"grade": false, "grade_id": "quantization-constants", "locked": false, "schema_version": 3, "solution": false}
#| export
INT8_MAX = 127  # symmetric range [-127, 127]: zero maps to zero and +max/-max are both exact
SUPPORTED_BITS = (8,)


def _as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)

# %% [markdown]
# ## Computing scales and codes
#
# Your task (Task 15.1): `symmetric_quantize(weight, per_channel)` returns `(codes, scale)`.
#
# 1. The largest magnitude: per column (`axis=0`) when `per_channel`, else over the whole matrix.
# 2. `scale = max_abs / 127` as `float32`.
# 3. Divide where the scale is positive and leave zeros elsewhere (`np.divide(..., where=...)` with an
#    `out` of zeros), round to the nearest integer, clip to `[-127, 127]`, cast to `int8`.
#
# *Hint:* `keepdims=True` is not what you want for the stored scale: it must be `(out,)` or `()`.

# %% nbgrader={"grade": false, "grade_id": "quantization-symmetric", "locked": false, "schema_version": 3, "solution": true}
#| export
def symmetric_quantize(weight, per_channel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization of a 2-D `(in, out)` weight.

    Args:
        weight: the float weight matrix (Tensor or array).
        per_channel: one scale per output column if True, else one scale for the whole matrix.

    Returns:
        `(codes, scale)`: `codes` int8 of the weight's shape, `scale` float32 of shape `(out,)` or `()`,
        with `codes * scale ~= weight`. An all-zero column (or matrix) gets scale 0 and codes 0.

    Raises:
        ValueError: if the weight is not 2-D or holds NaN or infinite values.
        TypeError: if the weight is not a float array.
    """
    w = _as_array(weight)
    if w.ndim != 2:
        raise ValueError(f"symmetric_quantize needs a 2-D (in, out) weight, got shape {w.shape}")
    if w.dtype.kind != "f":
        raise TypeError(f"symmetric_quantize needs a float weight, got {w.dtype}; it quantizes float weights to int8")
    if not np.isfinite(w).all():
        raise ValueError("the weight holds NaN or infinite values; a quantization scale cannot be computed from them")
    # Task 15.1: per-column (or whole-matrix) scales, then the clipped int8 codes.
    ### BEGIN SOLUTION
    max_abs = np.abs(w).max(axis=0) if per_channel else np.abs(w).max()
    scale = np.asarray(max_abs / INT8_MAX, dtype=np.float32)
    ratio = np.zeros(w.shape, dtype=np.float64)
    np.divide(w, scale, out=ratio, where=np.broadcast_to(scale > 0, w.shape))
    codes = np.clip(np.rint(ratio), -INT8_MAX, INT8_MAX).astype(np.int8)
    return codes, scale
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "quantization-symmetric-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_symmetric_quantize():
    w = np.array([[1.0, -0.5, 0.0], [-2.0, 0.25, 0.0]], dtype=np.float32)
    codes, scale = symmetric_quantize(w, per_channel=True)
    assert codes.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (3,)
    np.testing.assert_allclose(scale, [2 / 127, 0.5 / 127, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(codes[:, 2], [0, 0], err_msg="a zero column stays zero")
    assert codes[1, 0] == -127 and codes[0, 1] == -127, "the largest magnitude maps to +-127"
    np.testing.assert_allclose(codes * scale, w, atol=float(scale.max()) / 2 + 1e-7)
    codes_t, scale_t = symmetric_quantize(w, per_channel=False)
    assert scale_t.shape == () and codes_t[1, 0] == -127


test_unit_symmetric_quantize()

# %% [markdown]
# ## QuantizedLinear
#
# The layer stores `weight_q` (int8, `(in, out)`), `scale` (float32, `(out,)` or `()`) and an optional
# float32 `bias`. `parameters()` returns exactly those arrays, so any memory accounting that sums
# `nbytes` (the Profiler of Module 14, the benchmarks of Module 19) sees the int8 storage.
#
# Your task (Task 15.2): `forward`. Validate the input as `Linear` does (last dimension `in_features`, a float
# dtype), then compute `(x @ weight_q.astype(float32)) * scale + bias`.

# %% nbgrader={"grade": false, "grade_id": "quantization-linear", "locked": false, "schema_version": 3, "solution": true}
#| export
class QuantizedLinear(Layer):
    """A Linear layer whose weight is stored as int8 codes with float32 scales.

    Args:
        weight_q: int8 codes of shape `(in_features, out_features)`.
        scale: float32 scales, shape `(out_features,)` (per output channel) or `()` (per tensor).
        bias: optional float32 bias of shape `(out_features,)`.
    """

    def __init__(self, weight_q, scale, bias=None):
        codes, scales = _as_array(weight_q), np.asarray(_as_array(scale))
        if codes.dtype != np.int8 or codes.ndim != 2:
            raise TypeError(f"weight_q must be a 2-D int8 array, got {codes.dtype} of shape {codes.shape}; "
                            "build the layer with QuantizedLinear.from_linear(linear)")
        in_features, out_features = codes.shape
        if scales.shape not in ((), (out_features,)):
            raise ValueError(f"scale must have shape () or ({out_features},), got {scales.shape}")
        if not (np.isfinite(scales).all() and (scales >= 0).all()):
            raise ValueError("scale must be finite and non-negative")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight_q = Tensor(codes)
        self.scale = Tensor(scales.astype(np.float32))
        self.bias = None
        if bias is not None:
            bias_array = np.asarray(_as_array(bias), dtype=np.float32)
            if bias_array.shape != (out_features,):
                raise ValueError(f"bias must have shape ({out_features},), got {bias_array.shape}")
            self.bias = Tensor(bias_array)

    @classmethod
    def from_linear(cls, linear: Linear, per_channel: bool = True) -> QuantizedLinear:
        """Quantize a trained `Linear` (its weight symmetric int8; its bias kept in float32)."""
        if not isinstance(linear, Linear):
            raise TypeError(f"from_linear needs a Linear layer, got {type(linear).__name__}")
        codes, scale = symmetric_quantize(linear.weight, per_channel=per_channel)
        bias = None if linear.bias is None else linear.bias.data.copy()
        return cls(codes, scale, bias)

    @property
    def per_channel(self) -> bool:
        return self.scale.shape != ()

    def forward(self, x) -> Tensor:
        """Apply the layer to a batch `(N, in_features)` or one sample `(in_features,)`.

        Raises:
            ValueError: if the last dimension is not `in_features` or `x` is 0-D.
            TypeError: if `x` holds integers or booleans.
        """
        data = _as_array(x)
        # Task 15.2: validate like Linear, multiply by the codes as float32, scale per column, add bias.
        ### BEGIN SOLUTION
        if data.ndim == 0 or data.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear({self.in_features}, {self.out_features}) got input of shape "
                             f"{data.shape}; its last dimension must be {self.in_features}")
        if data.dtype.kind not in "fc":
            raise TypeError(f"QuantizedLinear got {data.dtype} input; cast it to float first, e.g. x.astype(np.float32)")
        out = (data @ self.weight_q.data.astype(np.float32)) * self.scale.data
        if self.bias is not None:
            out = out + self.bias.data
        return Tensor(out)
        ### END SOLUTION

    def dequantized_weight(self) -> Tensor:
        """The float32 weight the codes stand for: `weight_q * scale`."""
        return Tensor(self.weight_q.data.astype(np.float32) * self.scale.data)

    def flops_per_sample(self, input_shape: tuple[int, ...]) -> int:
        """FLOPs for one sample of shape `input_shape`: 2*in*out for the product, out for the
        scale multiply and out for the bias add, per row of the sample."""
        rows = int(np.prod(input_shape[:-1], dtype=np.int64))
        extra = self.out_features * (2 if self.bias is not None else 1)
        return rows * (2 * self.in_features * self.out_features + extra)

    def parameters(self) -> list[Tensor]:
        params = [self.weight_q, self.scale]
        return params if self.bias is None else params + [self.bias]

    def __repr__(self) -> str:
        kind = "per_channel" if self.per_channel else "per_tensor"
        return f"QuantizedLinear({self.in_features}, {self.out_features}, int8, {kind}, bias={self.bias is not None})"

# %% nbgrader={"grade": true, "grade_id": "quantization-linear-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_quantized_linear():
    linear = Linear(6, 4, seed=3)
    linear.bias = Tensor(np.arange(4, dtype=np.float32))
    layer = QuantizedLinear.from_linear(linear)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    expected = x @ layer.dequantized_weight().data + linear.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-5, atol=1e-5)
    assert layer.weight_q.dtype == np.int8 and layer(x[0]).shape == (4,)
    big = Linear(64, 32)
    assert sum(p.nbytes for p in QuantizedLinear.from_linear(big).parameters()) < 0.3 * sum(
        p.nbytes for p in big.parameters()), "int8 codes must make the stored layer about 4x smaller"
    try:
        layer(np.ones((2, 6), dtype=np.int64))
    except TypeError:
        pass
    else:
        raise AssertionError("integer input must raise TypeError")


test_unit_quantized_linear()

# %% [markdown]
# ## QuantizedConv2d
#
# A `Conv2d` (Module 09) is a matrix product too: its `(k, k, in, out)` weight reshaped to
# `(k * k * in, out)` multiplies the `im2col` patches. So the same per-column rule gives **one scale per
# output channel** (per filter), the scheme TensorFlow Lite uses for convolutions, and the forward is
# `(im2col(x) @ codes.astype(float32)) * scale + bias`, exact in the scales as above.

# %% nbgrader={"grade": false, "grade_id": "quantization-conv2d", "locked": false, "schema_version": 3, "solution": false}
#| export
class QuantizedConv2d(Layer):
    """A channels-last `Conv2d` whose weight is stored as int8 codes with float32 scales.

    Args:
        weight_q: int8 codes of shape `(kernel_size, kernel_size, in_channels, out_channels)`.
        scale: float32 scales, shape `(out_channels,)` (per filter) or `()` (per tensor).
        bias: optional float32 bias of shape `(out_channels,)`.
        stride, padding: as in `Conv2d`.
    """

    def __init__(self, weight_q, scale, bias=None, stride: int = 1, padding: int = 0):
        codes, scales = _as_array(weight_q), np.asarray(_as_array(scale))
        if codes.dtype != np.int8 or codes.ndim != 4 or codes.shape[0] != codes.shape[1]:
            raise TypeError(f"weight_q must be a 4-D int8 array (k, k, in, out), got {codes.dtype} of shape "
                            f"{codes.shape}; build the layer with QuantizedConv2d.from_conv2d(conv)")
        # Conv2d checks the sizes and computes output shapes and FLOPs; its float weight is not kept.
        self._geometry = Conv2d(codes.shape[2], codes.shape[3], codes.shape[0], stride, padding, bias=bias is not None)
        self.in_channels, self.out_channels, self.kernel_size = codes.shape[2], codes.shape[3], codes.shape[0]
        self.stride, self.padding = self._geometry.stride, self._geometry.padding
        self._geometry.weight = None
        if scales.shape not in ((), (self.out_channels,)):
            raise ValueError(f"scale must have shape () or ({self.out_channels},), got {scales.shape}")
        if not (np.isfinite(scales).all() and (scales >= 0).all()):
            raise ValueError("scale must be finite and non-negative")
        self.weight_q = Tensor(codes)
        self.scale = Tensor(scales.astype(np.float32))
        self.bias = None
        if bias is not None:
            bias_array = np.asarray(_as_array(bias), dtype=np.float32)
            if bias_array.shape != (self.out_channels,):
                raise ValueError(f"bias must have shape ({self.out_channels},), got {bias_array.shape}")
            self.bias = Tensor(bias_array)

    @classmethod
    def from_conv2d(cls, conv: Conv2d, per_channel: bool = True) -> QuantizedConv2d:
        """Quantize a trained `Conv2d`: one int8 scale per filter (or per tensor); bias kept in float32."""
        if not isinstance(conv, Conv2d):
            raise TypeError(f"from_conv2d needs a Conv2d layer, got {type(conv).__name__}")
        weight = conv.weight.data
        codes, scale = symmetric_quantize(weight.reshape(-1, conv.out_channels), per_channel=per_channel)
        bias = None if conv.bias is None else conv.bias.data.copy()
        return cls(codes.reshape(weight.shape), scale, bias, stride=conv.stride, padding=conv.padding)

    @property
    def per_channel(self) -> bool:
        return self.scale.shape != ()

    def output_shape(self, sample_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """`(H', W', out_channels)` for one `(H, W, in_channels)` sample."""
        return self._geometry.output_shape(sample_shape)

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        """Apply the filters to `(N, H, W, in_channels)` (or one image); same errors as `Conv2d`."""
        batch, added = image_batch(repr(self), data, self.in_channels)
        out_h, out_w, _ = self.output_shape(batch.shape[1:])
        cols = im2col(batch, self.kernel_size, self.stride, self.padding)
        out = (cols @ self.weight_q.data.reshape(-1, self.out_channels).astype(np.float32)) * self.scale.data
        if self.bias is not None:
            out += self.bias.data
        out = out.reshape(batch.shape[0], out_h, out_w, self.out_channels)
        return out[0] if added else out

    def dequantized_weight(self) -> Tensor:
        """The float32 `(k, k, in, out)` weight the codes stand for: `weight_q * scale` (per filter)."""
        return Tensor(self.weight_q.data.astype(np.float32) * self.scale.data)

    def flops_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        """The `Conv2d` count plus one scale multiply per output value."""
        out_h, out_w, _ = self.output_shape(sample_shape)
        return self._geometry.flops_per_sample(sample_shape) + out_h * out_w * self.out_channels

    def parameters(self) -> list[Tensor]:
        params = [self.weight_q, self.scale]
        return params if self.bias is None else params + [self.bias]

    def __repr__(self) -> str:
        kind = "per_channel" if self.per_channel else "per_tensor"
        return (f"QuantizedConv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, int8, {kind}, bias={self.bias is not None})")

# %%
def test_unit_quantized_conv2d():
    conv = Conv2d(3, 4, 3, stride=2, padding=1, seed=2)
    conv.bias = Tensor(np.arange(4, dtype=np.float32))
    layer = QuantizedConv2d.from_conv2d(conv)
    assert layer.weight_q.shape == (3, 3, 3, 4) and layer.scale.shape == (4,)
    x = np.random.default_rng(0).random((2, 9, 9, 3), dtype=np.float32)
    reference = Conv2d(3, 4, 3, stride=2, padding=1)
    reference.weight, reference.bias = layer.dequantized_weight(), conv.bias
    np.testing.assert_allclose(layer(x).data, reference(x).data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(x).data, conv(x).data, atol=0.05)


test_unit_quantized_conv2d()

# %% [markdown]
# ## Quantizing a whole model
#
# `quantize_model` deep-copies the model and swaps every `Linear` for a `QuantizedLinear` (and every
# `Conv2d` for a `QuantizedConv2d`): the
# original keeps its float weights, so a benchmark can compare the two side by side. Layers without
# parameters (ReLU, Softmax, Flatten) are copied as they are; a layer with parameters that the
# function does not know is an error rather than a silently unquantized float layer.

# %% nbgrader={"grade": false, "grade_id": "quantization-model", "locked": false, "schema_version": 3, "solution": false}
#| export
def _quantize_layer(layer: Layer, per_channel: bool) -> Layer:
    if isinstance(layer, Linear):
        return QuantizedLinear.from_linear(layer, per_channel=per_channel)
    if isinstance(layer, Conv2d):
        return QuantizedConv2d.from_conv2d(layer, per_channel=per_channel)
    if isinstance(layer, Sequential):
        layer.layers = [_quantize_layer(inner, per_channel) for inner in layer.layers]
        return layer
    if isinstance(layer, (QuantizedLinear, QuantizedConv2d)) or not layer.parameters():
        return layer
    raise TypeError(f"quantize_model does not know how to quantize {type(layer).__name__}, which holds "
                    "parameters; only Linear and Conv2d layers (inside Sequential) are supported")


def quantize_model(model: Layer, bits: int = 8, per_channel: bool = True) -> Layer:
    """A new model with every `Linear` (`Conv2d`) replaced by a symmetric int8 `QuantizedLinear` (`QuantizedConv2d`).

    Args:
        model: a `Sequential` (nested ones too) or a single `Linear` or `Conv2d`. It is not modified.
        bits: code width; only 8 is supported.
        per_channel: one scale per output column or filter (True) or one per weight (False).

    Returns:
        A deep copy of the model with quantized layers; a model `name`, if any, gets the suffix
        `_int8` so that a benchmark can tell the two apart.

    Raises:
        ValueError: if `bits` is not supported.
        TypeError: if the model is not a Layer, or holds a layer with parameters that cannot be quantized.
    """
    if isinstance(bits, bool) or bits not in SUPPORTED_BITS:
        raise ValueError(f"bits={bits!r} is not supported; supported values: {list(SUPPORTED_BITS)}")
    if not isinstance(model, Layer):
        raise TypeError(f"quantize_model needs a tinytorch Layer such as Sequential, got {type(model).__name__}")
    quantized = _quantize_layer(copy.deepcopy(model), per_channel)
    if isinstance(getattr(quantized, "name", None), str):
        quantized.name = f"{quantized.name}_int8"
    return quantized

# %% nbgrader={"grade": false, "grade_id": "quantization-model-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_quantize_model():
    from tinytorch.core.layers import ReLU
    model = Sequential(Linear(8, 6, seed=0), ReLU(), Linear(6, 3, seed=1))
    before = model.layers[0].weight.data.copy()
    quantized = quantize_model(model)
    assert isinstance(quantized.layers[0], QuantizedLinear) and isinstance(model.layers[0], Linear)
    np.testing.assert_array_equal(model.layers[0].weight.data, before, err_msg="the original must stay untouched")
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(quantized(x).data, model(x).data, atol=0.05)
    try:
        quantize_model(model, bits=4)
    except ValueError as error:
        assert "4" in str(error) and "8" in str(error)
    else:
        raise AssertionError("bits=4 must raise ValueError")


test_unit_quantize_model()
print("Quantization tests passed")
