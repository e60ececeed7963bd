import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import scipy.sparse

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.compression import (SparseLinear, _sgd_step, csr_break_even_sparsity, fine_tune,
                                                magnitude_prune, measure_sparsity, smallest_magnitude_mask,
                                                softmax_cross_entropy, sparse_nbytes, to_sparse)
from tinytorch.optimization.quantization import QuantizedLinear, quantize_model


def _mlp(seed: int = 0) -> Sequential:
    model = Sequential(Flatten(), Linear(64, 32, seed=seed), ReLU(), Linear(32, 10, seed=seed + 1), Softmax(),
                       name="mlp")
    model.layers[1].bias = Tensor(np.linspace(-0.1, 0.1, 32, dtype=np.float32))
    return model


def _weights(model):
    return [layer.weight.data for layer in model.layers if isinstance(layer, Linear)]


def _blobs(n=200, seed=0):
    """A small labelled problem: 4 Gaussian clusters in 8x8 'images'."""
    centres = np.random.default_rng(42).standard_normal((4, 64)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = centres[y] + 0.8 * rng.standard_normal((n, 64)).astype(np.float32)
    return x.reshape(n, 8, 8), y


@pytest.mark.task("compression-mask")
def test_mask_marks_exactly_floor_of_the_fraction_and_the_smallest():
    values = np.random.default_rng(0).random((13, 7))
    for sparsity in (0.0, 0.1, 0.5, 0.77, 0.99):
        mask = smallest_magnitude_mask(values, sparsity)
        assert mask.sum() == int(np.floor(sparsity * values.size))
        if 0 < mask.sum() < values.size:
            assert values[mask].max() <= values[~mask].min()


@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_prune_returns_a_new_model_with_the_requested_sparsity(scope, sparsity):
    model = _mlp()
    snapshot = [p.data.copy() for p in model.parameters()]
    pruned = magnitude_prune(model, sparsity=sparsity, scope=scope)
    assert pruned is not model and pruned.name == f"mlp_pruned{round(100 * sparsity)}" and model.name == "mlp"
    for before, after in zip(snapshot, model.parameters()):
        np.testing.assert_array_equal(before, after.data)
    assert abs(measure_sparsity(pruned) - sparsity) < 0.002
    np.testing.assert_array_equal(pruned.layers[1].bias.data, model.layers[1].bias.data)
    kept = [w[w != 0] for w in _weights(pruned)]
    assert all(np.isin(k, w).all() for k, w in zip(kept, _weights(model))), "kept weights keep their values"


def test_global_scope_uses_one_threshold_and_layer_scope_one_per_layer():
    model = _mlp()
    model.layers[3].weight.data *= 0.01  # a layer of small weights
    global_pruned = magnitude_prune(model, 0.5, scope="global")
    layer_pruned = magnitude_prune(model, 0.5, scope="layer")
    small_g, small_l = (m.layers[3].weight.data for m in (global_pruned, layer_pruned))
    assert (small_g == 0).mean() == 1.0, "global: the small layer goes first"
    assert (small_l == 0).mean() == 0.5 and (layer_pruned.layers[1].weight.data == 0).mean() == 0.5
    largest_removed = max(np.abs(w[p == 0]).max() for w, p in zip(_weights(model), _weights(global_pruned)))
    smallest_kept = min(np.abs(p[p != 0]).min() for p in _weights(global_pruned) if (p != 0).any())
    assert largest_removed <= smallest_kept


@pytest.mark.parametrize("sparsity", [1.0, -0.01, 1.5, np.nan, True, "0.5", None])
def test_bad_sparsity_is_a_value_error_naming_it(sparsity):
    with pytest.raises(ValueError, match=r"sparsity=.*\[0, 1\)"):
        magnitude_prune(_mlp(), sparsity=sparsity)


def test_unknown_scope_and_models_without_linear_layers():
    with pytest.raises(ValueError, match="scope='rows'"):
        magnitude_prune(_mlp(), 0.5, scope="rows")
    with pytest.raises(ValueError, match="no Linear"):
        magnitude_prune(Sequential(ReLU()), 0.5)
    with pytest.raises(TypeError, match="Layer"):
        magnitude_prune(np.ones(3), 0.5)
    with pytest.raises(ValueError, match="undefined"):
        measure_sparsity(Sequential(ReLU()))


def test_quantized_models_are_pruned_by_real_magnitude():
    quantized = quantize_model(_mlp())
    pruned = magnitude_prune(quantized, 0.5)
    assert isinstance(pruned.layers[1], QuantizedLinear)
    assert abs(measure_sparsity(pruned) - 0.5) < 0.002 and measure_sparsity(quantized) < 0.05
    assert (quantized.layers[1].weight_q.data != 0).mean() > 0.95, "the original stays untouched"


def test_sparse_linear_matches_the_dense_layer_batch_and_single():
    pruned = magnitude_prune(_mlp(), 0.7)
    sparse = to_sparse(pruned)
    assert isinstance(sparse.layers[1], SparseLinear) and isinstance(pruned.layers[1], Linear)
    assert isinstance(sparse.layers[1].weight_csr, scipy.sparse.csr_matrix)
    x, _ = _blobs(20)
    np.testing.assert_allclose(sparse(x).data, pruned(x).data, rtol=1e-5, atol=1e-6)
    layer = sparse.layers[1]
    row = x.reshape(20, 64)[3]
    np.testing.assert_allclose(layer(row).data, pruned.layers[1](row).data, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.to_dense().weight.data, pruned.layers[1].weight.data)
    assert layer.nnz == int((pruned.layers[1].weight.data != 0).sum())


def test_sparse_linear_checks_its_inputs():
    layer = SparseLinear.from_linear(Linear(4, 2))
    with pytest.raises(ValueError, match="got input of shape"):
        layer(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="cast it to float"):
        layer(np.ones((2, 4), dtype=np.int32))
    with pytest.raises(TypeError, match="scipy.sparse"):
        SparseLinear(np.ones((4, 2)))
    with pytest.raises(ValueError, match="bias must have shape"):
        SparseLinear(scipy.sparse.csr_matrix(np.ones((4, 2))), bias=np.ones(3))


def test_sparse_bytes_count_data_indices_indptr_and_bias_and_shrink_with_sparsity():
    model = _mlp()
    sizes = []
    for sparsity in (0.0, 0.25, 0.5, 0.75, 0.9):
        pruned = magnitude_prune(model, sparsity)
        nnz = sum(int((w != 0).sum()) for w in _weights(pruned))
        expected = nnz * (4 + 4) + (64 + 1) * 4 + (32 + 1) * 4 + (32 + 10) * 4
        assert sparse_nbytes(pruned) == expected == sparse_nbytes(to_sparse(pruned))
        sizes.append(expected)
    assert sizes == sorted(sizes, reverse=True)


def test_csr_beats_dense_exactly_past_the_break_even_sparsity():
    linear = Linear(64, 32, bias=False)
    dense_bytes = linear.weight.nbytes
    threshold = csr_break_even_sparsity(64, 32)
    for sparsity in np.arange(0.40, 0.65, 0.01):
        pruned = magnitude_prune(linear, float(sparsity))
        smaller = sparse_nbytes(pruned) < dense_bytes
        assert smaller == (measure_sparsity(pruned) > threshold), sparsity
    with pytest.raises(ValueError, match="positive"):
        csr_break_even_sparsity(0, 3)


def test_sparse_parameters_and_buffers():
    layer = SparseLinear.from_linear(magnitude_prune(Linear(8, 4, seed=0), 0.5))
    params, buffers = layer.parameters(), layer.buffers()
    assert params[0].shape == (16,) and params[1] is layer.bias
    assert [b.shape for b in buffers] == [(16,), (9,)]
    assert layer.nbytes == sum(t.nbytes for t in params + buffers)


def test_softmax_cross_entropy_matches_the_definition():
    logits = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 1000.0]])
    labels = np.array([0, 2])
    p0 = np.exp(2.0) / np.exp([2.0, 1.0, 0.1]).sum()
    assert softmax_cross_entropy(logits, labels) == pytest.approx(-np.log(p0) / 2, rel=1e-9)


