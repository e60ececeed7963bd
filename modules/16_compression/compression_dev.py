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
# # Module 16: Compression by magnitude pruning
#
# Many weights of a trained network are close to zero and contribute little. **Magnitude pruning**
# sets the fraction `sparsity` of weights with the smallest `|w|` to exactly zero. Three questions
# decide whether that helps:
#
# 1. **Which threshold?** *Global* scope ranks all weights of all layers together (a layer with small
#    weights loses more of them); *layer* scope prunes the same fraction in every layer.
# 2. **Does accuracy survive?** A short **fine-tune** that keeps the pruned weights at zero lets the
#    remaining weights compensate. Module 19 measures the accuracy; nothing here assumes it.
# 3. **Does anything get smaller or faster?** A dense array full of zeros is exactly as large as before.
#    Only a *sparse storage form* shrinks: CSR keeps the non-zero values, their column indices and one
#    row pointer per row. With 4-byte values and 4-byte indices, each non-zero costs 8 bytes instead of
#    4, so CSR only beats the dense array past roughly 50% sparsity (computed exactly below).
#
# Biases are never pruned: they are few and each one shifts a whole output.

# %% nbgrader={"grade": false, "grade_id": "compression-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp optimization.compression
#| export
from __future__ import annotations

import copy
import numbers

import numpy as np
import scipy.sparse

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.spatial import Conv2d
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.quantization import QuantizedConv2d, QuantizedLinear

# %% nbgrader={"grade": false, "grade_id": "compression-helpers", "locked": false, "schema_version": 3, "solution": false}
#| export
PRUNE_SCOPES = ("global", "layer")


def _as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _leaf_layers(model: Layer) -> list[Layer]:
    """The layers of a model in order, with nested Sequentials flattened; a bare layer is its own list."""
    if isinstance(model, Sequential):
        return [leaf for layer in model.layers for leaf in _leaf_layers(layer)]
    return [model]


def _check_model(model, function: str) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"{function} needs a tinytorch Layer such as Sequential, got {type(model).__name__}")


_QUANTIZED = (QuantizedLinear, QuantizedConv2d)
_PRUNABLE = (Linear, QuantizedLinear, Conv2d, QuantizedConv2d)


def _weight_magnitudes(layer: Layer) -> np.ndarray:
    if isinstance(layer, _QUANTIZED):  # compare real magnitudes: scales differ per column (per filter)
        return np.abs(layer.dequantized_weight().data)
    return np.abs(layer.weight.data)


def _zero_weights(layer: Layer, mask: np.ndarray) -> None:
    target = layer.weight_q.data if isinstance(layer, _QUANTIZED) else layer.weight.data
    target[mask] = 0


def _prunable_layers(model: Layer) -> list[Layer]:
    layers = []
    for layer in _leaf_layers(model):
        if isinstance(layer, _PRUNABLE):
            layers.append(layer)
        elif layer.parameters():
            raise TypeError(f"{type(layer).__name__} holds parameters that magnitude pruning does not know; "
                            "supported: Linear, Conv2d and their quantized forms (convert SparseLinear back "
                            "with to_dense())")
    if not layers:
        raise ValueError("the model has no Linear, Conv2d or quantized layer to prune")
    return layers


def _renamed(model: Layer, suffix: str) -> Layer:
    """Add a suffix to a model's `name` (if it has one), so a benchmark can tell variants apart."""
    if isinstance(getattr(model, "name", None), str):
        model.name = f"{model.name}_{suffix}"
    return model


def _check_sparsity(sparsity) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not 0 <= sparsity < 1:
        raise ValueError(f"sparsity={sparsity!r} is outside [0, 1); pass the fraction of weights to remove, e.g. 0.5")
    return float(sparsity)

# %% [markdown]
# ## Choosing the weights to remove
#
# Your task (Task 16.1): `smallest_magnitude_mask(magnitudes, sparsity)` returns a boolean mask, `True` where a
# weight is removed. Remove exactly `floor(sparsity * n)` of the `n` entries, the smallest ones.
#
# Do not compare against a threshold value: with ties (for example weights that are already zero)
# `magnitudes <= threshold` can remove more than asked. Rank instead: a *stable* `argsort` of the
# flattened magnitudes gives the order, and ties are broken by position, so the result is deterministic.

