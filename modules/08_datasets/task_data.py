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
# # TinyMLPerf's data: the task container and its cache
#
# Provided code (no exercises) for Module 18's standard tasks. Three of the four TinyMLPerf data sets
# are generated (`keywords`, `machine_sounds`, `wake_words` beside this file); this file holds what they
# share: `TaskData`, the container every task's data comes in, and the cache that keeps generated
# arrays between runs. The fourth data set, image classification, is TinyDigits itself (real data).

# %%
#| default_exp datasets.task_data
#| export
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from tinytorch.utils.files import write_bytes_atomic

# %% [markdown]
# ## A cache for generated data
#
# Generation is seeded and takes seconds, but a cache
# saves even that: arrays go to an `.npz` (never pickle) and their provenance to a `.json` beside it,
# under `$TINYTORCH_CACHE`, else `$XDG_CACHE_HOME/tinytorch`, else `~/.cache/tinytorch`. A folder
# that cannot be written falls back to a temporary folder with a warning; a cache file that cannot
# be read, or whose content does not match its recorded hash, is rebuilt with a warning.
# Files are written to a temporary name and renamed, so a crash never leaves half a file.

# %%
#| export
DATA_FORMAT_VERSION = 1
DATA_SEED = 20240601
SIZES = ("full", "small")


