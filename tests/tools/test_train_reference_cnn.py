"""tools/train_reference_cnn.py: the CNN's backward pass, col2im, deterministic training on the one Adam loop."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.spatial import im2col

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_reference_cnn.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("train_reference_cnn", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_recipe(tool):
    return {**tool.VWW_CNN_RECIPE, "convs": [[4, 3, 2, 1], [6, 3, 1, 1]], "epochs": 2, "batch_size": 4}


def _loss(tool, params, convs, x, y):
    logits, _ = tool.cnn_forward(params, convs, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return float(-(shifted[np.arange(len(y)), y] - np.log(np.exp(shifted).sum(axis=1))).mean())


def test_cnn_backward_pass_matches_numerical_gradients(tool):
    rng = np.random.default_rng(0)
    convs = [[3, 3, 2, 1], [4, 3, 1, 1]]
    params = [p.astype(np.float64) for p in tool.cnn_init(rng, convs, 2)]
    x, y = rng.random((3, 9, 9, 3)), np.array([0, 1, 1])
    grads = tool.cnn_gradients(params, convs, x, y)
    for param, grad in zip(params, grads):
        numerical = np.zeros_like(param)
        flat, out = param.reshape(-1), numerical.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + 1e-6
            up = _loss(tool, params, convs, x, y)
            flat[j] = old - 1e-6
            down = _loss(tool, params, convs, x, y)
            flat[j] = old
            out[j] = (up - down) / 2e-6
        np.testing.assert_allclose(grad, numerical, atol=1e-6)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (3, 1, 1), (2, 2, 0), (5, 3, 2)])
def test_col2im_is_the_adjoint_of_im2col(tool, kernel, stride, padding):
    rng = np.random.default_rng(kernel + stride)
    x = rng.standard_normal((2, 9, 8, 3))
    cols = im2col(x, kernel, stride, padding)
    other = rng.standard_normal(cols.shape)
    back = tool.col2im(other, x.shape, kernel, stride, padding)
    assert back.shape == x.shape
    np.testing.assert_allclose((cols * other).sum(), (x * back).sum(), rtol=1e-10)


def test_cnn_training_is_deterministic_and_its_model_matches_the_training_forward(tool, tiny_recipe):
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 12, 12, 3), dtype=np.float32), np.array([0, 1] * 4)
    first = tool.train_vww_cnn(x, y, tiny_recipe, seed=3)
    second = tool.train_vww_cnn(x, y, tiny_recipe, seed=3)
    for a, b in zip(first, second):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    model = tool.vww_cnn_model(first, tiny_recipe, "tiny")
    images = rng.random((2, 24, 24, 3), dtype=np.float32)
    pooled = images.reshape(2, 12, 2, 12, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(model(images).data, tool.cnn_forward(first, tiny_recipe["convs"], pooled)[0], rtol=1e-5)


def test_training_leaves_the_global_random_state_alone(tool, tiny_recipe):
    state = np.random.get_state()[1].copy()
    tool.train_vww_cnn(np.ones((4, 8, 8, 3), dtype=np.float32), np.array([0, 1, 0, 1]), tiny_recipe, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_an_input_offset_needs_an_unpadded_first_convolution(tool, tiny_recipe):
    from tinytorch.datasets.task_data import TaskData
    data = TaskData("visual_wake_words", np.zeros((2, 8, 8, 3), np.float32), np.array([0, 1]),
                    np.zeros((2, 8, 8, 3), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="padding 0"):
        tool.fit_vww_cnn(data, seed=0, recipe={**tiny_recipe, "input_offset": 0.5})
