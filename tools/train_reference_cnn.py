"""Train the visual-wake-words reference CNN with plain NumPy and ship its weights.

The network and its training live here (the library only loads the shipped weights):

    AvgPool2d(2)                      96x96x3 -> 48x48x3   fixed downsampling, no weights
    Conv2d(3, 16, 3, stride 2, pad 1)  + ReLU -> 24x24x16
    Conv2d(16, 32, 3, stride 2, pad 1) + ReLU -> 12x12x32
    Conv2d(32, 64, 3, stride 2, pad 1) + ReLU ->  6x6x64
    Conv2d(64, 64, 3, stride 1, pad 1) + ReLU ->  6x6x64
    GlobalMaxPool2d                           -> 64       "did a filter fire anywhere?"
    Linear(64, 2)

Training: He initialisation, softmax cross-entropy, the course's one Adam loop
(`tinytorch.models.training.adam`) with a cosine decay, float32 arithmetic on one BLAS thread (so the
summation order, hence every bit, is the same on every run on the same BLAS). The backward pass is
written out below: ReLU passes the gradient where its input was positive, the global max pool only to
the position of each maximum, and a convolution, being `im2col(x) @ W`, gives `dW = cols.T @ dY` and
`dcols = dY @ W.T`, whose rows are added back to the input positions they were copied from (`col2im`).
Each batch is augmented: a random horizontal flip per image, a random order of its colour channels,
per-channel gains and a brightness offset, and a shift of up to 4 pixels. The `AvgPool2d(2)` has no
weights, so training pools each image once, up front.

The training data are the "full" visual-wake-words composites (1600 images) of the default data seed;
their sha256 is recorded in the weights' metadata, and a test checks it against freshly generated data.
The model is written with `tinytorch.models.zoo.save_model`, the code users call.

Usage (from the repository root; several minutes on one core):
    python tools/train_reference_cnn.py              # writes tinytorch/models/weights/vww_cnn.{npz,json}
    python tools/train_reference_cnn.py --out DIR/stem
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # use this checkout's tinytorch when run as a script

from tinytorch.benchmarking.references import VWW_CNN_WEIGHTS  # noqa: E402
from tinytorch.core.layers import Linear, ReLU, Sequential  # noqa: E402
from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalAvgPool2d, GlobalMaxPool2d, im2col  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.datasets.task_data import DATA_FORMAT_VERSION, DATA_SEED, TaskData  # noqa: E402
from tinytorch.datasets.wake_words import make_visual_wake_words  # noqa: E402
from tinytorch.models.training import adam, cosine_rate  # noqa: E402
from tinytorch.models.zoo import WEIGHTS_DIR, save_model  # noqa: E402

SEED = DATA_SEED % 2**31  # the seed TinyMLPerf.reference_model uses for the MLPs too
VWW_CNN_RECIPE = {  # convs: [out channels, kernel, stride, padding]
    "input_pool": 2, "convs": [[16, 3, 2, 1], [32, 3, 2, 1], [64, 3, 2, 1], [64, 3, 1, 1]],
    "input_offset": 0.0, "global_pool": "max", "epochs": 150, "batch_size": 32, "learning_rate": 0.003,
    "schedule": "cosine", "weight_decay": 0.0,
    "augment": {"flip": 0.5, "permute_channels": True, "channel_gain": [0.7, 1.3], "brightness": [-0.1, 0.1],
                "max_shift": 4},
}


def col2im(dcols: np.ndarray, input_shape: tuple[int, ...], kernel: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of `im2col`: add each patch row back onto the input positions it was copied from."""
    n, height, width, channels = input_shape
    padded = np.zeros((n, height + 2 * padding, width + 2 * padding, channels), dtype=dcols.dtype)
    out_h = (height + 2 * padding - kernel) // stride + 1
    out_w = (width + 2 * padding - kernel) // stride + 1
    patches = dcols.reshape(n, out_h, out_w, kernel, kernel, channels)
    for i in range(kernel):
        for j in range(kernel):
            rows, cols = slice(i, i + stride * (out_h - 1) + 1, stride), slice(j, j + stride * (out_w - 1) + 1, stride)
            padded[:, rows, cols] += patches[:, :, :, i, j]
    return padded[:, padding:padding + height, padding:padding + width]


