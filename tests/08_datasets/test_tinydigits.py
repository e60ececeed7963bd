import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.datasets.tinydigits import ATTRIBUTION, DATA_FILE, TinyDigits, load_tinydigits

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE = DATA_FILE.with_suffix(".json")


@pytest.fixture(scope="module")
def digits() -> TinyDigits:
    return load_tinydigits()


def test_shapes_dtypes_and_range(digits):
    assert digits.x_train.shape == (1000, 8, 8) and digits.x_train.dtype == np.float32
    assert digits.y_train.shape == (1000,) and digits.y_train.dtype == np.int64
    assert digits.x_test.shape == (200, 8, 8) and digits.x_test.dtype == np.float32
    assert digits.y_test.shape == (200,) and digits.y_test.dtype == np.int64
    for x in (digits.x_train, digits.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert x.max() == 1.0, "scaled by 16, the brightest pixels are exactly 1"


def test_split_is_balanced(digits):
    assert np.bincount(digits.y_train, minlength=10).tolist() == [100] * 10
    assert np.bincount(digits.y_test, minlength=10).tolist() == [20] * 10


def test_train_and_test_are_labelled_pairs(digits):
    x, y = digits.train
    assert x is digits.x_train and y is digits.y_train
    x, y = digits.test
    assert x is digits.x_test and y is digits.y_test
    assert digits.num_classes == 10
    assert "train=1000" in repr(digits)


def test_frozen_and_read_only(digits):
    with pytest.raises(AttributeError):
        digits.x_train = np.zeros((1000, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="read-only"):
        digits.x_test[0, 0, 0] = 0.5


def test_data_is_sklearn_digits_scaled_and_disjoint(digits):
    from sklearn.datasets import load_digits

    source = load_digits()
    with np.load(DATA_FILE, allow_pickle=False) as archive:
        train_index, test_index = archive["train_index"], archive["test_index"]
    assert not set(train_index.tolist()) & set(test_index.tolist()), "train and test share images"
    np.testing.assert_array_equal(digits.x_train, (source.images[train_index] / 16.0).astype(np.float32))
    np.testing.assert_array_equal(digits.y_train, source.target[train_index])
    np.testing.assert_array_equal(digits.x_test, (source.images[test_index] / 16.0).astype(np.float32))
    np.testing.assert_array_equal(digits.y_test, source.target[test_index])


def test_provenance_records_licence_attribution_seed_and_hash():
    meta = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    assert meta["license"] == "CC BY 4.0"
    assert "Alpaydin" in meta["attribution"] and "Alpaydin" in ATTRIBUTION
    assert isinstance(meta["split"]["seed"], int)
    assert meta["sha256"] == hashlib.sha256(DATA_FILE.read_bytes()).hexdigest()


def test_regenerate_script_reproduces_the_file_byte_for_byte():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_tinydigits.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical" in result.stdout


def test_regenerate_script_writes_identical_bytes_twice(tmp_path):
    script = str(ROOT / "tools" / "make_tinydigits.py")
    for folder in ("a", "b"):
        subprocess.run([sys.executable, script, "--out-dir", str(tmp_path / folder)], check=True,
                       capture_output=True, cwd=ROOT, timeout=120)
    for name in ("tinydigits.npz", "tinydigits.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "tinydigits.npz").read_bytes() == DATA_FILE.read_bytes()


def test_missing_file_names_path_and_fix(tmp_path):
    missing = tmp_path / "gone.npz"
    with pytest.raises(FileNotFoundError, match="make_tinydigits.py") as info:
        load_tinydigits(missing)
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a zip archive at all", DATA_FILE.read_bytes()[:5000]])
def test_corrupt_file_names_path_and_fix(tmp_path, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="corrupt") as info:
        load_tinydigits(bad)
    assert str(bad) in str(info.value) and "make_tinydigits.py" in str(info.value)


def _save_variant(path, **changes):
    data = load_tinydigits()
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}
    arrays.update(changes)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez(path, **arrays)
    return path


def test_missing_array_is_named(tmp_path):
    path = _save_variant(tmp_path / "partial.npz", y_test=None)
    with pytest.raises(ValueError, match=r"lacks the arrays \['y_test'\]"):
        load_tinydigits(path)


@pytest.mark.parametrize("key,value,message", [
    ("x_train", np.zeros((1000, 64), dtype=np.float32), "x_train is"),
    ("y_test", np.zeros(200, dtype=np.int32), "y_test is"),
    ("x_test", np.full((200, 8, 8), 16.0, dtype=np.float32), r"outside \[0, 1\]"),
    ("x_test", np.full((200, 8, 8), np.nan, dtype=np.float32), r"outside \[0, 1\]"),
    ("y_train", np.full(1000, 10, dtype=np.int64), "labels outside 0..9"),
])
def test_malformed_arrays_are_rejected(tmp_path, key, value, message):
    path = _save_variant(tmp_path / "variant.npz", **{key: value})
    with pytest.raises(ValueError, match=message):
        load_tinydigits(path)


def test_pickled_arrays_are_refused(tmp_path):
    path = _save_variant(tmp_path / "pickled.npz", y_test=np.array([object()] * 200, dtype=object))
    with pytest.raises(ValueError, match="corrupt"):
        load_tinydigits(path)
