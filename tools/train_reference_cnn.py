"""Train the visual-wake-words reference CNN with plain NumPy and ship its weights.

The recipe is `VWW_CNN_RECIPE` in Module 18 (`fit_vww_cnn`): He initialisation, softmax
cross-entropy, Adam with a cosine decay, flips, gains and shifts drawn from one
`np.random.default_rng(seed)`, float32 arithmetic on one BLAS thread (so the summation order, hence
every bit, is the same on every run on the same BLAS). The training data are the "full"
visual-wake-words composites (1600 images) of the default data seed; their sha256 is recorded in the
weights' metadata, and a test checks it against freshly generated data. The model is written with
`tinytorch.models.zoo.save_model`, the code users call.

Usage (from the repository root; several minutes on one core):
    python tools/train_reference_cnn.py              # writes tinytorch/models/weights/vww_cnn.{npz,json}
    python tools/train_reference_cnn.py --out DIR/stem
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # use this checkout's tinytorch when run as a script

from tinytorch.benchmarking.tinymlperf import (DATA_SEED, VWW_CNN_WEIGHTS, fit_vww_cnn,  # noqa: E402
                                               make_visual_wake_words)
from tinytorch.models.zoo import WEIGHTS_DIR, save_model  # noqa: E402

SEED = DATA_SEED % 2**31  # the seed TinyMLPerf.reference_model uses for the other tasks too


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    predictions = np.concatenate([model(x[i:i + 200]).data.argmax(axis=-1) for i in range(0, len(x), 200)])
    return float((predictions == y).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / VWW_CNN_WEIGHTS,
                        help="target path without suffix (default: the shipped weights)")
    args = parser.parse_args(argv)

    data = make_visual_wake_words("full", seed=DATA_SEED)
    start = time.perf_counter()
    model, metadata = fit_vww_cnn(data, seed=SEED)
    seconds = time.perf_counter() - start
    train_acc, test_acc = accuracy(model, data.x_train, data.y_train), accuracy(model, data.x_test, data.y_test)
    metadata.update(trained_by="tools/train_reference_cnn.py", train_accuracy=train_acc, test_accuracy=test_acc,
                    test_set=f"visual_wake_words full test split ({len(data.y_test)} images), float32 forward")
    npz_path, json_path = save_model(model, args.out, metadata=metadata)
    print(f"trained in {seconds:.1f} s; train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
          f"({round(test_acc * len(data.y_test))}/{len(data.y_test)})")
    print(f"wrote {npz_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