# %% nbgrader={"grade": false, "grade_id": "compression-mask", "locked": false, "schema_version": 3, "solution": true}
#| export
def smallest_magnitude_mask(magnitudes, sparsity: float) -> np.ndarray:
    """Boolean mask of the `floor(sparsity * n)` smallest entries of `magnitudes` (ties: earlier first).

    Args:
        magnitudes: non-negative array of any shape.
        sparsity: fraction in [0, 1) to mark.

    Returns:
        A bool array of the same shape; `True` marks an entry to set to zero.
    """
    sparsity = _check_sparsity(sparsity)
    values = np.asarray(magnitudes)
    # Task 16.1: rank the entries and mark the smallest floor(sparsity * n).
    ### BEGIN SOLUTION
    count = int(np.floor(sparsity * values.size))
    order = np.argsort(values, axis=None, kind="stable")
    mask = np.zeros(values.size, dtype=bool)
    mask[order[:count]] = True
    return mask.reshape(values.shape)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "compression-mask-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_smallest_magnitude_mask():
    m = np.array([[0.5, 0.1], [0.0, 0.0], [0.9, 0.3]])
    mask = smallest_magnitude_mask(m, 0.5)
    assert mask.shape == m.shape and mask.sum() == 3
    assert mask[1].all() and mask[0, 1] and not mask[2, 0]
    assert smallest_magnitude_mask(m, 0.0).sum() == 0
    assert smallest_magnitude_mask(np.zeros(10), 0.35).sum() == 3, "ties must not remove more than asked"


test_unit_smallest_magnitude_mask()

# %% [markdown]
# ## Pruning a model
#
# `magnitude_prune` deep-copies the model and zeroes weights in the copy: the original is untouched,
# so it can be benchmarked next to its pruned versions. `scope="global"` ranks all weights together;
# `scope="layer"` ranks inside each layer. A `QuantizedLinear` is pruned by the magnitude of the
# weight its codes stand for (its scales differ per column, so raw codes would be misleading).
#
# A `Conv2d` (Module 09) is pruned the same way, weight entry by weight entry (unstructured), and so
# is a `QuantizedConv2d`. The zeros make the stored weight compressible, but the dense `im2col`
# product still multiplies by them: pruning a convolution this way saves no time. `to_sparse` and
# `fine_tune` handle only `Linear` models and refuse a `Conv2d` with a `TypeError`.

# %% nbgrader={"grade": false, "grade_id": "compression-prune", "locked": false, "schema_version": 3, "solution": false}
#| export
def magnitude_prune(model: Layer, sparsity: float = 0.5, scope: str = "global") -> Layer:
    """A new model whose smallest-magnitude weights are set to exactly zero (biases untouched).

    Args:
        model: a `Sequential` (or a single layer) of Linear, Conv2d, their quantized forms and
            parameter-free layers.
        sparsity: the fraction of weights to remove, in [0, 1): `floor(sparsity * n)` weights.
        scope: `"global"` (one ranking over every layer's weights) or `"layer"` (the same fraction per layer).

    Returns:
        A deep copy of the model, pruned; a model `name` gets the suffix `_pruned<percent>`.

    Raises:
        ValueError: for a sparsity outside [0, 1), an unknown scope, or a model without prunable layers.
        TypeError: for a non-layer model or a layer with parameters that cannot be pruned.
    """
    sparsity = _check_sparsity(sparsity)
    if scope not in PRUNE_SCOPES:
        raise ValueError(f"scope={scope!r} is unknown; use one of {list(PRUNE_SCOPES)}")
    _check_model(model, "magnitude_prune")
    pruned = copy.deepcopy(model)
    layers = _prunable_layers(pruned)
    magnitudes = [_weight_magnitudes(layer) for layer in layers]
    if scope == "layer":
        masks = [smallest_magnitude_mask(m, sparsity) for m in magnitudes]
    else:
        flat_mask = smallest_magnitude_mask(np.concatenate([m.ravel() for m in magnitudes]), sparsity)
        bounds = np.cumsum([m.size for m in magnitudes])[:-1]
        masks = [part.reshape(m.shape) for part, m in zip(np.split(flat_mask, bounds), magnitudes)]
    for layer, mask in zip(layers, masks):
        _zero_weights(layer, mask)
    return _renamed(pruned, f"pruned{round(100 * sparsity)}")


