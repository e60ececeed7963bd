"""TinyMLPerf's data container and cache (tinytorch.datasets.task_data), and image classification."""
import json

import numpy as np
import pytest

from tinytorch.datasets import task_data


def test_cache_dir_follows_the_documented_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert task_data.cache_dir() == tmp_path / "explicit" / "tinymlperf"
    monkeypatch.delenv("TINYTORCH_CACHE")
    assert task_data.cache_dir() == tmp_path / "xdg" / "tinytorch" / "tinymlperf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert task_data.cache_dir() == tmp_path / "home" / ".cache" / "tinytorch" / "tinymlperf"


def test_unwritable_cache_folder_falls_back_to_a_temporary_folder_with_a_warning(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    with pytest.warns(RuntimeWarning, match="cannot be written"):
        folder = task_data.cache_dir(blocker / "cache")
    assert folder.is_dir() and not str(folder).startswith(str(blocker))


def test_corrupt_cache_file_is_rebuilt_with_a_warning(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(4.0)}, {"source": "test"}

    _, first = task_data.cached_arrays("thing", build, tmp_path)
    folder = tmp_path / "tinymlperf"
    for damage in (lambda: (folder / "thing.npz").write_bytes(b"garbage"),
                   lambda: (folder / "thing.json").write_text("{not json"),
                   lambda: (folder / "thing.json").write_text(json.dumps({"sha256": "0" * 64}))):
        damage()
        with pytest.warns(RuntimeWarning, match="rebuilding"):
            arrays, metadata = task_data.cached_arrays("thing", build, tmp_path)
        assert metadata["cache"] == "rebuilt" and metadata["sha256"] == first["sha256"]
        np.testing.assert_array_equal(arrays["x"], np.arange(4.0))
    assert len(calls) == 4
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")], "atomic writes leave no temporary files"


def test_image_classification_is_real_tinydigits():
    data = task_data.make_image_classification("full")
    assert data.x_train.shape == (1000, 8, 8) and data.x_test.shape == (200, 8, 8)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_test.min() and data.x_test.max() <= 1
    assert data.metadata["real_data"] is True and "CC BY 4.0" in data.metadata["licence"]
    assert data.metadata["test_balance"] == {str(c): 20 for c in range(10)}
    assert task_data.make_image_classification("small").x_test.shape == (100, 8, 8)
