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
# # Module 01: Tensor
#
# Every later module, the benchmarks of Module 19 included, passes data around as a `Tensor`: a thin
# wrapper over a NumPy array. Two properties matter for benchmarking and are easy to get wrong:
#
# - **The dtype is kept.** An `int8` tensor holds one byte per element. If a wrapper silently
#   upcast to `float32`, a quantized model would look no smaller than the original.
# - **`nbytes` is honest.** It is the size of the buffer the values live in, nothing estimated.
#
# Python lists of floats become `float32` (the usual deep-learning default); NumPy arrays keep the
# dtype they already have.

# %% nbgrader={"grade": false, "grade_id": "tensor-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp core.tensor
#| export
from __future__ import annotations

import numpy as np

# %% [markdown]
# ## The Tensor class
#
# Arithmetic is delegated to NumPy, so broadcasting follows NumPy's rules. Your task (Task 01.1) is `matmul`,
# the operation a `Linear` layer spends its time in: check that the inner dimensions agree and raise a
# `ValueError` that names both shapes when they do not, then multiply.
#
# *Hint:* `np.matmul` handles batches; the inner dimensions are `a.shape[-1]` and `b.shape[-2]`
# (or `b.shape[0]` when `b` is a vector).

# %% nbgrader={"grade": false, "grade_id": "tensor-class", "locked": false, "schema_version": 3, "solution": true}
#| export
def _as_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    array = np.asarray(data)
    if array.dtype == np.float64:  # Python floats: use the deep-learning default
        array = array.astype(np.float32)
    return array


class Tensor:
    """An n-dimensional array of numbers backed by NumPy.

    Args:
        data: a NumPy array (its dtype is kept), a Tensor, a scalar or a nested list.
        dtype: optional NumPy dtype to convert to.
    """

    __array_priority__ = 100  # so `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, dtype=None):
        # The common case, an ndarray kept as it is, skips the conversion call: layers create a
        # Tensor per output, and at batch 1 that overhead is a visible part of an inference.
        self.data = data if dtype is None and type(data) is np.ndarray else _as_array(data, dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def nbytes(self) -> int:
        """Bytes of the buffer holding the values: size x itemsize of the real dtype."""
        return self.data.nbytes

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index) -> Tensor:
        return Tensor(self.data[index])

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, dtype={self.dtype})"

    def astype(self, dtype) -> Tensor:
        return Tensor(self.data.astype(dtype))

    def reshape(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Tensor(self.data.reshape(shape))

    @property
    def T(self) -> Tensor:
        return Tensor(self.data.T)

    def sum(self, axis=None) -> Tensor:
        return Tensor(self.data.sum(axis=axis))

    def mean(self, axis=None) -> Tensor:
        return Tensor(self.data.mean(axis=axis))

    def max(self, axis=None) -> Tensor:
        return Tensor(self.data.max(axis=axis))

    def argmax(self, axis=-1) -> Tensor:
        return Tensor(self.data.argmax(axis=axis))

    def __add__(self, other) -> Tensor:
        return Tensor(self.data + _as_array(other))

    def __radd__(self, other) -> Tensor:
        return Tensor(_as_array(other) + self.data)

    def __sub__(self, other) -> Tensor:
        return Tensor(self.data - _as_array(other))

    def __rsub__(self, other) -> Tensor:
        return Tensor(_as_array(other) - self.data)

    def __mul__(self, other) -> Tensor:
        return Tensor(self.data * _as_array(other))

    def __rmul__(self, other) -> Tensor:
        return Tensor(_as_array(other) * self.data)

    def __truediv__(self, other) -> Tensor:
        return Tensor(self.data / _as_array(other))

    def __neg__(self) -> Tensor:
        return Tensor(-self.data)

    def matmul(self, other) -> Tensor:
        """Matrix product `self @ other`.

        Raises:
            ValueError: if the inner dimensions differ; the message names both shapes.
        """
        other = _as_array(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {self.shape} and {other.shape}")
        # Task 01.1: check the inner dimensions, then multiply with NumPy.
        ### BEGIN SOLUTION
        inner_other = other.shape[0] if other.ndim == 1 else other.shape[-2]
        if self.shape[-1] != inner_other:
            raise ValueError(
                f"matmul shape mismatch: {self.shape} @ {other.shape}; the last dimension of the left "
                f"operand ({self.shape[-1]}) must equal the first matrix dimension of the right ({inner_other})")
        return Tensor(np.matmul(self.data, other))
        ### END SOLUTION

    def __matmul__(self, other) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other) -> Tensor:
        return Tensor(_as_array(other)).matmul(self)

# %% [markdown]
# ## Testing the Tensor
#
# The tests below check creation, dtype preservation, `nbytes` and `matmul`, including the error.

# %% nbgrader={"grade": true, "grade_id": "tensor-class-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_tensor_creation():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.shape == (2, 2) and t.dtype == np.float32
    assert Tensor(np.arange(6, dtype=np.int8)).dtype == np.int8, "an int8 array must stay int8"
    assert Tensor(np.zeros((10, 10), dtype=np.int8)).nbytes == 100
    assert Tensor(np.zeros((10, 10), dtype=np.float32)).nbytes == 400


def test_unit_tensor_matmul():
    a = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = Tensor(np.ones((3, 4), dtype=np.float32))
    np.testing.assert_allclose((a @ b).data, np.arange(6).reshape(2, 3) @ np.ones((3, 4)))
    try:
        a @ Tensor(np.ones((2, 2)))
    except ValueError as error:
        assert "(2, 3)" in str(error) and "(2, 2)" in str(error), "the error must name both shapes"
    else:
        raise AssertionError("matmul with mismatched inner dimensions must raise ValueError")


test_unit_tensor_creation()
test_unit_tensor_matmul()
print("Tensor tests passed")