# %% nbgrader={"grade": false, "grade_id": "compression-prune-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_magnitude_prune():
    model = Sequential(Linear(16, 8, seed=0), ReLU(), Linear(8, 4, seed=1))
    before = model.layers[0].weight.data.copy()
    pruned = magnitude_prune(model, sparsity=0.5)
    np.testing.assert_array_equal(model.layers[0].weight.data, before, err_msg="the original must stay untouched")
    weights = [pruned.layers[0].weight.data, pruned.layers[2].weight.data]
    assert sum(int((w == 0).sum()) for w in weights) == (16 * 8 + 8 * 4) // 2
    per_layer = magnitude_prune(model, sparsity=0.25, scope="layer")
    assert (per_layer.layers[2].weight.data == 0).sum() == 8
    for bad in (1.0, -0.1):
        try:
            magnitude_prune(model, sparsity=bad)
        except ValueError as error:
            assert str(bad) in str(error)
        else:
            raise AssertionError(f"sparsity={bad} must raise ValueError")


test_unit_magnitude_prune()

# %% [markdown]
# ## Sparse storage: CSR
#
# `SparseLinear` keeps its weight as a `scipy.sparse.csr_matrix` of shape `(in, out)`: `data` (the
# non-zero values), `indices` (their column, int32 here) and `indptr` (`in + 1` row offsets). Its
# `parameters()` are the stored values and the bias (what training would update); the two index arrays
# are structure, returned by `buffers()`, and `nbytes` counts all of it. The forward is
# `x @ W = (W^T @ x^T)^T`, which scipy computes touching only the non-zeros: `2 * nnz` FLOPs per row.
#
# When is CSR smaller than the dense array? With `v`-byte values and `i`-byte indices, dense costs
# `in * out * v` and CSR costs `nnz * (v + i) + (in + 1) * i`, so CSR wins once
#
# ```
# sparsity > 1 - (in * out * v - (in + 1) * i) / ((v + i) * in * out)
# ```
#
# which is about 0.52 for a 64x32 float32 layer with int32 indices.

