import numpy as np
import pytest

from tinytorch.core.tensor import Tensor


@pytest.mark.parametrize("dtype,itemsize", [(np.int8, 1), (np.float16, 2), (np.float32, 4), (np.float64, 8)])
def test_dtype_is_kept_and_nbytes_is_honest(dtype, itemsize):
    t = Tensor(np.zeros((3, 5), dtype=dtype))
    assert t.dtype == dtype
    assert t.nbytes == 15 * itemsize


def test_python_floats_default_to_float32_and_ints_stay_ints():
    assert Tensor([1.5, 2.5]).dtype == np.float32
    assert np.issubdtype(Tensor([1, 2]).dtype, np.integer)


def test_arithmetic_matches_numpy_with_broadcasting():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    t = Tensor(a)
    np.testing.assert_allclose((t + b).data, a + b)
    np.testing.assert_allclose((b + t).data, b + a)
    np.testing.assert_allclose((t - b).data, a - b)
    np.testing.assert_allclose((2 * t).data, 2 * a)
    np.testing.assert_allclose((t / 2).data, a / 2)
    np.testing.assert_allclose((-t).data, -a)


@pytest.mark.task("tensor-class")
@pytest.mark.parametrize("left,right", [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,))])
def test_matmul_matches_numpy(left, right):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(left), rng.standard_normal(right)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b)
    np.testing.assert_allclose((a @ Tensor(b)).data, a @ b)


@pytest.mark.task("tensor-class")
def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        Tensor(np.ones((2, 3))).matmul(np.ones((4, 2)))


@pytest.mark.task("tensor-class")
def test_matmul_of_scalars_is_an_error():
    with pytest.raises(ValueError, match="1-D"):
        Tensor(3.0).matmul(Tensor(2.0))


def test_views_reshape_index_and_reductions():
    t = Tensor(np.arange(12, dtype=np.int32))
    assert t.reshape(3, 4).shape == (3, 4) and t.reshape((4, 3)).shape == (4, 3)
    assert t[2:5].shape == (3,)
    assert int(t.sum().data) == 66
    assert t.reshape(3, 4).argmax(axis=-1).data.tolist() == [3, 3, 3]
    assert np.asarray(t).dtype == np.int32