@pytest.mark.task("compression-sgd-step")
def test_sgd_step_follows_the_numerical_gradient():
    rng = np.random.default_rng(1)
    layers = [Flatten(), Linear(6, 5, seed=0), ReLU(), Linear(5, 3, seed=1)]
    for layer in layers[1::2]:
        layer.weight = Tensor(layer.weight.data.astype(np.float64))
        layer.bias = Tensor(rng.standard_normal(layer.out_features))
    x, y = rng.standard_normal((7, 2, 3)), rng.integers(0, 3, 7)
    loss_of = lambda: softmax_cross_entropy(Sequential(*layers)(x).data, y)
    w = layers[1].weight.data
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        saved = w[index]
        w[index] = saved + 1e-6
        up = loss_of()
        w[index] = saved - 1e-6
        numeric[index] = (up - loss_of()) / 2e-6
        w[index] = saved
    before = w.copy()
    masks = [np.ones((6, 5), bool), np.ones((5, 3), bool)]
    _sgd_step(layers, masks, x, y, lr=0.5)
    np.testing.assert_allclose((before - layers[1].weight.data) / 0.5, numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.task("compression-sgd-step")
def test_fine_tune_recovers_accuracy_keeps_zeros_and_is_reproducible():
    x, y = _blobs(300)
    x_test, y_test = _blobs(200, seed=1)
    trained = fine_tune(_mlp(), x, y, epochs=15, lr=0.05)
    accuracy = lambda m: float((m(x_test).data.argmax(-1) == y_test).mean())
    assert accuracy(trained) > 0.9
    pruned = magnitude_prune(trained, 0.9)
    tuned = fine_tune(pruned, x, y, epochs=10, lr=0.05, seed=3)
    assert accuracy(tuned) >= accuracy(pruned)
    for before, after in zip(_weights(pruned), _weights(tuned)):
        assert (after[before == 0] == 0).all()
        assert not np.array_equal(before[before != 0], after[before != 0])
    assert measure_sparsity(tuned) == measure_sparsity(pruned)
    again = fine_tune(pruned, x, y, epochs=10, lr=0.05, seed=3)
    for a, b in zip(_weights(tuned), _weights(again)):
        np.testing.assert_array_equal(a, b)
    assert isinstance(tuned.layers[-1], Softmax) and tuned.layers[1].weight.dtype == np.float32
    assert tuned.name == "mlp_ft_pruned90_ft" and to_sparse(tuned).name == "mlp_ft_pruned90_ft_csr"
    np.testing.assert_array_equal(_weights(fine_tune(pruned, x, y, epochs=0))[0], _weights(pruned)[0])


def test_fine_tune_rejects_bad_arguments_and_unsupported_models():
    x, y = _blobs(40)
    model = _mlp()
    with pytest.raises(ValueError, match="epochs=-1"):
        fine_tune(model, x, y, epochs=-1)
    with pytest.raises(ValueError, match="batch_size=0"):
        fine_tune(model, x, y, batch_size=0)
    with pytest.raises(ValueError, match="lr=0"):
        fine_tune(model, x, y, lr=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        fine_tune(model, x, y + 10)
    with pytest.raises(ValueError, match="integer class labels"):
        fine_tune(model, x, y.astype(np.float32))
    with pytest.raises(ValueError, match="same, non-zero number"):
        fine_tune(model, x, y[:-1])
    with pytest.raises(ValueError, match="finite floats"):
        fine_tune(model, x.astype(np.int64), y)
    with pytest.raises(TypeError, match="QuantizedLinear"):
        fine_tune(quantize_model(model), x, y)
    with pytest.raises(TypeError, match="Sequential"):
        fine_tune(Linear(64, 10), x.reshape(40, 64), y)
    with pytest.raises(TypeError, match="Softmax"):
        fine_tune(Sequential(Flatten(), Softmax(), Linear(64, 10)), x, y)


def test_unknown_parameter_layers_are_errors_everywhere():
    class Gain(Layer):
        def __init__(self):
            self.gain = Tensor(np.ones(10, dtype=np.float32))

        def forward(self, x):
            return Tensor(np.asarray(x) * self.gain.data)

        def parameters(self):
            return [self.gain]

    model = Sequential(Linear(64, 10), Gain())
    for function in (lambda m: magnitude_prune(m, 0.5), to_sparse, sparse_nbytes):
        with pytest.raises(TypeError, match="Gain"):
            function(model)


def test_sparse_flops_count_every_row_of_a_sample():
    layer = SparseLinear.from_linear(magnitude_prune(Linear(6, 4, seed=0), 0.5))
    assert layer.nnz == 12
    assert layer.flops_per_sample((6,)) == 2 * 12 + 4
    assert layer.flops_per_sample((3, 6)) == 3 * (2 * 12 + 4)


@pytest.mark.task("compression-mask")
@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 200), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5])),
       st.floats(0, 0.999))