# %% nbgrader={"grade": false, "grade_id": "compression-sparse-linear", "locked": false, "schema_version": 3, "solution": false}
#| export
class SparseLinear(Layer):
    """A Linear layer whose weight is stored in CSR form.

    Args:
        weight_csr: a `scipy.sparse.csr_matrix` (or any scipy sparse matrix, converted) of shape (in, out).
        bias: optional float bias of shape (out,).
    """

    def __init__(self, weight_csr, bias=None):
        if not scipy.sparse.issparse(weight_csr):
            raise TypeError(f"weight_csr must be a scipy.sparse matrix, got {type(weight_csr).__name__}; "
                            "build the layer with SparseLinear.from_linear(linear)")
        matrix = scipy.sparse.csr_matrix(weight_csr)
        if matrix.dtype.kind != "f":
            raise TypeError(f"SparseLinear needs float weights, got {matrix.dtype}")
        matrix.eliminate_zeros()  # explicit zeros would cost bytes and FLOPs for nothing
        self.weight_csr = matrix
        self.in_features, self.out_features = (int(n) for n in matrix.shape)
        self.bias = None
        if bias is not None:
            bias_array = _as_array(bias)
            if bias_array.shape != (self.out_features,):
                raise ValueError(f"bias must have shape ({self.out_features},), got {bias_array.shape}")
            self.bias = Tensor(bias_array.copy())

    @classmethod
    def from_linear(cls, linear: Linear) -> SparseLinear:
        """The CSR form of a (pruned) Linear; outputs equal the dense layer's up to float rounding."""
        if not isinstance(linear, Linear):
            raise TypeError(f"from_linear needs a Linear layer, got {type(linear).__name__}")
        bias = None if linear.bias is None else linear.bias.data
        return cls(scipy.sparse.csr_matrix(linear.weight.data), bias)

    def to_dense(self) -> Linear:
        """The equivalent dense Linear."""
        dense = Linear(self.in_features, self.out_features, bias=self.bias is not None)
        dense.weight = Tensor(self.weight_csr.toarray())
        if self.bias is not None:
            dense.bias = Tensor(self.bias.data.copy())
        return dense

    def forward(self, x) -> Tensor:
        """Apply the layer to a batch `(N, in_features)` or one sample `(in_features,)`."""
        data = _as_array(x)
        if data.ndim not in (1, 2) or data.shape[-1] != self.in_features:
            raise ValueError(f"SparseLinear({self.in_features}, {self.out_features}) got input of shape "
                             f"{data.shape}; it needs (N, {self.in_features}) or ({self.in_features},)")
        if data.dtype.kind != "f":
            raise TypeError(f"SparseLinear got {data.dtype} input; cast it to float first, e.g. x.astype(np.float32)")
        out = np.asarray(self.weight_csr.T @ data.T).T
        if self.bias is not None:
            out = out + self.bias.data
        return Tensor(out)

    @property
    def nnz(self) -> int:
        return int(self.weight_csr.nnz)

    @property
    def nbytes(self) -> int:
        """Bytes of the CSR arrays (data, indices, indptr) plus the bias."""
        return sum(t.nbytes for t in self.parameters() + self.buffers())

    def flops_per_sample(self, input_shape: tuple[int, ...]) -> int:
        """FLOPs for one sample of shape `input_shape`: 2 per stored non-zero, plus one bias add per
        output, per row of the sample."""
        rows = int(np.prod(input_shape[:-1], dtype=np.int64))
        return rows * (2 * self.nnz + (self.out_features if self.bias is not None else 0))

    def parameters(self) -> list[Tensor]:
        values = Tensor(self.weight_csr.data)
        return [values] if self.bias is None else [values, self.bias]

    def buffers(self) -> list[Tensor]:
        """The CSR index arrays: stored with the model but not trainable."""
        return [Tensor(self.weight_csr.indices), Tensor(self.weight_csr.indptr)]

    def __repr__(self) -> str:
        return f"SparseLinear({self.in_features}, {self.out_features}, nnz={self.nnz}, bias={self.bias is not None})"

# %% [markdown]
# `to_sparse` converts every Linear of a model (a new model); `sparse_nbytes` counts what a model
# takes in CSR form, converting dense Linear layers on the fly, so it can be asked of any model.
# `measure_sparsity` reports the fraction of zero weights (biases excluded) in
# any of the three forms; `csr_break_even_sparsity` is the formula above.

# %% nbgrader={"grade": false, "grade_id": "compression-to-sparse", "locked": false, "schema_version": 3, "solution": false}
#| export
def _sparsify_layer(layer: Layer) -> Layer:
    if isinstance(layer, Linear):
        return SparseLinear.from_linear(layer)
    if isinstance(layer, Sequential):
        layer.layers = [_sparsify_layer(inner) for inner in layer.layers]
        return layer
    if isinstance(layer, SparseLinear) or not layer.parameters():
        return layer
    raise TypeError(f"to_sparse supports Linear layers; {type(layer).__name__} holds parameters it cannot convert")


def to_sparse(model: Layer) -> Layer:
    """A new model with every Linear replaced by its `SparseLinear` (CSR) form (name suffix `_csr`)."""
    _check_model(model, "to_sparse")
    return _renamed(_sparsify_layer(copy.deepcopy(model)), "csr")


def sparse_nbytes(model: Layer) -> int:
    """Bytes the model's layers take in CSR form: data + indices + indptr (+ bias) per layer.

    Dense Linear layers are measured by building their CSR form; SparseLinear layers as they are.
    """
    _check_model(model, "sparse_nbytes")
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, Linear):
            layer = SparseLinear.from_linear(layer)
        if isinstance(layer, SparseLinear):
            total += layer.nbytes
        elif layer.parameters():
            raise TypeError(f"sparse_nbytes supports Linear and SparseLinear; {type(layer).__name__} holds parameters")
    return total


