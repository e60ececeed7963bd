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
# # Module 08: Datasets (TinyDigits)
#
# A benchmark that reports accuracy needs real labelled data, and it must be the same data on every
# machine and every day. TinyDigits is that data for this course: small enough to ship inside the
# package, real enough that accuracy means something.
#
# **Where it comes from.** The images are the test set of the UCI *Optical Recognition of Handwritten
# Digits* data (Alpaydin and Kaynak, 1998), the copy that scikit-learn bundles as `load_digits`: 1797
# handwritten digits, each an 8x8 grid whose pixels count the inked points (0..16) of a 4x4 block of a
# 32x32 bitmap. The data is licensed CC BY 4.0; attribution: *Alpaydin, E. and Kaynak, C. (1998).
# Optical Recognition of Handwritten Digits. UCI Machine Learning Repository.*
#
# **What was changed.** Pixels are divided by 16 (so they lie in [0, 1]) and stored as `float32`. A
# seeded draw picks 100 training and 20 test images of every digit, disjoint: 1000 / 200 images, every
# class equally represented, so a model that always answers "7" scores exactly 10%.
#
# **How it ships.** One uncompressed `.npz` (NumPy's zip of `.npy` arrays; no pickle, so loading it
# cannot run code) and a JSON file with the provenance and the archive's sha256. The script
# `tools/make_tinydigits.py` rebuilds the archive byte for byte from scikit-learn's copy.
#
# | field | shape, dtype | meaning |
# |---|---|---|
# | `x_train` | (1000, 8, 8) float32 | training images in [0, 1] |
# | `y_train` | (1000,) int64 | their digits 0..9 |
# | `x_test` | (200, 8, 8) float32 | test images |
# | `y_test` | (200,) int64 | their digits |

# %% nbgrader={"grade": false, "grade_id": "datasets-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp datasets.tinydigits
#| export
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinytorch

# %% [markdown]
# ## The data set object
#
# `TinyDigits` is a frozen dataclass and its arrays are read-only: a benchmark cannot modify the test
# set by accident and then report accuracy on something else. `train` and `test` give `(x, y)` pairs,
# the labelled-data form the benchmarks accept directly.

# %% nbgrader={"grade": false, "grade_id": "datasets-class", "locked": false, "schema_version": 3, "solution": false}
#| export
DATA_FILE = Path(tinytorch.__file__).resolve().parent / "datasets" / "data" / "tinydigits.npz"
REGENERATE_HINT = "regenerate it with `python tools/make_tinydigits.py` from the repository root"
ATTRIBUTION = ("Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits. "
               "UCI Machine Learning Repository (CC BY 4.0).")
IMAGE_SHAPE = (8, 8)
NUM_CLASSES = 10


@dataclass(frozen=True, eq=False)
class TinyDigits:
    """TinyDigits: 1000 training and 200 test images of handwritten digits, 8x8, in [0, 1].

    Attributes:
        x_train: training images, (1000, 8, 8) float32.
        y_train: training labels 0..9, (1000,) int64.
        x_test: test images, (200, 8, 8) float32.
        y_test: test labels 0..9, (200,) int64.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """The training set as an `(images, labels)` pair."""
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The test set as an `(images, labels)` pair."""
        return self.x_test, self.y_test

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES

    def __repr__(self) -> str:
        return f"TinyDigits(train={len(self.y_train)}, test={len(self.y_test)}, image_shape={IMAGE_SHAPE})"

# %% [markdown]
# ## Loading, and failing clearly
#
# A data file can be missing (a package built without its data files) or damaged (a truncated
# download, a merge conflict in a binary file). Either way, the loader must say *which* file and *how
# to fix it*, instead of a `KeyError` from deep inside NumPy. Every array is checked for its shape,
# dtype and value range before anyone computes an accuracy from it.

