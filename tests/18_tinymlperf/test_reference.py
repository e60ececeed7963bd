"""The reference models: deterministic training, the CNN's backward pass, the shipped VWW weights."""
import json

import numpy as np
import pytest

from tinytorch.benchmarking import tinymlperf as tm
from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential
from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalMaxPool2d, im2col
from tinytorch.models.zoo import WEIGHTS_DIR


def test_reference_models_are_plain_sequentials_and_deterministic(bench, tmp_path):
    model = bench.reference_model("anomaly_detection")
    assert isinstance(model, Sequential) and isinstance(model.layers[0], Flatten)
    assert all(isinstance(layer, (Flatten, Linear, ReLU)) for layer in model.layers)
    data = bench.load_data("anomaly_detection")
    again = tm._sequential_from(tm._fit_reference("anomaly_detection", data, seed=bench.data_seed % 2**31)[0], "again")
    for a, b in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_training_leaves_the_global_random_state_alone(bench):
    state = np.random.get_state()[1].copy()
    tm._train_network(np.ones((8, 3)), np.zeros(8, dtype=np.int64), (4,), 2, "cross_entropy", 2, 0.01, 0)
    tm._train_vww_cnn(np.ones((4, 8, 8, 3), dtype=np.float32), np.array([0, 1, 0, 1]), TINY_RECIPE, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


TINY_RECIPE = {**tm.VWW_CNN_RECIPE, "convs": [[4, 3, 2, 1], [6, 3, 1, 1]], "epochs": 2, "batch_size": 4}


def _loss(params, convs, x, y):
    logits, _ = tm._cnn_forward(params, convs, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return float(-(shifted[np.arange(len(y)), y] - np.log(np.exp(shifted).sum(axis=1))).mean())


def test_cnn_backward_pass_matches_numerical_gradients():
    rng = np.random.default_rng(0)
    convs = [[3, 3, 2, 1], [4, 3, 1, 1]]
    params = [p.astype(np.float64) for p in tm._cnn_init(rng, convs, 2)]
    x, y = rng.random((3, 9, 9, 3)), np.array([0, 1, 1])
    grads = tm._cnn_gradients(params, convs, x, y)
    for param, grad in zip(params, grads):
        numerical = np.zeros_like(param)
        flat, out = param.reshape(-1), numerical.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + 1e-6
            up = _loss(params, convs, x, y)
            flat[j] = old - 1e-6
            down = _loss(params, convs, x, y)
            flat[j] = old
            out[j] = (up - down) / 2e-6
        np.testing.assert_allclose(grad, numerical, atol=1e-6)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (3, 1, 1), (2, 2, 0), (5, 3, 2)])
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, padding):
    rng = np.random.default_rng(kernel + stride)
    x = rng.standard_normal((2, 9, 8, 3))
    cols = im2col(x, kernel, stride, padding)
    other = rng.standard_normal(cols.shape)
    back = tm._col2im(other, x.shape, kernel, stride, padding)
    assert back.shape == x.shape
    np.testing.assert_allclose((cols * other).sum(), (x * back).sum(), rtol=1e-10)


def test_cnn_training_is_deterministic_and_its_model_matches_the_training_forward():
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 12, 12, 3), dtype=np.float32), np.array([0, 1] * 4)
    first = tm._train_vww_cnn(x, y, TINY_RECIPE, seed=3)
    second = tm._train_vww_cnn(x, y, TINY_RECIPE, seed=3)
    for a, b in zip(first, second):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    model = tm._vww_cnn_model(first, TINY_RECIPE, "tiny")
    images = rng.random((2, 24, 24, 3), dtype=np.float32)
    pooled = images.reshape(2, 12, 2, 12, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(model(images).data, tm._cnn_forward(first, TINY_RECIPE["convs"], pooled)[0], rtol=1e-5)


def test_visual_wake_words_reference_is_the_shipped_cnn(bench):
    model = bench.reference_model("visual_wake_words")
    assert model.name == "reference_visual_wake_words"
    kinds = [type(layer) for layer in model.layers]
    assert kinds[0] is AvgPool2d and Conv2d in kinds and kinds[-2:] == [GlobalMaxPool2d, Linear]
    result = bench.run_standard_benchmark(model, "visual_wake_words", num_runs=3)
    assert result["accuracy"] >= 0.75  # 120 small test images from the held-out test backgrounds


def test_another_data_seed_trains_its_own_cnn_and_caches_it(cache_root, monkeypatch):
    monkeypatch.setattr(tm, "VWW_CNN_RECIPE", {**TINY_RECIPE, "batch_size": 64, "epochs": 1})
    bench = tm.TinyMLPerf(data_size="small", cache_root=cache_root, data_seed=7)
    model = bench.reference_model("visual_wake_words")
    assert [layer.out_channels for layer in model.layers if isinstance(layer, Conv2d)] == [4, 6]
    cached = bench.reference_model("visual_wake_words")
    for a, b in zip(model.parameters(), cached.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.slow
def test_shipped_cnn_was_trained_on_the_data_generated_today(tmp_path):
    metadata = json.loads((WEIGHTS_DIR / f"{tm.VWW_CNN_WEIGHTS}.json").read_text())["metadata"]
    assert metadata["recipe"] == tm.VWW_CNN_RECIPE and metadata["data_seed"] == tm.DATA_SEED
    assert metadata["data_format_version"] == tm.DATA_FORMAT_VERSION and metadata["data_size"] == "full"
    data = tm.make_visual_wake_words("full", cache_root=tmp_path)  # generated afresh (about 15 s)
    assert data.metadata["cache"] == "built"
    assert metadata["training_data_sha256"] == data.sha256()