def measure_sparsity(model: Layer) -> float:
    """The fraction of weight entries that are zero, over all Linear, Conv2d, their quantized forms and
    SparseLinear layers (biases excluded). Raises ValueError for a model without such layers."""
    _check_model(model, "measure_sparsity")
    zeros = total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, SparseLinear):
            total += layer.in_features * layer.out_features
            zeros += layer.in_features * layer.out_features - layer.weight_csr.count_nonzero()
        elif isinstance(layer, _PRUNABLE):
            weight = layer.weight_q.data if isinstance(layer, _QUANTIZED) else layer.weight.data
            total += weight.size
            zeros += int(np.count_nonzero(weight == 0))
    if total == 0:
        raise ValueError("the model has no Linear, Conv2d, quantized or SparseLinear layer; sparsity is undefined")
    return zeros / total


def csr_break_even_sparsity(in_features: int, out_features: int, value_bytes: int = 4, index_bytes: int = 4) -> float:
    """The sparsity above which a CSR (in, out) weight takes fewer bytes than the dense array."""
    if min(in_features, out_features, value_bytes, index_bytes) < 1:
        raise ValueError("in_features, out_features, value_bytes and index_bytes must all be positive")
    dense = in_features * out_features * value_bytes
    max_nnz = (dense - (in_features + 1) * index_bytes) / (value_bytes + index_bytes)
    return 1.0 - max_nnz / (in_features * out_features)

# %% nbgrader={"grade": false, "grade_id": "compression-sparse-tests", "locked": true, "schema_version": 3, "solution": false}
def test_unit_sparse_linear():
    model = Sequential(Linear(64, 32, seed=0), ReLU(), Linear(32, 10, seed=1))
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    dense_bytes = sum(p.nbytes for p in model.parameters())
    for sparsity in (0.3, 0.9):
        pruned = magnitude_prune(model, sparsity=sparsity)
        sparse = to_sparse(pruned)
        np.testing.assert_allclose(sparse(x).data, pruned(x).data, rtol=1e-5, atol=1e-6)
        assert abs(measure_sparsity(sparse) - sparsity) < 0.01 and measure_sparsity(model) == 0.0
        beats_dense = sparse_nbytes(sparse) < dense_bytes
        assert beats_dense == (sparsity > csr_break_even_sparsity(64, 32)), sparsity
    assert 0.5 < csr_break_even_sparsity(64, 32) < 0.53


test_unit_sparse_linear()

# %% [markdown]
# ## Fine-tuning with the zeros kept
#
# `fine_tune(model, x, y)` trains a copy of a pruned model for a few epochs with mini-batch SGD on the
# softmax cross-entropy loss, in plain NumPy. The model must be a `Sequential` of `Flatten`, `Linear`
# and `ReLU`, optionally ending in a `Softmax`: the loss is computed on the logits before it (the
# usual fused, numerically stable softmax + cross-entropy), and the `Softmax` is kept in the result.
#
# The mask is `weight != 0` at the start; after every step the gradient of a pruned weight is zeroed,
# so pruned weights stay exactly zero. The gradient of the mean loss over a batch with respect to the
# logits is `(softmax(logits) - onehot(y)) / batch`; backpropagation then uses, per layer,
# `dW = a^T g`, `db = sum(g)`, `g <- g W^T` (Linear), `g <- g * (a > 0)` (ReLU), and a reshape (Flatten).
#
# Your task (Task 16.2): `_sgd_step`, one forward and backward pass on a batch and the masked update.

