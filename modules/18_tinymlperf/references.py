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
# # TinyMLPerf's reference models
#
# Provided code (no exercises) behind `TinyMLPerf.reference_model`. Each task has a small reference
# model handed over as a plain `Sequential`, so that the profiler, quantization and pruning of other
# modules work on it:
#
# - the three MLPs (image classification, keyword spotting, the anomaly autoencoder) are trained here,
#   with the course's one Adam loop (`tinytorch.models.training`), on first use, in seconds, and cached
#   like the data. Feature standardization is folded into the first `Linear` layer (a linear map:
#   `Linear((x - m) / s)` is one `Linear` with weights `W / s`);
# - the visual-wake-words CNN takes minutes to train, so its weights ship with the package
#   (`tinytorch/models/weights/vww_cnn.*`), made byte for byte by `tools/train_reference_cnn.py`, which
#   holds its training code.

# %%
#| default_exp benchmarking.references
#| export
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Mapping

import numpy as np
from threadpoolctl import threadpool_limits

from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.datasets.task_data import DATA_FORMAT_VERSION, TaskData, cached_arrays
from tinytorch.models.training import adam, he_init, mlp_gradients
from tinytorch.models.zoo import WEIGHTS_DIR, load_model

# %%
#| export
_KWS_TRAIN_SHIFTS = (-8, -5, -2, 0, 2, 5, 8)  # MFCC frames (20 ms each)
_REFERENCE_ARCHITECTURES = {  # hidden widths, Adam steps (batches of 32), learning rate
    "image_classification": ((64, 32), 1900, 0.003),
    "keyword_spotting": ((64, 64), 5000, 0.002),
    "anomaly_detection": ((128, 24, 128), 2500, 0.001),
}  # visual_wake_words has a CNN, trained by tools/train_reference_cnn.py
VWW_CNN_WEIGHTS = "vww_cnn"


def _train_network(x: np.ndarray, targets: np.ndarray, hidden: tuple[int, ...], out_width: int, loss: str,
                   epochs: int, learning_rate: float, seed: int, batch_size: int = 32) -> list[np.ndarray]:
    """Train a ReLU MLP with Adam; `loss` is "cross_entropy" (integer targets) or "mse".

    Runs in float32 on one BLAS thread: small matrices gain nothing from threads, and on a busy
    machine threads make them several times slower (and the sums' order less reproducible).
    """
    x = x.astype(np.float32)
    targets = targets if loss == "cross_entropy" else targets.astype(np.float32)
    rng = np.random.default_rng(seed)
    params = he_init(rng, (x.shape[1], *hidden, out_width))
    with threadpool_limits(limits=1):
        return adam(params, lambda batch: mlp_gradients(params, x[batch], targets[batch], loss), len(x),
                    epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, rng=rng)


def fit_reference(task: str, data: TaskData, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    hidden, steps, learning_rate = _REFERENCE_ARCHITECTURES[task]
    x_train, y_train = data.x_train, data.y_train
    if task == "keyword_spotting":
        # Time-shift augmentation (as MLPerf Tiny's KWS training): each clip also rolled by up to 160 ms.
        x_train = np.concatenate([np.roll(x_train, shift, axis=1) for shift in _KWS_TRAIN_SHIFTS])
        y_train = np.tile(y_train, len(_KWS_TRAIN_SHIFTS))
    x = x_train.reshape(len(x_train), -1).astype(np.float64)
    mean = x.mean(axis=0)
    if task == "anomaly_detection":
        # One scale for all features keeps the reconstruction error's weighting of the features.
        scale = np.full(x.shape[1], x.std())
    else:
        scale = np.maximum(x.std(axis=0), 1e-2)
    z = (x - mean) / scale
    epochs = max(1, math.ceil(steps * 32 / len(z)))  # the same number of updates at every data size
    if task == "anomaly_detection":
        params = _train_network(z, z, hidden, z.shape[1], "mse", epochs, learning_rate, seed)
        # Undo the standardization at the output: the model reconstructs the raw features.
        params[-2], params[-1] = params[-2] * scale[None, :], params[-1] * scale + mean
    else:
        classes = int(y_train.max()) + 1
        params = _train_network(z, y_train, hidden, classes, "cross_entropy", epochs, learning_rate, seed)
    params[1] = params[1] - (mean / scale) @ params[0]
    params[0] = params[0] / scale[:, None]
    arrays = {f"param{i}": p.astype(np.float32) for i, p in enumerate(params)}
    metadata = {"task": task, "hidden": list(hidden), "epochs": epochs, "steps": steps, "learning_rate": learning_rate,
                "optimizer": "Adam, batch 32", "seed": seed, "training_data_sha256": data.sha256(),
                "folded": "input standardization"}
    return arrays, metadata


def sequential_from(arrays: Mapping[str, np.ndarray], name: str) -> Sequential:
    layers: list = [Flatten()]
    count = len(arrays) // 2
    for i in range(count):
        weight, bias = arrays[f"param{2 * i}"], arrays[f"param{2 * i + 1}"]
        linear = Linear(weight.shape[0], weight.shape[1])
        linear.weight, linear.bias = Tensor(np.array(weight, dtype=np.float32)), Tensor(np.array(bias, dtype=np.float32))
        layers.append(linear)
        if i + 1 < count:
            layers.append(ReLU())
    return Sequential(*layers, name=name)


def mlp_reference(task: str, data: TaskData, data_size: str, data_seed: int, cache_root: str | Path | None) -> Sequential:
    """The task's reference MLP, trained on `data` on first use and cached (keyed by data and recipe)."""
    recipe = hashlib.sha256(repr((_REFERENCE_ARCHITECTURES[task], _KWS_TRAIN_SHIFTS, data_seed)).encode()).hexdigest()[:8]
    key = f"reference-{task}-{data_size}-{data.sha256()[:16]}-{recipe}-v{DATA_FORMAT_VERSION}"
    arrays, _ = cached_arrays(key, lambda: fit_reference(task, data, seed=data_seed % 2**31), cache_root)
    return sequential_from(arrays, name=f"reference_{task}")


def shipped_vww_cnn(data: TaskData, data_size: str, data_seed: int) -> Sequential:
    """The shipped visual-wake-words CNN (`tools/train_reference_cnn.py` made it).

    It is the reference at every data size and seed: the network is fixed, as MLPerf's reference models
    are, and the test images of any seed are new to it. For the data it was trained on (the default
    seed, at its size), the training data's sha256 must still match what the generator makes today, and
    the data format version must be the one it was trained on.

    Raises:
        RuntimeError: the generator has changed since the weights were trained: retrain them.
    """
    shipped = load_model(WEIGHTS_DIR / VWW_CNN_WEIGHTS)
    shipped.name = "reference_visual_wake_words"
    trained_on = json.loads((WEIGHTS_DIR / f"{VWW_CNN_WEIGHTS}.json").read_text())["metadata"]
    same_data = trained_on["data_seed"] == data_seed and trained_on["data_size"] == data_size
    if trained_on["data_format_version"] != DATA_FORMAT_VERSION or (
            same_data and trained_on["training_data_sha256"] != data.sha256()):
        raise RuntimeError("the shipped visual-wake-words CNN was trained on other images than the generator makes "
                           "today; retrain it with `python tools/train_reference_cnn.py`")
    return shipped
