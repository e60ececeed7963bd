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
# # Training the reference models: one Adam loop
#
# Provided code (no exercises). Every reference network of the course is trained with NumPy by the same
# loop: Adam on shuffled minibatches, every random draw from one `np.random.default_rng(seed)` passed in
# (never the global random state), so a run is reproducible bit for bit on the same BLAS. What differs
# between networks is only how their gradients are computed, which the caller passes as a function:
#
# | network | gradients | trained by |
# |---|---|---|
# | TinyDigits MLP (shipped) | softmax cross-entropy plus L2, float64 | `tools/train_reference_mlp.py` |
# | TinyMLPerf MLPs (digits, keywords, anomaly autoencoder) | `mlp_gradients`, float32 | `TinyMLPerf.reference_model`, on first use |
# | visual-wake-words CNN (shipped) | a convolutional backward pass | `tools/train_reference_cnn.py` |
#
# Adam keeps, per parameter, running averages of the gradient `m` and of its square `v`, corrects their
# bias towards zero in the first steps, and moves each weight by
# `rate * m_hat / (sqrt(v_hat) + eps)`: a step of about `rate` whatever the gradient's scale.

# %%
#| default_exp models.training
#| export
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

# %%
#| export
def adam(params: list[np.ndarray], gradients: Callable[[np.ndarray], Sequence[np.ndarray]], count: int, *,
         epochs: int, batch_size: int, learning_rate: float | Callable[[int, int], float],
         rng: np.random.Generator, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
         decoupled_weight_decay: float = 0.0) -> list[np.ndarray]:
    """Train `params` in place with Adam on shuffled minibatches of `count` samples; return them.

    Args:
        params: the arrays to train (updated in place, in their own dtype).
        gradients: `gradients(batch)`, given the indices of one minibatch, returns one gradient per
            parameter. It may draw from `rng` too (augmentation): the draws stay in a fixed order.
        count: how many training samples there are.
        epochs: passes over the data; each begins with a fresh permutation drawn from `rng`.
        batch_size: samples per step (the last batch of an epoch may be smaller).
        learning_rate: a constant, or `rate(step, total_steps)` for a schedule (step counts from 1).
        rng: the only source of randomness.
        beta1, beta2, eps: Adam's constants.
        decoupled_weight_decay: AdamW's decay of the weight matrices (2-D parameters), 0 for none.
    """
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    total_steps, step = epochs * math.ceil(count / batch_size), 0
    for _ in range(epochs):
        order = rng.permutation(count)
        for start in range(0, count, batch_size):
            grads = gradients(order[start:start + batch_size])
            step += 1
            rate = learning_rate(step, total_steps) if callable(learning_rate) else learning_rate
            for p, g, m, v in zip(params, grads, moments, squares):
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                if decoupled_weight_decay and p.ndim == 2:
                    p -= rate * decoupled_weight_decay * p
                p -= rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return params


def cosine_rate(learning_rate: float) -> Callable[[int, int], float]:
    """A cosine decay from `learning_rate` to 0 over the run, for `adam(learning_rate=...)`."""
    return lambda step, total: learning_rate * 0.5 * (1 + math.cos(math.pi * step / total))

# %% [markdown]
# ## A ReLU MLP
#
# Parameters are `[W1, b1, W2, b2, ...]` with `W` of shape `(in, out)`; He initialisation draws each
# `W` from a normal scaled by `sqrt(2 / in)`. The backward pass: softmax cross-entropy (integer targets)
# gives `d_out = softmax - one_hot` over the batch, a mean squared error `2 (out - target) / size`;
# each layer then passes `d_out @ W.T` back, through the ReLU where its input was positive.

# %%
#| export
def he_init(rng: np.random.Generator, widths: Sequence[int], dtype=np.float32) -> list[np.ndarray]:
    """`[W1, b1, ...]` for layer widths `(in, hidden..., out)`: He-normal weights, zero biases."""
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        params += [(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype),
                   np.zeros(fan_out, dtype=dtype)]
    return params


def mlp_gradients(params: Sequence[np.ndarray], x: np.ndarray, targets: np.ndarray, loss: str) -> list[np.ndarray]:
    """Gradients of a ReLU MLP's mean loss: `"cross_entropy"` (integer targets) or `"mse"`."""
    if loss not in ("cross_entropy", "mse"):
        raise ValueError(f"loss={loss!r} must be 'cross_entropy' or 'mse'")
    activations = [x]
    for i in range(0, len(params), 2):
        z = activations[-1] @ params[i] + params[i + 1]
        activations.append(np.maximum(z, 0) if i + 2 < len(params) else z)
    out = activations[-1]
    if loss == "cross_entropy":
        grad = np.exp(out - out.max(axis=1, keepdims=True))
        grad /= grad.sum(axis=1, keepdims=True)
        grad[np.arange(len(x)), targets] -= 1.0
        grad /= len(x)
    else:
        grad = 2.0 * (out - targets) / out.size
    grads: list = [None] * len(params)
    for i in range(len(params) - 2, -1, -2):
        grads[i], grads[i + 1] = activations[i // 2].T @ grad, grad.sum(axis=0)
        if i > 0:
            grad = (grad @ params[i].T) * (activations[i // 2] > 0)
    return grads
