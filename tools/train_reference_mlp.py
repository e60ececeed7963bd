"""Train the reference 64-32-10 MLP on TinyDigits with plain NumPy and ship its weights.

The recipe is fixed and seeded: He initialisation, softmax cross-entropy plus L2, Adam on shuffled
minibatches (the course's one Adam loop, `tinytorch.models.training.adam`), all drawn from one
`np.random.default_rng(seed)`. The arithmetic runs in float64 on one
BLAS thread (so the summation order, hence every bit, is the same on every run), and the weights are
rounded to float32 at the end. The model is written with `tinytorch.models.zoo.save_model`, so the
shipped files are produced by the same code that users call.

Usage (from the repository root):
    python tools/train_reference_mlp.py              # writes tinytorch/models/weights/tinydigits_mlp.{npz,json}
    python tools/train_reference_mlp.py --out DIR/stem
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # use this checkout's tinytorch when run as a script

from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential  # noqa: E402
from tinytorch.datasets.tinydigits import load_tinydigits  # noqa: E402
from tinytorch.models.training import adam, he_init  # noqa: E402
from tinytorch.models.zoo import WEIGHTS_DIR, save_model  # noqa: E402

RECIPE = {"seed": 17, "hidden": 32, "epochs": 150, "batch_size": 32, "learning_rate": 0.003,
          "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-4}


def forward(params: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w1, b1, w2, b2 = params
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return hidden, hidden @ w2 + b2


def loss_and_grads(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, weight_decay: float):
    """Mean softmax cross-entropy (plus L2 on the weights) and its gradients."""
    w1, _, w2, _ = params
    hidden, logits = forward(params, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_probs[np.arange(n), y].mean() + 0.5 * weight_decay * ((w1 ** 2).sum() + (w2 ** 2).sum())
    d_logits = np.exp(log_probs)
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    d_hidden = (d_logits @ w2.T) * (hidden > 0)
    grads = [x.T @ d_hidden + weight_decay * w1, d_hidden.sum(axis=0),
             hidden.T @ d_logits + weight_decay * w2, d_logits.sum(axis=0)]
    return loss, grads


def train(x: np.ndarray, y: np.ndarray, recipe: dict) -> tuple[list[np.ndarray], float]:
    rng = np.random.default_rng(recipe["seed"])
    params = he_init(rng, [x.shape[1], recipe["hidden"], int(y.max()) + 1], dtype=np.float64)

    def gradients(batch: np.ndarray) -> list[np.ndarray]:
        return loss_and_grads(params, x[batch], y[batch], recipe["weight_decay"])[1]

    adam(params, gradients, len(y), epochs=recipe["epochs"], batch_size=recipe["batch_size"],
         learning_rate=recipe["learning_rate"], rng=rng, beta1=recipe["beta1"], beta2=recipe["beta2"],
         eps=recipe["eps"])
    final_loss, _ = loss_and_grads(params, x, y, recipe["weight_decay"])
    return params, float(final_loss)


def to_model(params: list[np.ndarray]) -> Sequential:
    w1, b1, w2, b2 = (p.astype(np.float32) for p in params)
    first, second = Linear(w1.shape[0], w1.shape[1]), Linear(w2.shape[0], w2.shape[1])
    first.weight.data, first.bias.data = w1, b1
    second.weight.data, second.bias.data = w2, b2
    return Sequential(Flatten(), first, ReLU(), second, name="tinydigits_mlp")


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((model(x).data.argmax(axis=-1) == y).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "tinydigits_mlp",
                        help="target path without suffix (default: the shipped weights)")
    args = parser.parse_args(argv)

    digits = load_tinydigits()
    x_train = digits.x_train.reshape(len(digits.x_train), -1).astype(np.float64)
    with threadpool_limits(limits=1):
        params, final_loss = train(x_train, digits.y_train, RECIPE)
        model = to_model(params)
        train_acc, test_acc = accuracy(model, *digits.train), accuracy(model, *digits.test)
    metadata = {"trained_by": "tools/train_reference_mlp.py", "data": "TinyDigits train (1000 images)",
                "recipe": RECIPE, "final_train_loss": round(final_loss, 6),
                "train_accuracy": train_acc, "test_accuracy": test_acc,
                "test_set": "TinyDigits test (200 images), float32 forward through tinytorch"}
    npz_path, json_path = save_model(model, args.out, metadata=metadata)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} ({round(test_acc * 200)}/200), "
          f"final train loss {final_loss:.4f}")
    print(f"wrote {npz_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