def cnn_init(rng: np.random.Generator, convs: list, classes: int) -> list[np.ndarray]:
    params, channels = [], 3
    for out, kernel, _, _ in convs:
        fan_in = kernel * kernel * channels
        params += [(rng.standard_normal((fan_in, out)) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                   np.zeros(out, dtype=np.float32)]
        channels = out
    return params + [(rng.standard_normal((channels, classes)) * np.sqrt(1.0 / channels)).astype(np.float32),
                     np.zeros(classes, dtype=np.float32)]


def cnn_forward(params: list[np.ndarray], convs: list, x: np.ndarray):
    """Logits, plus what the backward pass needs: per conv (input shape, columns, output)."""
    saved, a = [], x
    for index, (out, kernel, stride, padding) in enumerate(convs):
        n, height, width, _ = a.shape
        cols = im2col(a, kernel, stride, padding)
        z = cols @ params[2 * index] + params[2 * index + 1]
        out_h, out_w = (height + 2 * padding - kernel) // stride + 1, (width + 2 * padding - kernel) // stride + 1
        activation = np.maximum(z, 0).reshape(n, out_h, out_w, out)
        saved.append((a.shape, cols, activation))
        a = activation
    flat = a.reshape(len(a), -1, a.shape[-1])
    where = flat.argmax(axis=1)
    pooled = np.take_along_axis(flat, where[:, None, :], axis=1)[:, 0]
    return pooled @ params[-2] + params[-1], (saved, flat.shape, where, pooled)


def cnn_gradients(params: list[np.ndarray], convs: list, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    logits, (saved, flat_shape, where, pooled) = cnn_forward(params, convs, x)
    grad = np.exp(logits - logits.max(axis=1, keepdims=True))
    grad /= grad.sum(axis=1, keepdims=True)
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    grads: list = [None] * len(params)
    grads[-2], grads[-1] = pooled.T @ grad, grad.sum(axis=0)
    d_flat = np.zeros(flat_shape, dtype=pooled.dtype)
    np.put_along_axis(d_flat, where[:, None, :], (grad @ params[-2].T)[:, None, :], axis=1)
    d_a = d_flat.reshape(saved[-1][2].shape)
    for index in range(len(convs) - 1, -1, -1):
        out, kernel, stride, padding = convs[index]
        input_shape, cols, activation = saved[index]
        d_z = (d_a * (activation > 0)).reshape(-1, out)
        grads[2 * index], grads[2 * index + 1] = cols.T @ d_z, d_z.sum(axis=0)
        if index > 0:
            d_a = col2im(d_z @ params[2 * index].T, input_shape, kernel, stride, padding)
    return grads


def augment(rng: np.random.Generator, x: np.ndarray, settings: dict) -> np.ndarray:
    n = len(x)
    flip = rng.random(n) < settings["flip"]
    x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
    if settings["permute_channels"]:  # colours say little about a figure; its shape does
        order = np.argsort(rng.random((n, 3)), axis=1)
        x = np.take_along_axis(x, order[:, None, None, :], axis=3)
    gain = rng.uniform(*settings["channel_gain"], (n, 1, 1, 3)).astype(np.float32)
    offset = rng.uniform(*settings["brightness"], (n, 1, 1, 1)).astype(np.float32)
    shift = settings["max_shift"]
    dy, dx = (int(v) for v in rng.integers(-shift, shift + 1, 2))
    return np.roll(x * gain + offset, (dy, dx), axis=(1, 2))


def train_vww_cnn(x: np.ndarray, y: np.ndarray, recipe: dict, seed: int) -> list[np.ndarray]:
    """Train the CNN on pooled `(N, 48, 48, 3)` float32 images; returns `[W1, b1, ..., W_out, b_out]`.

    The course's one Adam loop, with a cosine decay of the learning rate and each batch augmented
    (`augment`) from the same generator.
    """
    rng = np.random.default_rng(seed)
    convs = recipe["convs"]
    params = cnn_init(rng, convs, int(y.max()) + 1)

    def gradients(batch: np.ndarray) -> list[np.ndarray]:
        return cnn_gradients(params, convs, augment(rng, x[batch], recipe["augment"]), y[batch])

    with threadpool_limits(limits=1):
        return adam(params, gradients, len(x), epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                    learning_rate=cosine_rate(recipe["learning_rate"]), rng=rng,
                    decoupled_weight_decay=recipe["weight_decay"])


def vww_cnn_model(params: list[np.ndarray], recipe: dict, name: str) -> Sequential:
    """The trained parameters as a `Sequential` of Module 09 layers (weights reshaped to `(k, k, in, out)`)."""
    layers: list = [AvgPool2d(recipe["input_pool"])]
    channels = 3
    for index, (out, kernel, stride, padding) in enumerate(recipe["convs"]):
        conv = Conv2d(channels, out, kernel, stride=stride, padding=padding)
        conv.weight = Tensor(params[2 * index].reshape(kernel, kernel, channels, out).astype(np.float32))
        bias = params[2 * index + 1]
        if index == 0 and recipe["input_offset"]:
            # Training saw x - offset; with no padding, W (x - offset) + b = W x + (b - offset * sum W) exactly.
            bias = bias - recipe["input_offset"] * params[0].sum(axis=0)
        conv.bias = Tensor(bias.astype(np.float32))
        layers += [conv, ReLU()]
        channels = out
    head = Linear(channels, params[-1].shape[0])
    head.weight, head.bias = Tensor(params[-2].astype(np.float32)), Tensor(params[-1].astype(np.float32))
    pool = GlobalMaxPool2d() if recipe["global_pool"] == "max" else GlobalAvgPool2d()
    return Sequential(*layers, pool, head, name=name)


def fit_vww_params(data: TaskData, seed: int, recipe: dict) -> tuple[list[np.ndarray], dict]:
    if recipe["input_offset"] and recipe["convs"][0][3] != 0:
        raise ValueError("input_offset folds into the first convolution's bias only when it has padding 0")
    pool = recipe["input_pool"]
    n, height, width, channels = data.x_train.shape
    pooled = data.x_train.reshape(n, height // pool, pool, width // pool, pool, channels).mean(axis=(2, 4))
    x = (pooled - recipe["input_offset"]).astype(np.float32)
    params = train_vww_cnn(x, data.y_train.astype(np.int64), recipe, seed)
    metadata = {"task": "visual_wake_words", "recipe": recipe, "seed": seed, "optimizer": "Adam, cosine decay",
                "training_data_sha256": data.sha256(), "training_size": int(n), "data_size": data.metadata.get("size"),
                "data_seed": data.metadata.get("seed"), "data_format_version": DATA_FORMAT_VERSION}
    return params, metadata


def fit_vww_cnn(data: TaskData, seed: int, recipe: Mapping[str, Any] | None = None) -> tuple[Sequential, dict]:
    """Train the visual-wake-words CNN on `data`'s training split.

    Args:
        data: the visual-wake-words `TaskData`.
        seed: seeds the initialisation, the batch order and the augmentation.
        recipe: defaults to `VWW_CNN_RECIPE`.

    Returns:
        `(model, metadata)`: the `Sequential` and what it was trained on (recipe, seed, the training
        data's sha256, size and seed).

    Raises:
        ValueError: a recipe with an input offset but a padded first convolution (the offset could
            not be folded into the bias exactly).
    """
    recipe = dict(VWW_CNN_RECIPE if recipe is None else recipe)
    params, metadata = fit_vww_params(data, seed, recipe)
    return vww_cnn_model(params, recipe, "reference_visual_wake_words"), metadata


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
