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
# # Module 09: Spatial layers (convolution and pooling)
#
# A `Linear` layer sees a whole image at once, so a shape it learned at one position says nothing
# about the same shape elsewhere. A convolution slides one small filter over every position: the
# same weights look everywhere, and the output is a map of where the filter matched. Pooling then
# shrinks that map, and a *global* pool asks "did it match anywhere?".
#
# **Layout: channels last, `(N, H, W, C)`.** PyTorch uses `(N, C, H, W)`; we use the layout of
# TensorFlow Lite Micro (what MLPerf Tiny's reference models run on) and of our image data, so no
# transpose is needed. Weights are `(kernel, kernel, in_channels, out_channels)`, so that
# `weight.reshape(-1, out_channels)` is an ordinary `(in, out)` matrix, as in `Linear`.
# From PyTorch: `x.transpose(0, 2, 3, 1)` and `weight.transpose(2, 3, 1, 0)`.
#
# | layer | input | output |
# |---|---|---|
# | `Conv2d(in, out, k, stride, padding)` | `(N, H, W, in)` | `(N, H', W', out)`, `H' = (H + 2 padding - k) // stride + 1` |
# | `MaxPool2d(k, stride)`, `AvgPool2d(k, stride)` | `(N, H, W, C)` | `(N, H', W', C)`, `H' = (H - k) // stride + 1` |
# | `GlobalAvgPool2d()`, `GlobalMaxPool2d()` | `(N, H, W, C)` | `(N, C)` |
#
# One sample `(H, W, C)` is accepted too and gives one sample back. These layers are inference only:
# the training code that uses them (Module 18) writes its own backward pass.

# %% nbgrader={"grade": false, "grade_id": "spatial-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp core.spatial
#| export
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

# %% nbgrader={"grade": false, "grade_id": "spatial-helpers", "locked": false, "schema_version": 3, "solution": false}
#| export
def _check_size(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def image_batch(layer: str, data: np.ndarray, channels: int | None = None) -> tuple[np.ndarray, bool]:
    """Check a channels-last input and return it as a batch.

    Args:
        layer: the layer's name, for the error messages.
        data: `(N, H, W, C)` or one `(H, W, C)` image, floating point.
        channels: the number of channels the layer needs, or None for any.

    Returns:
        `(batch, added)`: the `(N, H, W, C)` batch, and True when a batch axis was added.

    Raises:
        ValueError: wrong rank or channel count (the message names the shape and the fix).
        TypeError: integer or boolean input.
    """
    if data.ndim not in (3, 4):
        raise ValueError(f"{layer} takes channels-last images (N, H, W, C) or one image (H, W, C); got shape "
                         f"{data.shape}. A grey image needs a channel axis (x[..., None]); an (N, C, H, W) "
                         "batch from PyTorch becomes channels-last with x.transpose(0, 2, 3, 1)")
    if data.dtype.kind not in "fc":
        raise TypeError(f"{layer} got {data.dtype} input; cast it to float first, e.g. x.astype(np.float32)")
    if channels is not None and data.shape[-1] != channels:
        raise ValueError(f"{layer} expects {channels} channels in the last axis (channels-last), got shape "
                         f"{data.shape}; if the channels come first, transpose with x.transpose(0, 2, 3, 1)")
    return (data, False) if data.ndim == 4 else (data[None], True)


def _output_hw(layer: str, sample_shape: tuple[int, ...], kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Output height and width for one `(H, W, C)` sample."""
    height, width = sample_shape[0], sample_shape[1]
    if min(height, width) + 2 * padding < kernel:
        raise ValueError(f"{layer}: the image of shape {tuple(sample_shape)} (padding {padding}) is smaller than the "
                         f"kernel {kernel}; use a larger input, more padding or a smaller kernel")
    return (height + 2 * padding - kernel) // stride + 1, (width + 2 * padding - kernel) // stride + 1

# %% [markdown]
# ## im2col: a convolution as one matrix product
#
# Each output position sees a `k x k x C` patch of the input. Copy every patch into one row of a
# matrix (`im2col`, "image to columns"), and the whole convolution is one matrix product with the
# `(k * k * C, out)` weight matrix, the operation BLAS is fastest at:
#
# ```
# cols[n, i, j] = x_padded[n, i*s : i*s + k, j*s : j*s + k, :].ravel()      # order (row, column, channel)
# y[n, i, j]    = cols[n, i, j] @ weight.reshape(k * k * C, out) + bias
# ```
#
# `sliding_window_view` gives all `k x k` windows as a view (no copy); slicing it with `::stride`
# keeps every `stride`-th one, and the final `reshape` is the one copy. The cost is memory: the
# columns hold each input value up to `k * k / stride**2` times.

# %% nbgrader={"grade": false, "grade_id": "spatial-im2col", "locked": false, "schema_version": 3, "solution": false}
#| export
def im2col(x: np.ndarray, kernel_size: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The `k x k` patches of a channels-last batch as rows, in (row, column, channel) order.

    Args:
        x: `(N, H, W, C)` array.
        kernel_size, stride, padding: as in `Conv2d` (zero padding on all four sides).

    Returns:
        `(N * H' * W', k * k * C)` array, rows ordered by image, then output row, then output column.
    """
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(1, 2))[:, ::stride, ::stride]
    n, out_h, out_w, channels = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_h * out_w, kernel_size * kernel_size * channels)