# %% nbgrader={"grade": false, "grade_id": "compression-sgd-step", "locked": false, "schema_version": 3, "solution": true}
#| export
def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of integer `labels` under `softmax(logits)`, computed stably."""
    logits, labels = _as_array(logits), np.asarray(labels)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def _sgd_step(layers: list[Layer], masks: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float) -> float:
    """One SGD step on a batch; updates the Linear layers in place and returns the batch loss.

    Args:
        layers: Flatten, Linear and ReLU layers producing logits.
        masks: one bool array per Linear (in order): True where the weight may change.
        x: the input batch; y: integer labels.
        lr: the learning rate.
    """
    # Task 16.2: forward keeping each layer's input, the loss gradient, then backward with masked updates.
    ### BEGIN SOLUTION
    inputs, h = [], x
    for layer in layers:
        inputs.append(h)
        h = layer.forward(h).data
    loss = softmax_cross_entropy(h, y)
    grad = _softmax(h)
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    linear_index = len(masks)
    for layer, a in zip(reversed(layers), reversed(inputs)):
        if isinstance(layer, Linear):
            linear_index -= 1
            grad_w = (a.T @ grad) * masks[linear_index]
            grad_in = grad @ layer.weight.data.T
            layer.weight.data -= (lr * grad_w).astype(layer.weight.dtype)
            if layer.bias is not None:
                layer.bias.data -= (lr * grad.sum(axis=0)).astype(layer.bias.dtype)
            grad = grad_in
        elif isinstance(layer, ReLU):
            grad = grad * (a > 0)
        else:  # Flatten
            grad = grad.reshape(a.shape)
    return loss
    ### END SOLUTION


def _trainable_layers(model: Layer) -> list[Layer]:
    if not isinstance(model, Sequential):
        raise TypeError(f"fine_tune needs a Sequential model, got {type(model).__name__}")
    layers = list(model.layers)
    if layers and isinstance(layers[-1], Softmax):
        layers = layers[:-1]  # the loss works on the logits; the Softmax stays in the returned model
    for layer in layers:
        if not isinstance(layer, (Flatten, Linear, ReLU)):
            raise TypeError(f"fine_tune supports Sequential of Flatten, Linear and ReLU (a Softmax only at the end); "
                            f"got {type(layer).__name__}: fine-tune the float model before quantizing or converting")
    if not any(isinstance(layer, Linear) for layer in layers):
        raise ValueError("the model has no Linear layer to fine-tune")
    return layers


def _check_training_data(x, y, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_array(x), np.asarray(_as_array(y))
    if x.dtype.kind != "f" or not np.isfinite(x).all():
        raise ValueError(f"x must be finite floats, got dtype {x.dtype}; cast and clean the inputs first")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"y must be a 1-D array of integer class labels, got dtype {y.dtype} and shape {y.shape}")
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"x and y must hold the same, non-zero number of samples; got {len(x)} and {len(y)}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}); got min {y.min()} and max {y.max()}")
    return x, y.astype(np.int64)


def fine_tune(model: Layer, x, y, *, epochs: int = 20, lr: float = 0.05, batch_size: int = 32,
              seed: int = 0) -> Layer:
    """Train a copy of a (pruned) model with mini-batch SGD, keeping zero weights at zero.

    Args:
        model: a Sequential of Flatten, Linear and ReLU, optionally ending in Softmax.
        x: training inputs (N, ...), float; y: integer labels (N,).
        epochs: passes over the data (0 returns an unchanged copy).
        lr: SGD learning rate.
        batch_size: samples per step (the last batch of an epoch may be smaller).
        seed: seeds the shuffling (`np.random.default_rng(seed)`), so runs are reproducible.

    Returns:
        The fine-tuned copy (a model `name` gets the suffix `_ft`); the original is not modified.
    """
    for name, value, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr={lr!r} must be a positive finite number, e.g. 0.05")
    tuned = copy.deepcopy(model)
    layers = _trainable_layers(tuned)
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    x, y = _check_training_data(x, y, linears[-1].out_features)
    masks = [layer.weight.data != 0 for layer in linears]
    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = rng.permutation(len(y))
        for start in range(0, len(y), int(batch_size)):
            batch = order[start:start + int(batch_size)]
            _sgd_step(layers, masks, x[batch], y[batch], float(lr))
    return _renamed(tuned, "ft")

# %% nbgrader={"grade": true, "grade_id": "compression-sgd-step-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_fine_tune():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = magnitude_prune(Sequential(Linear(6, 8, seed=0), ReLU(), Linear(8, 2, seed=1), Softmax()), 0.5)
    zeros = [layer.weight.data == 0 for layer in (model.layers[0], model.layers[2])]
    logits = lambda m: Sequential(*m.layers[:-1])(x)
    tuned = fine_tune(model, x, y, epochs=30, lr=0.1, batch_size=16)
    assert softmax_cross_entropy(logits(tuned), y) < softmax_cross_entropy(logits(model), y)
    for mask, layer in zip(zeros, (tuned.layers[0], tuned.layers[2])):
        assert (layer.weight.data[mask] == 0).all(), "pruned weights must stay exactly zero"
    assert isinstance(tuned.layers[-1], Softmax)


test_unit_fine_tune()
print("Compression tests passed")
