"""Regenerate TinyDigits, the small labelled image data set the benchmarks use, byte for byte.

TinyDigits is scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" test set
(1797 images of 8x8 pixels, values 0..16, CC BY 4.0), scaled to [0, 1] and split with a seeded,
balanced draw: 100 training and 20 test images per digit, disjoint. The arrays are written with
`np.savez` (uncompressed, so the bytes do not depend on the zlib version; the zip entries carry a
fixed date), and a JSON file beside them records the provenance and the archive's sha256.

Usage (from the repository root):
    python tools/make_tinydigits.py            # writes tinytorch/datasets/data/tinydigits.{npz,json}
    python tools/make_tinydigits.py --check    # rebuilds in memory; exit 1 if the shipped file differs
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

from tinytorch.utils.files import write_bytes_atomic

SPLIT_SEED = 20240919
TRAIN_PER_CLASS = 100
TEST_PER_CLASS = 20
NUM_CLASSES = 10
PIXEL_MAX = 16.0  # load_digits pixels are counts 0..16 of a 4x4 block of the 32x32 bitmap
DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "tinytorch" / "datasets" / "data"
STEM = "tinydigits"


def balanced_split(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a balanced, disjoint split: TRAIN_PER_CLASS and TEST_PER_CLASS per class, shuffled."""
    train, test = [], []
    for digit in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        if len(members) < TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise ValueError(f"digit {digit} has only {len(members)} images; need {TRAIN_PER_CLASS + TEST_PER_CLASS}")
        train.append(members[:TRAIN_PER_CLASS])
        test.append(members[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    # Shuffle across classes so that a minibatch taken in file order is not one digit.
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def build_arrays(seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """The arrays of TinyDigits, from scikit-learn's bundled copy of the data (no download)."""
    from sklearn.datasets import load_digits  # dev dependency; only this script needs it

    digits = load_digits()
    images = (digits.images / PIXEL_MAX).astype(np.float32)
    labels = digits.target.astype(np.int64)
    train_index, test_index = balanced_split(labels, np.random.default_rng(seed))
    return {
        "x_train": images[train_index],
        "y_train": labels[train_index],
        "x_test": images[test_index],
        "y_test": labels[test_index],
        # Row numbers in sklearn's load_digits(), so anyone can trace each image to its source.
        "train_index": train_index.astype(np.int64),
        "test_index": test_index.astype(np.int64),
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def provenance(seed: int, sha256: str) -> dict:
    import sklearn

    return {
        "name": "TinyDigits",
        "file": f"{STEM}.npz",
        "sha256": sha256,
        "source": "UCI Machine Learning Repository: Optical Recognition of Handwritten Digits, its test "
                  "set of 1797 images (the copy bundled with scikit-learn as sklearn.datasets.load_digits)",
        "source_url": "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
        "license": "CC BY 4.0",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "attribution": "Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits. "
                       "UCI Machine Learning Repository. "
                       "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
        "changes": "pixel values 0..16 divided by 16 and stored as float32; a balanced subset of "
                   f"{TRAIN_PER_CLASS} training and {TEST_PER_CLASS} test images per digit",
        "split": {"seed": seed, "generator": "numpy.random.default_rng", "train_per_class": TRAIN_PER_CLASS,
                  "test_per_class": TEST_PER_CLASS, "disjoint": True},
        "arrays": {"x_train": "(1000, 8, 8) float32 in [0, 1]", "y_train": "(1000,) int64 digit 0..9",
                   "x_test": "(200, 8, 8) float32 in [0, 1]", "y_test": "(200,) int64 digit 0..9",
                   "train_index": "(1000,) int64 row in load_digits()",
                   "test_index": "(200,) int64 row in load_digits()"},
        "generated_by": "tools/make_tinydigits.py",
        "generated_with": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--seed", type=int, default=SPLIT_SEED)
    parser.add_argument("--check", action="store_true", help="compare with the file on disk; write nothing")
    args = parser.parse_args(argv)

    data = npz_bytes(build_arrays(args.seed))
    digest = hashlib.sha256(data).hexdigest()
    npz_path = args.out_dir / f"{STEM}.npz"
    if args.check:
        on_disk = hashlib.sha256(npz_path.read_bytes()).hexdigest() if npz_path.is_file() else "(missing)"
        same = on_disk == digest
        print(f"{npz_path}: {'identical' if same else 'DIFFERS'} (rebuilt {digest}, on disk {on_disk})")
        return 0 if same else 1
    write_bytes_atomic(npz_path, data)
    meta = json.dumps(provenance(args.seed, digest), indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(args.out_dir / f"{STEM}.json", meta.encode("utf-8"))
    print(f"wrote {npz_path} ({len(data)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
