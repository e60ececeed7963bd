"""The reference models: deterministic training, the shipped VWW CNN as the reference at every seed."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tinytorch.benchmarking import references as refs
from tinytorch.benchmarking import tinymlperf as tm
from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential
from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalMaxPool2d
from tinytorch.datasets.task_data import DATA_FORMAT_VERSION, DATA_SEED
from tinytorch.datasets.wake_words import make_visual_wake_words
from tinytorch.models.zoo import WEIGHTS_DIR

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_reference_cnn.py"


def test_reference_models_are_plain_sequentials_and_deterministic(bench, tmp_path):
    model = bench.reference_model("anomaly_detection")
    assert isinstance(model, Sequential) and isinstance(model.layers[0], Flatten)
    assert all(isinstance(layer, (Flatten, Linear, ReLU)) for layer in model.layers)
    data = bench.load_data("anomaly_detection")
    again = refs.sequential_from(refs.fit_reference("anomaly_detection", data, seed=bench.data_seed % 2**31)[0], "again")
    for a, b in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_training_leaves_the_global_random_state_alone(bench):
    state = np.random.get_state()[1].copy()
    refs._train_network(np.ones((8, 3)), np.zeros(8, dtype=np.int64), (4,), 2, "cross_entropy", 2, 0.01, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_visual_wake_words_reference_is_the_shipped_cnn(bench):
    model = bench.reference_model("visual_wake_words")
    assert model.name == "reference_visual_wake_words"
    kinds = [type(layer) for layer in model.layers]
    assert kinds[0] is AvgPool2d and Conv2d in kinds and kinds[-2:] == [GlobalMaxPool2d, Linear]
    result = bench.run_standard_benchmark(model, "visual_wake_words", num_runs=3)
    assert result["accuracy"] >= 0.75  # 120 small test images from the held-out test backgrounds


def test_another_data_seed_keeps_the_shipped_cnn_as_its_reference(cache_root):
    bench = tm.TinyMLPerf(data_size="small", cache_root=cache_root, data_seed=7)
    model = bench.reference_model("visual_wake_words")
    shipped = tm.TinyMLPerf(data_size="small", cache_root=cache_root).reference_model("visual_wake_words")
    for a, b in zip(model.parameters(), shipped.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_weights_trained_on_other_data_are_refused_with_the_fix(bench, monkeypatch, tmp_path):
    data = bench.load_data("visual_wake_words")
    metadata = json.loads((WEIGHTS_DIR / f"{refs.VWW_CNN_WEIGHTS}.json").read_text())["metadata"]
    monkeypatch.setattr(refs, "DATA_FORMAT_VERSION", DATA_FORMAT_VERSION + 1)
    with pytest.raises(RuntimeError, match="tools/train_reference_cnn.py"):
        refs.shipped_vww_cnn(data, "small", DATA_SEED)
    monkeypatch.setattr(refs, "DATA_FORMAT_VERSION", DATA_FORMAT_VERSION)
    with pytest.raises(RuntimeError, match="retrain"):  # the data it says it was trained on, but other images
        refs.shipped_vww_cnn(data, metadata["data_size"], metadata["data_seed"])


@pytest.mark.slow
def test_shipped_cnn_was_trained_on_the_data_generated_today(tmp_path):
    metadata = json.loads((WEIGHTS_DIR / f"{refs.VWW_CNN_WEIGHTS}.json").read_text())["metadata"]
    spec = importlib.util.spec_from_file_location("train_reference_cnn", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert metadata["recipe"] == tool.VWW_CNN_RECIPE and metadata["data_seed"] == DATA_SEED
    assert metadata["data_format_version"] == DATA_FORMAT_VERSION and metadata["data_size"] == "full"
    data = make_visual_wake_words("full", cache_root=tmp_path)  # generated afresh (about 15 s)
    assert data.metadata["cache"] == "built"
    assert metadata["training_data_sha256"] == data.sha256()
