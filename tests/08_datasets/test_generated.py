"""The generated data of anomaly detection and visual wake words: shapes, balance, provenance, reproducibility."""
import numpy as np
import pytest

from tinytorch.datasets.machine_sounds import make_anomaly_detection
from tinytorch.datasets.wake_words import make_visual_wake_words


def test_anomaly_detection_trains_on_normal_and_tests_half_faulty(small):
    data = small("anomaly_detection")
    assert data.x_train.shape[1:] == (640,) and data.x_test.shape[1:] == (640,)
    assert (data.y_train == 0).all()
    assert data.y_test.mean() == 0.5
    faults = data.extras["test_fault"]
    assert np.array_equal(faults > 0, data.y_test == 1)
    assert len(set(np.bincount(faults[faults > 0])[1:])) == 1, "the four faults equally often"
    severity = data.extras["test_severity"][data.y_test == 1]
    assert 0.1 <= severity.min() and severity.max() <= 1.0


def test_visual_wake_words_shapes_balance_and_disjoint_sources(small):
    data = small("visual_wake_words")
    assert data.x_train.shape[1:] == (96, 96, 3) and data.x_test.dtype == np.float32
    assert 0 <= data.x_test.min() and data.x_test.max() <= 1
    assert data.y_test.mean() == 0.5
    sources = data.metadata["provenance"]
    assert not set(sources["train_backgrounds"]) & set(sources["test_backgrounds"])
    assert "drawn human figure" in data.metadata["person_means"]


@pytest.mark.slow
@pytest.mark.parametrize("task, make", [("anomaly_detection", make_anomaly_detection),
                                        ("visual_wake_words", make_visual_wake_words)])
def test_generating_twice_gives_identical_bytes(small, task, make, tmp_path):
    first = small(task)  # built once for the session
    again = make("small", cache_root=tmp_path)  # built afresh in an empty cache
    assert again.metadata["cache"] == "built"
    assert again.sha256() == first.sha256() == first.metadata["sha256"]
    for name, array in first.arrays.items():
        np.testing.assert_array_equal(array, again.arrays[name])


def test_another_seed_gives_other_data(small, tmp_path):
    other = make_anomaly_detection("small", seed=7, cache_root=tmp_path)
    assert other.sha256() != small("anomaly_detection").sha256()


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="size must be one of"):
        make_anomaly_detection("huge")