def test_mask_law_exact_count_and_smallest_first_even_with_ties(values, sparsity):
    mask = smallest_magnitude_mask(values, sparsity)
    assert mask.sum() == int(np.floor(sparsity * values.size))
    if 0 < mask.sum() < values.size:
        assert values[mask].max() <= values[~mask].min()


# --- Conv2d (Module 09): unstructured pruning of filters; the CSR and fine-tuning paths refuse it --

from tinytorch.core.spatial import Conv2d, GlobalMaxPool2d  # noqa: E402
from tinytorch.optimization.quantization import quantize_model as _quantize  # noqa: E402


def _cnn() -> Sequential:
    return Sequential(Conv2d(3, 4, 3, padding=1, seed=0), ReLU(), Conv2d(4, 6, 3, stride=2, seed=1), ReLU(),
                      GlobalMaxPool2d(), Linear(6, 2, seed=2), name="cnn")


def test_layer_scope_prunes_each_conv_filter_bank_by_its_own_ranking():
    model = _cnn()
    pruned = magnitude_prune(model, sparsity=0.5, scope="layer")
    pairs = [(a.weight.data, b.weight.data) for a, b in zip(model.layers, pruned.layers)
             if isinstance(a, (Conv2d, Linear))]
    assert len(pairs) == 3
    for original, w in pairs:
        kept = w != 0
        assert int((~kept).sum()) == original.size // 2
        np.testing.assert_array_equal(w[kept], original[kept])
        assert np.abs(original[~kept]).max() <= np.abs(original[kept]).min()
    assert measure_sparsity(pruned) == pytest.approx(0.5, abs=0.01)
    assert pruned.name == "cnn_pruned50" and measure_sparsity(model) == 0.0


