"""Conv2d and pooling against naive loops and scipy; shapes, errors and the Layer contract."""
import numpy as np
import pytest
import scipy.signal

from tinytorch.core.layers import Linear, ReLU, Sequential
from tinytorch.core.spatial import (AvgPool2d, Conv2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d, im2col)
from tinytorch.core.tensor import Tensor


def naive_conv(x, weight, bias, stride, padding):
    """The definition: one dot product per image, output position and filter."""
    k = weight.shape[0]
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, height, width, _ = padded.shape
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    out = np.zeros((n, out_h, out_w, weight.shape[3]))
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                patch = padded[b, i * stride:i * stride + k, j * stride:j * stride + k, :]
                for o in range(weight.shape[3]):
                    out[b, i, j, o] = np.sum(patch * weight[..., o]) + (0.0 if bias is None else bias[o])
    return out


def naive_pool(x, k, stride, reduce):
    n, height, width, channels = x.shape
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    out = np.zeros((n, out_h, out_w, channels))
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j] = reduce(x[:, i * stride:i * stride + k, j * stride:j * stride + k], axis=(1, 2))
    return out


def with_random_bias(conv, seed=0):
    conv.bias = Tensor(np.random.default_rng(seed).standard_normal(conv.out_channels).astype(np.float32))
    return conv


@pytest.mark.task("spatial-conv2d")
@pytest.mark.parametrize("k,stride,padding,size", [(1, 1, 0, (5, 5)), (3, 1, 0, (6, 7)), (3, 2, 1, (9, 8)),
                                                   (5, 2, 2, (11, 10)), (2, 3, 1, (7, 9)), (3, 1, 1, (3, 3))])
def test_conv2d_matches_the_naive_loop(k, stride, padding, size):
    rng = np.random.default_rng(k * 10 + stride)
    conv = with_random_bias(Conv2d(3, 4, k, stride=stride, padding=padding, seed=2))
    x = rng.standard_normal((2, *size, 3)).astype(np.float32)
    expected = naive_conv(x.astype(np.float64), conv.weight.data.astype(np.float64), conv.bias.data, stride, padding)
    out = conv(x).data
    assert out.shape == expected.shape == (2, *conv.output_shape((*size, 3)))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.task("spatial-conv2d")