# %% [markdown]
# ## Conv2d
#
# Your task (Task 09.1): the forward pass. The argument checks and the channels-last batch are done for you
# (`data` is `(N, H, W, in_channels)`); compute the output size, build the columns with `im2col`,
# multiply by the weight as a matrix, add the bias, and reshape to `(N, H', W', out_channels)`.

# %% nbgrader={"grade": false, "grade_id": "spatial-conv2d", "locked": false, "schema_version": 3, "solution": true}
#| export
class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every deep learning library), channels last.

    Args:
        in_channels: channels of the input (its last axis).
        out_channels: number of filters, the channels of the output.
        kernel_size: side of the square filter.
        stride: step between filter positions.
        padding: zeros added on each side of the height and width.
        bias: whether to add a bias per output channel.
        seed: seed of the He initialisation (`std = sqrt(2 / (k * k * in_channels))`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, seed: int = 0):
        self.in_channels = _check_size("in_channels", in_channels, 1)
        self.out_channels = _check_size("out_channels", out_channels, 1)
        self.kernel_size = _check_size("kernel_size", kernel_size, 1)
        self.stride = _check_size("stride", stride, 1)
        self.padding = _check_size("padding", padding, 0)
        fan_in = self.kernel_size * self.kernel_size * self.in_channels
        rng = np.random.default_rng(seed)
        shape = (self.kernel_size, self.kernel_size, self.in_channels, self.out_channels)
        self.weight = Tensor((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32))
        self.bias = Tensor(np.zeros(self.out_channels, dtype=np.float32)) if bias else None

    def output_shape(self, sample_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """`(H', W', out_channels)` for one `(H, W, in_channels)` sample."""
        return (*_output_hw(repr(self), sample_shape, self.kernel_size, self.stride, self.padding), self.out_channels)

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        """Apply the filters to `(N, H, W, in_channels)` (or one `(H, W, in_channels)` image).

        Raises:
            ValueError: wrong rank, wrong number of channels, or an image smaller than the kernel.
            TypeError: integer or boolean input.
        """
        batch, added = image_batch(repr(self), data, self.in_channels)
        # Task 09.1: output size, im2col, one matrix product, bias, reshape to channels-last.
        ### BEGIN SOLUTION
        out_h, out_w, _ = self.output_shape(batch.shape[1:])
        cols = im2col(batch, self.kernel_size, self.stride, self.padding)
        out = cols @ self.weight.data.reshape(-1, self.out_channels)
        if self.bias is not None:
            out += self.bias.data
        out = out.reshape(batch.shape[0], out_h, out_w, self.out_channels)
        ### END SOLUTION
        return out[0] if added else out

    def flops_per_sample(self, sample_shape: tuple[int, ...]) -> int:
        """`2 * k * k * in * out` per output position, plus `out` bias adds, times `H' * W'`."""
        if len(sample_shape) != 3 or sample_shape[-1] != self.in_channels:
            raise ValueError(f"{self!r} takes samples of shape (H, W, {self.in_channels}), got {tuple(sample_shape)}")
        out_h, out_w, _ = self.output_shape(sample_shape)
        per_position = 2 * self.kernel_size**2 * self.in_channels * self.out_channels
        per_position += self.out_channels if self.bias is not None else 0
        return out_h * out_w * per_position

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")

# %% [markdown]
# Check it against the definition, a loop over output positions:

# %% nbgrader={"grade": true, "grade_id": "spatial-conv2d-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_conv2d():
    rng = np.random.default_rng(0)
    conv = Conv2d(2, 3, kernel_size=3, stride=2, padding=1, seed=1)
    conv.bias = Tensor(rng.standard_normal(3).astype(np.float32))
    x = rng.standard_normal((2, 7, 6, 2)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((2, 4, 3, 3), dtype=np.float32)
    for i in range(4):
        for j in range(3):
            patch = padded[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3, :]
            expected[:, i, j] = np.tensordot(patch, conv.weight.data, axes=3) + conv.bias.data
    np.testing.assert_allclose(conv(x).data, expected, rtol=1e-5, atol=1e-5)
    assert conv(x[0]).shape == (4, 3, 3), "one image in, one image out"
    try:
        conv(np.ones((1, 2, 7, 6), dtype=np.float32))
    except ValueError as error:
        assert "transpose" in str(error)
    else:
        raise AssertionError("channels-first input must raise ValueError")


test_unit_conv2d()

# %% [markdown]
# ## Pooling
#
# Pooling has no weights: it summarizes each `k x k` window by its maximum or its mean (windows
# `stride` apart; `stride` defaults to `k`, so windows do not overlap). A window that would run past
# the edge is dropped, as in PyTorch without `ceil_mode`. The global pools summarize the whole map
# per channel and drop the height and width, so a `Linear` can follow without `Flatten`.

# %% nbgrader={"grade": false, "grade_id": "spatial-pooling", "locked": false, "schema_version": 3, "solution": false}
#| export
class _Pool2d(Layer):
    """Shared by the two pools; a subclass sets `_reduce` (over window axes) and `_combine` (of k*k slices)."""

    def __init__(self, kernel_size: int, stride: int | None = None):
        self.kernel_size = _check_size("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _check_size("stride", stride, 1)

    def output_shape(self, sample_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """`(H', W', C)` for one `(H, W, C)` sample."""
        return (*_output_hw(repr(self), sample_shape, self.kernel_size, self.stride, 0), sample_shape[2])

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        batch, added = image_batch(repr(self), data)
        self.output_shape(batch.shape[1:])  # checks the image is at least one window
        k, s = self.kernel_size, self.stride
        if k == s:  # non-overlapping windows: combine k*k strided slices, several times faster than a reduce
            out_h, out_w = batch.shape[1] // k, batch.shape[2] // k
            out = self._combine([batch[:, i:i + k * out_h:k, j:j + k * out_w:k] for i in range(k) for j in range(k)])
        else:
            windows = sliding_window_view(batch, (k, k), axis=(1, 2))[:, ::s, ::s]
            out = self._reduce(windows, axis=(-2, -1))
        return out[0] if added else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """The maximum of each `kernel_size x kernel_size` window, per channel (channels last).

    Args:
        kernel_size: side of the window.
        stride: step between windows; defaults to `kernel_size`.
    """

    _reduce = staticmethod(np.max)

    @staticmethod
    def _combine(slices: list[np.ndarray]) -> np.ndarray:
        out = slices[0].copy()
        for part in slices[1:]:
            np.maximum(out, part, out=out)
        return out


class AvgPool2d(_Pool2d):
    """The mean of each `kernel_size x kernel_size` window, per channel (channels last).

    Args:
        kernel_size: side of the window.
        stride: step between windows; defaults to `kernel_size`.
    """

    _reduce = staticmethod(np.mean)

    @staticmethod
    def _combine(slices: list[np.ndarray]) -> np.ndarray:
        out = slices[0].copy()
        for part in slices[1:]:
            out += part
        return out / len(slices)


class GlobalAvgPool2d(Layer):
    """The mean over height and width: `(N, H, W, C)` to `(N, C)`."""

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        batch, added = image_batch("GlobalAvgPool2d", data)
        out = batch.mean(axis=(1, 2))
        return out[0] if added else out


class GlobalMaxPool2d(Layer):
    """The maximum over height and width: `(N, H, W, C)` to `(N, C)`."""

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        batch, added = image_batch("GlobalMaxPool2d", data)
        out = batch.max(axis=(1, 2))
        return out[0] if added else out

# %% nbgrader={"grade": false, "grade_id": "spatial-pooling-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_pooling():
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    pooled = MaxPool2d(2)(x).data
    assert pooled.shape == (2, 2, 2, 3), "the last column (5 is odd) is dropped"
    np.testing.assert_array_equal(pooled[0, 0, 0], x[0, :2, :2].max(axis=(0, 1)))
    np.testing.assert_allclose(AvgPool2d(2, stride=1)(x).data[1, 2, 3], x[1, 2:4, 3:5].mean(axis=(0, 1)))
    np.testing.assert_array_equal(GlobalMaxPool2d()(x).data, x.max(axis=(1, 2)))
    np.testing.assert_allclose(GlobalAvgPool2d()(x[0]).data, x[0].mean(axis=(0, 1)))


test_unit_pooling()

# %% [markdown]
# ## A small convolutional network
#
# The layers chain in a `Sequential` like any other; the shapes below are what a 96x96 RGB image
# goes through in the visual-wake-words reference model of Module 18 (a smaller version here).

# %%
from tinytorch.core.layers import Linear, ReLU, Sequential

net = Sequential(AvgPool2d(2), Conv2d(3, 8, 3, stride=2, padding=1), ReLU(), Conv2d(8, 16, 3, stride=2, padding=1),
                 ReLU(), GlobalMaxPool2d(), Linear(16, 2))
image = np.random.default_rng(0).random((1, 96, 96, 3), dtype=np.float32)
shape = image.shape
for layer in net.layers:
    shape = layer.forward_array(np.zeros(shape, dtype=np.float32)).shape
    print(f"{layer!r:70} -> {shape}")
assert net(image).shape == (1, 2)
print("Spatial tests passed")