def test_global_conv_pruning_removes_exactly_the_smallest_magnitudes():
    model = _cnn()
    everything = np.concatenate([layer.weight.data.ravel() for layer in model.layers
                                 if isinstance(layer, (Conv2d, Linear))])
    pruned = magnitude_prune(model, sparsity=0.3)
    remaining = np.concatenate([layer.weight.data.ravel() for layer in pruned.layers
                                if isinstance(layer, (Conv2d, Linear))])
    removed = everything[remaining == 0]
    assert removed.size == int(0.3 * everything.size)
    assert np.abs(removed).max() <= np.abs(everything[remaining != 0]).min()


def test_pruning_a_quantized_cnn_uses_real_magnitudes_and_keeps_predictions_close():
    model = _cnn()
    quantized = _quantize(model)
    pruned = magnitude_prune(quantized, sparsity=0.2)
    total = sum(layer.weight_q.size for layer in pruned.layers if hasattr(layer, "weight_q"))
    assert measure_sparsity(pruned) == int(0.2 * total) / total  # floor(sparsity * n) codes, none zero before
    x = np.random.default_rng(0).random((4, 9, 9, 3), dtype=np.float32)
    assert pruned(x).data.shape == (4, 2)
    np.testing.assert_array_equal(pruned.layers[0].scale.data, quantized.layers[0].scale.data)


def test_sparse_and_fine_tune_paths_refuse_conv_layers_with_a_clear_error():
    with pytest.raises(TypeError, match="Conv2d"):
        to_sparse(_cnn())
    with pytest.raises(TypeError, match="Conv2d"):
        sparse_nbytes(_cnn())
    x = np.random.default_rng(0).random((4, 9, 9, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="Conv2d"):
        fine_tune(_cnn(), x, np.array([0, 1, 0, 1]), epochs=1)