def test_conv2d_matches_scipy_correlate_summed_over_channels():
    rng = np.random.default_rng(1)
    conv = Conv2d(2, 3, 4, bias=False, seed=5)
    image = rng.standard_normal((12, 10, 2))
    out = conv(image.astype(np.float32)).data
    for o in range(3):
        expected = sum(scipy.signal.correlate(image[..., c], conv.weight.data[..., c, o], mode="valid")
                       for c in range(2))
        np.testing.assert_allclose(out[..., o], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.task("spatial-conv2d")
def test_one_image_gives_one_image_and_float64_stays_float64():
    conv = with_random_bias(Conv2d(3, 2, 3, padding=1))
    x = np.random.default_rng(0).random((4, 8, 8, 3))
    batch = conv(x).data
    np.testing.assert_allclose(conv(x[2]).data, batch[2], rtol=1e-12)
    assert batch.dtype == np.float64 and conv(x.astype(np.float32)).data.dtype == np.float32


def test_im2col_rows_are_patches_in_row_column_channel_order():
    x = np.arange(1 * 4 * 4 * 2, dtype=np.float32).reshape(1, 4, 4, 2)
    cols = im2col(x, 2, stride=2)
    assert cols.shape == (4, 8)
    np.testing.assert_array_equal(cols[1], x[0, 0:2, 2:4, :].ravel())
    assert im2col(x, 3, padding=1).shape == (16, 18)


def test_conv2d_parameters_init_and_repr():
    conv = Conv2d(3, 8, 5, stride=2, padding=2, seed=4)
    assert conv.weight.shape == (5, 5, 3, 8) and conv.weight.dtype == np.float32
    assert [p.shape for p in conv.parameters()] == [(5, 5, 3, 8), (8,)]
    assert Conv2d(3, 8, 5, bias=False).parameters()[0].shape == (5, 5, 3, 8)
    np.testing.assert_array_equal(Conv2d(3, 8, 5, seed=4).weight.data, Conv2d(3, 8, 5, seed=4).weight.data)
    assert abs(conv.weight.data.std() - np.sqrt(2 / 75)) < 0.03
    assert repr(conv) == "Conv2d(3, 8, kernel_size=5, stride=2, padding=2, bias=True)"


@pytest.mark.parametrize("shape,match", [((8, 8), "channels-last"), ((1, 1, 8, 8, 3), "channels-last"),
                                         ((1, 3, 8, 8), "expects 3 channels"), ((2, 2, 3), "smaller than the kernel")])
def test_conv2d_rejects_bad_shapes_naming_them_and_the_fix(shape, match):
    with pytest.raises(ValueError, match=match) as info:
        Conv2d(3, 2, 3)(np.ones(shape, dtype=np.float32))
    assert str(shape).replace(" ", "") in str(info.value).replace(" ", "")


def test_conv2d_rejects_integer_input_and_bad_sizes():
    with pytest.raises(TypeError, match="cast it to float"):
        Conv2d(3, 2, 3)(np.ones((1, 5, 5, 3), dtype=np.int64))
    for kwargs in ({"kernel_size": 0}, {"stride": 0}, {"padding": -1}, {"in_channels": 2.5}, {"out_channels": True}):
        args = {"in_channels": 3, "out_channels": 2, "kernel_size": 3, **kwargs}
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            Conv2d(**args)


@pytest.mark.parametrize("k,stride", [(2, None), (3, 1), (3, 2), (2, 3)])
def test_pools_match_the_naive_loop(k, stride):
    x = np.random.default_rng(k).standard_normal((2, 9, 8, 3)).astype(np.float32)
    step = k if stride is None else stride
    np.testing.assert_array_equal(MaxPool2d(k, stride)(x).data, naive_pool(x, k, step, np.max))
    np.testing.assert_allclose(AvgPool2d(k, stride)(x).data, naive_pool(x, k, step, np.mean), rtol=1e-6, atol=1e-7)


def test_global_pools_and_single_images():
    x = np.random.default_rng(3).standard_normal((3, 6, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(GlobalAvgPool2d()(x).data, x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(GlobalMaxPool2d()(x).data, x.max(axis=(1, 2)))
    assert GlobalMaxPool2d()(x[0]).shape == (4,) and MaxPool2d(2)(x[0]).shape == (3, 2, 4)
    with pytest.raises(ValueError, match="channels-last"):
        GlobalAvgPool2d()(np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        MaxPool2d(4)(np.ones((1, 3, 8, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="kernel_size"):
        AvgPool2d(0)
    assert MaxPool2d(2).parameters() == [] and repr(AvgPool2d(3, 1)) == "AvgPool2d(kernel_size=3, stride=1)"


def test_a_small_cnn_runs_in_sequential_and_reports_its_flops():
    net = Sequential(AvgPool2d(2), Conv2d(3, 4, 3, stride=2, padding=1, seed=1), ReLU(),
                     GlobalMaxPool2d(), Linear(4, 2, seed=2))
    x = np.random.default_rng(0).random((5, 16, 16, 3), dtype=np.float32)
    out = net(x).data
    assert out.shape == (5, 2)
    conv = net.layers[1]
    features = np.maximum(conv(AvgPool2d(2)(x).data).data, 0).max(axis=(1, 2))
    np.testing.assert_allclose(out, features @ net.layers[4].weight.data + net.layers[4].bias.data, rtol=1e-5)
    assert len(net.parameters()) == 4
    # 4 x 4 output positions, each 2*3*3*3*4 multiply-adds plus 4 bias adds.
    assert conv.flops_per_sample((8, 8, 3)) == 16 * (2 * 27 * 4 + 4)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        conv.flops_per_sample((8, 8, 4))
