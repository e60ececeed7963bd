import numpy as np
import pytest

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.tensor import Tensor

# Sequential's finiteness check is one dot product with zeros; an infinite input makes NumPy warn
# "invalid value" (inf * 0) just before the ValueError these tests expect.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in dot:RuntimeWarning")


@pytest.mark.task("layers-linear")
def test_linear_matches_numpy_for_batch_and_single_sample():
    layer = Linear(5, 3, seed=7)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expected = x @ layer.weight.data + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-6)
    np.testing.assert_allclose(layer(Tensor(x[1])).data, expected[1], rtol=1e-6)


def test_linear_initialisation_is_seeded_and_leaves_global_rng_alone():
    state = np.random.get_state()[1].copy()
    a, b, c = Linear(8, 4, seed=3), Linear(8, 4, seed=3), Linear(8, 4, seed=4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    assert a.weight.dtype == np.float32
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.task("layers-linear")
@pytest.mark.parametrize("shape", [(2, 4), (6,), ()])
def test_linear_rejects_wrong_width_or_rank_naming_the_shape(shape):
    with pytest.raises(ValueError, match="last dimension must be 5"):
        Linear(5, 2)(np.ones(shape, dtype=np.float32))


@pytest.mark.task("layers-linear")
def test_linear_rejects_integer_input_with_the_fix():
    with pytest.raises(TypeError, match="cast it to float"):
        Linear(3, 2)(np.ones((1, 3), dtype=np.int64))


def test_linear_without_bias_and_bad_sizes():
    layer = Linear(3, 2, bias=False)
    assert layer.parameters() == [layer.weight]
    with pytest.raises(ValueError, match="in_features=0"):
        Linear(0, 2)


def test_relu_softmax_flatten():
    x = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(ReLU()(x).data, [[0.0, 0.0, 2.0]])
    big = np.array([[1000.0, 1001.0]], dtype=np.float32)
    probs = Softmax()(big).data
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-6)
    assert Flatten()(np.zeros((3, 2, 4))).shape == (3, 8)
    with pytest.raises(ValueError, match="batch"):
        Flatten()(np.zeros(4))


def test_sequential_chains_layers_and_collects_parameters():
    first, second = Linear(4, 3, seed=0), Linear(3, 2, seed=1)
    model = Sequential([first, ReLU(), second], name="tiny")
    x = np.ones((2, 4), dtype=np.float32)
    expected = np.maximum(x @ first.weight.data + first.bias.data, 0) @ second.weight.data + second.bias.data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-6)
    assert model.name == "tiny" and len(model) == 3 and model[2] is second
    assert [p.shape for p in model.parameters()] == [(4, 3), (3,), (3, 2), (2,)]


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_sequential_rejects_non_finite_input(value):
    x = np.ones((1, 4), dtype=np.float32)
    x[0, 2] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        Sequential(Linear(4, 2))(x)


def test_sequential_rejects_non_layers_and_base_layer_needs_forward():
    with pytest.raises(TypeError, match="forward"):
        Sequential(42)
    with pytest.raises(NotImplementedError, match="forward"):
        Layer()(np.ones(2))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 5, 11])
def test_sequential_rejects_any_non_finite_value_in_any_float_dtype(dtype, bad, position):
    x = np.linspace(-1, 1, 12).astype(dtype).reshape(2, 6)
    x.flat[position] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        Sequential(Linear(6, 2))(x)


@pytest.mark.parametrize("dtype,huge", [(np.float16, 60000.0), (np.float32, 3e38), (np.float64, 1e300)])
def test_sequential_accepts_huge_finite_values(dtype, huge):
    # The fast finiteness check squares the values; their overflow must not be mistaken for infinity.
    x = np.full((2, 6), huge, dtype=dtype)
    assert Sequential(ReLU())(x).shape == (2, 6)


def test_sequential_checks_non_contiguous_inputs():
    x = np.zeros((4, 6), dtype=np.float32)
    x[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        Sequential(ReLU())(x[:, ::3])  # a strided view: columns 0 and 3


def test_sequential_chains_arrays_and_wraps_only_the_result():
    model = Sequential(Flatten(), Linear(4, 3, seed=0), ReLU(), Linear(3, 2, seed=1))
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    out = model(x)
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, model.forward_array(x))
    step_by_step = x
    for layer in model.layers:
        step_by_step = layer(step_by_step).data
    np.testing.assert_array_equal(out.data, step_by_step)


def test_sequential_accepts_layers_that_override_forward_only_and_plain_objects():
    class Double(Layer):
        def forward(self, x):
            return Tensor(np.asarray(x.data if isinstance(x, Tensor) else x) * 2)

    class Negate:  # not a Layer: only a forward method
        def forward(self, x):
            return -np.asarray(x)

    model = Sequential(Double(), Negate())
    np.testing.assert_array_equal(model(np.ones((1, 3), dtype=np.float32)).data, -2 * np.ones((1, 3)))
    with pytest.raises(NotImplementedError, match="forward_array"):
        Sequential(Layer())(np.ones((1, 2), dtype=np.float32))