# %% nbgrader={"grade": false, "grade_id": "datasets-load", "locked": false, "schema_version": 3, "solution": false}
#| export
_EXPECTED = {
    "x_train": ((1000, *IMAGE_SHAPE), np.float32),
    "y_train": ((1000,), np.int64),
    "x_test": ((200, *IMAGE_SHAPE), np.float32),
    "y_test": ((200,), np.int64),
}


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"TinyDigits data file {path} does not exist; {REGENERATE_HINT}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in _EXPECTED if key in archive.files}
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
        # np.load raises ValueError for pickled object arrays and malformed .npy headers.
        raise ValueError(f"TinyDigits data file {path} is corrupt or not an .npz archive "
                         f"({type(error).__name__}: {error}); {REGENERATE_HINT}") from error
    missing = [key for key in _EXPECTED if key not in arrays]
    if missing:
        raise ValueError(f"TinyDigits data file {path} lacks the arrays {missing}; {REGENERATE_HINT}")
    return arrays


def _check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    for key, (shape, dtype) in _EXPECTED.items():
        array = arrays[key]
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(f"TinyDigits data file {path}: {key} is {array.shape} {array.dtype}, expected "
                             f"{shape} {np.dtype(dtype)}; {REGENERATE_HINT}")
    for key in ("x_train", "x_test"):
        if not (np.isfinite(arrays[key]).all() and arrays[key].min() >= 0 and arrays[key].max() <= 1):
            raise ValueError(f"TinyDigits data file {path}: {key} has values outside [0, 1]; {REGENERATE_HINT}")
    for key in ("y_train", "y_test"):
        if arrays[key].min() < 0 or arrays[key].max() >= NUM_CLASSES:
            raise ValueError(f"TinyDigits data file {path}: {key} has labels outside 0..9; {REGENERATE_HINT}")


def load_tinydigits(path: str | Path | None = None) -> TinyDigits:
    """Load TinyDigits from the `.npz` shipped in the package (offline, no pickle).

    Args:
        path: another TinyDigits archive to read; by default the one shipped with tinytorch.

    Returns:
        A `TinyDigits` whose arrays are read-only.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a valid TinyDigits archive (corrupt, arrays missing or malformed).
    """
    path = DATA_FILE if path is None else Path(path)
    arrays = _read_arrays(path)
    _check_arrays(path, arrays)
    for array in arrays.values():
        array.setflags(write=False)
    return TinyDigits(**arrays)

# %% [markdown]
# A look at the data: the class balance, the value range, and one image drawn as text (darker
# characters for more ink).

# %% nbgrader={"grade": false, "grade_id": "datasets-demo", "locked": false, "schema_version": 3, "solution": false}
digits = load_tinydigits()
print(digits)
print("train images per digit:", np.bincount(digits.y_train, minlength=10))
print("test images per digit: ", np.bincount(digits.y_test, minlength=10))
print(f"pixel range: [{digits.x_train.min():.2f}, {digits.x_train.max():.2f}]")
shades = " .:-=+*#%@"
print(f"the first training image, a {digits.y_train[0]}:")
for row in digits.x_train[0]:
    print("".join(shades[int(round(value * (len(shades) - 1)))] * 2 for value in row))

# %% nbgrader={"grade": false, "grade_id": "datasets-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_tinydigits():
    data = load_tinydigits()
    x, y = data.train
    assert x.shape == (1000, 8, 8) and x.dtype == np.float32 and y.shape == (1000,) and y.dtype == np.int64
    assert data.test[0].shape == (200, 8, 8) and data.test[1].shape == (200,)
    assert np.bincount(y, minlength=10).tolist() == [100] * 10
    assert np.bincount(data.y_test, minlength=10).tolist() == [20] * 10
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert not x.flags.writeable, "the arrays are read-only"
    try:
        load_tinydigits("no/such/tinydigits.npz")
    except FileNotFoundError as error:
        assert "make_tinydigits" in str(error)
    else:
        raise AssertionError("a missing file must raise FileNotFoundError")


test_unit_tinydigits()
print("TinyDigits tests passed")

# %% [markdown]
# ## The generated data sets of TinyMLPerf
#
# Module 18's standard tasks need three more labelled data sets, which this module makes (provided
# code, in the sources beside this notebook): `task_data` (the `TaskData` container and the cache that
# keeps generated arrays under `$TINYTORCH_CACHE`), `audio` (the mel filterbank), `keywords` (spoken
# keywords voiced by espeak-ng), `machine_sounds` (machine sounds with injected faults) and
# `wake_words` (drawn figures on sample photos). Each file documents where its data comes from and its
# licence; Module 18 describes the tasks they serve.
