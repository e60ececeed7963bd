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
# # Module 03: Layers
#
# A model is a chain of layers. Each layer has the same small contract, which is all that the
# profiler, the optimizations and the benchmarks of later modules rely on:
#
# | method | returns |
# |---|---|
# | `forward(x)` / `layer(x)` | a `Tensor`; `x` may be a `Tensor` or a NumPy array, a batch `(N, ...)` or one sample |
# | `parameters()` | the list of `Tensor`s the layer stores (its real dtype, so byte counts are honest) |
#
# `Linear` computes `y = x @ W + b` with `W` of shape `(in_features, out_features)`.

# %% nbgrader={"grade": false, "grade_id": "layers-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp core.layers
#| export
from __future__ import annotations

import functools
import math

import numpy as np

from tinytorch.core.tensor import Tensor

# %% nbgrader={"grade": false, "grade_id": "layers-base", "locked": false, "schema_version": 3, "solution": false}
#| export
def _array_of(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


@functools.lru_cache(maxsize=64)
def _zeros(size: int, dtype: np.dtype) -> np.ndarray:
    zeros = np.zeros(size, dtype=dtype)
    zeros.flags.writeable = False
    return zeros


def _all_finite(data: np.ndarray) -> bool:
    """True when no value of a floating-point array is NaN or infinite."""
    # Why not `np.isfinite(data).all()`: at batch 1 it was a sixth of a whole MLP inference (two
    # ufunc passes and a temporary). One dot product with zeros is cheaper and exact: every finite
    # value contributes 0, NaN and +-inf contribute NaN (inf * 0 is NaN), and nothing can overflow.
    flat = data.reshape(-1)
    return not math.isnan(flat.dot(_zeros(flat.size, flat.dtype)))


class Layer:
    """Base class. A layer implements `forward_array` (NumPy array in, array out); `forward` wraps it
    in a Tensor. `Sequential` chains `forward_array` directly, so a model does not pay for a Tensor
    per intermediate result (at batch 1 that wrapping was a fifth of an MLP inference). A layer may
    instead override `forward` alone; `Sequential` then calls that."""

    def forward(self, x) -> Tensor:
        return Tensor(self.forward_array(_array_of(x)))

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        if type(self).forward is Layer.forward:
            raise NotImplementedError(f"{type(self).__name__} must implement forward_array(data) or forward(x)")
        return _array_of(self.forward(data))  # a layer that overrides forward alone

    def __call__(self, x) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list[Tensor]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

# %% [markdown]
# ## Linear
#
# The weights start from a seeded He initialisation (`std = sqrt(2 / in_features)`), drawn from a
# `np.random.default_rng(seed)` so that two runs build the same layer and no global random state is
# touched. Your task (Task 03.1): the forward pass, with a clear error when the input's last dimension is not
# `in_features`, or when the input holds integers (cast them to float first).

# %% nbgrader={"grade": false, "grade_id": "layers-linear", "locked": false, "schema_version": 3, "solution": true}
#| export
class Linear(Layer):
    """Fully connected layer `y = x @ weight + bias`.

    Args:
        in_features: width of each input sample.
        out_features: width of each output sample.
        bias: whether to add a bias vector.
        seed: seed of the weight initialisation.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, seed: int = 0):
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(seed)
        scale = np.sqrt(2.0 / in_features)
        self.weight = Tensor((rng.standard_normal((in_features, out_features)) * scale).astype(np.float32))
        self.bias = Tensor(np.zeros(out_features, dtype=np.float32)) if bias else None

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch `(N, in_features)` or one sample `(in_features,)`.

        `layer(x)` and `layer.forward(x)` call this and wrap the result in a Tensor.

        Raises:
            ValueError: if the last dimension is not `in_features` or `x` is 0-D.
            TypeError: if `x` holds integers or booleans.
        """
        # Task 03.1: validate the input, then compute x @ W + b.
        ### BEGIN SOLUTION
        if data.ndim == 0 or data.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got input of shape {data.shape}; "
                             f"its last dimension must be {self.in_features}")
        if data.dtype.kind not in "fc":
            raise TypeError(f"Linear got {data.dtype} input; cast it to float first, e.g. x.astype(np.float32)")
        out = data @ self.weight.data
        if self.bias is not None:
            out = out + self.bias.data
        return out
        ### END SOLUTION

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias is not None})"

# %% nbgrader={"grade": true, "grade_id": "layers-linear-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_linear():
    layer = Linear(4, 3, seed=1)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)
    assert layer(x[0]).shape == (3,), "one sample in, one sample out"
    for bad in (np.ones((2, 5), dtype=np.float32), np.float32(1.0)):
        try:
            layer(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"input of shape {np.shape(bad)} must raise ValueError")


test_unit_linear()

# %% [markdown]
# ## Activations, Flatten and Sequential
#
# `Flatten` keeps the first (batch) axis and flattens the rest: `(N, 8, 8)` becomes `(N, 64)`.
# `Sequential` applies its layers in order and checks its input once, at the entrance: NaN or
# infinite inputs are an error there rather than a silent NaN prediction.

# %% nbgrader={"grade": false, "grade_id": "layers-activations", "locked": false, "schema_version": 3, "solution": false}
#| export
class ReLU(Layer):
    """max(x, 0), elementwise."""

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        return np.maximum(data, 0)


class Softmax(Layer):
    """Softmax over the last axis, computed stably (the row maximum is subtracted first)."""

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        shifted = np.exp(data - data.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)


class Flatten(Layer):
    """Flatten every axis but the first (the batch axis)."""

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        if data.ndim < 2:
            raise ValueError(f"Flatten needs a batch (N, ...), got shape {data.shape}; add a batch axis with x[None]")
        return data.reshape(data.shape[0], -1)

# %% nbgrader={"grade": false, "grade_id": "layers-sequential", "locked": false, "schema_version": 3, "solution": false}
#| export
class Sequential(Layer):
    """Layers applied in order. `name` labels the model in benchmarks."""

    def __init__(self, *layers: Layer, name: str | None = None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not callable(getattr(layer, "forward", None)):
                raise TypeError(f"Sequential takes layers with a forward method, got {layer!r}")
        self.layers = list(layers)
        if name is not None:
            self.name = name

    def forward(self, x) -> Tensor:
        data = _array_of(x)
        if data.dtype.kind == "f" and not _all_finite(data):
            raise ValueError("the input holds NaN or infinite values; clean or impute the data before inference")
        return Tensor(self.forward_array(data))

    def forward_array(self, data: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            data = layer.forward_array(data) if isinstance(layer, Layer) else _array_of(layer.forward(data))
        return data

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index) -> Layer:
        return self.layers[index]

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({inner})"

# %% nbgrader={"grade": false, "grade_id": "layers-sequential-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_sequential():
    model = Sequential(Flatten(), Linear(4, 3, seed=0), ReLU(), Linear(3, 2, seed=1), Softmax())
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 2, 2)
    probs = model(x).data
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-6)
    assert len(model.parameters()) == 4
    try:
        model(np.full((1, 2, 2), np.nan, dtype=np.float32))
    except ValueError as error:
        assert "NaN" in str(error)
    else:
        raise AssertionError("NaN input must raise ValueError")


test_unit_sequential()
print("Layer tests passed")