def _default_cache_root() -> Path:
    if os.environ.get("TINYTORCH_CACHE"):
        return Path(os.environ["TINYTORCH_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "tinytorch"
    return Path.home() / ".cache" / "tinytorch"


def _is_writable_folder(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True


def cache_dir(root: str | Path | None = None) -> Path:
    """The folder where TinyMLPerf keeps generated data, created if needed.

    Args:
        root: the cache root; by default `$TINYTORCH_CACHE`, else `$XDG_CACHE_HOME/tinytorch`,
            else `~/.cache/tinytorch`.

    Returns:
        `<root>/tinymlperf`, or a folder under the system's temporary folder (with a warning)
        when that one cannot be written.
    """
    folder = (Path(root) if root is not None else _default_cache_root()) / "tinymlperf"
    if _is_writable_folder(folder):
        return folder
    fallback = Path(tempfile.gettempdir()) / f"tinytorch-cache-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / "tinymlperf"
    fallback.mkdir(parents=True, exist_ok=True)
    warnings.warn(f"cache folder {folder} cannot be written; using {fallback} instead "
                  f"(set TINYTORCH_CACHE to a writable folder to keep the data)", RuntimeWarning, stacklevel=2)
    return fallback


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """A hash of named arrays (names, dtypes, shapes and bytes), independent of file format."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read_cached(npz_path: Path, json_path: Path) -> tuple[dict[str, np.ndarray], dict]:
    metadata = json.loads(json_path.read_text())
    with np.load(npz_path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if arrays_sha256(arrays) != metadata.get("sha256"):
        raise ValueError(f"{npz_path} does not match the sha256 recorded in {json_path}")
    return arrays, metadata


def cached_arrays(key: str, build: Callable[[], tuple[dict[str, np.ndarray], dict]],
                  root: str | Path | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Load `key` from the cache, or build it with `build()` and store it.

    Args:
        key: file stem, unique per generator, size, seed and format version.
        build: returns `(arrays, metadata)`; `sha256` and `generation_seconds` are added to the metadata.
        root: the cache root (see `cache_dir`).

    Returns:
        `(arrays, metadata)`; `metadata["cache"]` says whether it was `hit`, `built` or `rebuilt`.
    """
    folder = cache_dir(root)
    npz_path, json_path = folder / f"{key}.npz", folder / f"{key}.json"
    status = "built"
    if npz_path.exists() or json_path.exists():
        try:
            arrays, metadata = _read_cached(npz_path, json_path)
            return arrays, {**metadata, "cache": "hit", "cache_path": str(npz_path)}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as error:
            warnings.warn(f"cache file {npz_path} is unreadable or corrupt ({type(error).__name__}: {error}); "
                          f"rebuilding it", RuntimeWarning, stacklevel=2)
            status = "rebuilt"
    start = time.perf_counter()
    arrays, metadata = build()
    metadata = {**metadata, "sha256": arrays_sha256(arrays),
                "generation_seconds": round(time.perf_counter() - start, 3), "format_version": DATA_FORMAT_VERSION}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(npz_path, buffer.getvalue())
    write_bytes_atomic(json_path, (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode())
    return arrays, {**metadata, "cache": status, "cache_path": str(npz_path)}

# %% [markdown]
# ## The data sets
#
# Every generator returns a `TaskData`: train and test arrays, and metadata that records where the
# data comes from, its licence, its sizes, its class balance and the sha256 of its arrays.
#
# ### Image classification: TinyDigits (real)
# TinyDigits is `sklearn.datasets.load_digits` (UCI Optical Recognition of Handwritten Digits,
# Alpaydin and Kaynak 1998, CC BY 4.0), 8x8 greyscale digits scaled to [0, 1], a balanced seeded
# split of 1000 train and 200 test images, shipped with `tinytorch.datasets`. It stands in for
# CIFAR-10 at a size a numpy MLP trains on in a second.

# %%
#| export
@dataclass(frozen=True, eq=False)
class TaskData:
    """Train and test arrays of one TinyMLPerf task, with their provenance.

    Attributes:
        task: the task's name.
        x_train, y_train, x_test, y_test: the arrays (for anomaly detection, `y_train` is all 0:
            the model learns from normal sounds only, and `y_test` is 1 for an anomaly).
        metadata: provenance, licence, sizes, class balance, generation time and `sha256`.
        extras: further arrays (anomaly detection: `test_fault`, `test_severity`).
    """

    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    metadata: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the data set, the four splits and any extras (e.g. the fault of each test clip)."""
        return {"x_train": self.x_train, "y_train": self.y_train, "x_test": self.x_test, "y_test": self.y_test,
                **self.extras}

    def sha256(self) -> str:
        """The sha256 of all the arrays (see `arrays_sha256`); equals `metadata["sha256"]`."""
        return arrays_sha256(self.arrays)

    def __repr__(self) -> str:
        return (f"TaskData({self.task!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
                f"sha256={self.sha256()[:12]})")


def class_balance(labels: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(labels, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}


def make_task_data(task: str, arrays: dict[str, np.ndarray], metadata: dict) -> TaskData:
    metadata = {**metadata, "train_size": int(len(arrays["y_train"])), "test_size": int(len(arrays["y_test"])),
                "train_balance": class_balance(arrays["y_train"]), "test_balance": class_balance(arrays["y_test"])}
    splits = ("x_train", "y_train", "x_test", "y_test")
    extras = {name: array for name, array in arrays.items() if name not in splits}
    return TaskData(task, *(arrays[name] for name in splits), metadata=metadata, extras=extras)


def check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")


def make_image_classification(size: str = "full", seed: int = DATA_SEED, cache_root: str | Path | None = None) -> TaskData:
    """TinyDigits (real handwritten digits) as the image-classification task.

    `size="small"` keeps the first 300 train and 100 test images. `seed` and `cache_root` are accepted
    for a uniform signature; TinyDigits is shipped, not generated.
    """
    check_size(size)
    start = time.perf_counter()
    from tinytorch.datasets.tinydigits import ATTRIBUTION, load_tinydigits

    digits = load_tinydigits()
    keep_train, keep_test = (1000, 200) if size == "full" else (300, 100)
    arrays = {"x_train": np.array(digits.x_train[:keep_train], dtype=np.float32),
              "y_train": np.array(digits.y_train[:keep_train], dtype=np.int64),
              "x_test": np.array(digits.x_test[:keep_test], dtype=np.float32),
              "y_test": np.array(digits.y_test[:keep_test], dtype=np.int64)}
    metadata = {"name": "TinyDigits", "stand_in_for": "CIFAR-10", "real_data": True, "size": size,
                "provenance": "sklearn.datasets.load_digits, the UCI Optical Recognition of Handwritten Digits "
                              "test set; balanced seeded 1000/200 split shipped in tinytorch.datasets",
                "licence": "CC BY 4.0; " + ATTRIBUTION, "sha256": arrays_sha256(arrays),
                "generation_seconds": round(time.perf_counter() - start, 3), "cache": "shipped"}
    return make_task_data("image_classification", arrays, metadata)

