"""The reference models: folding preprocessing into the first layer is exact; training is deterministic."""
import numpy as np

from tinytorch.benchmarking import tinymlperf as tm
from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential


def test_pooling_folded_into_the_first_layer_is_exact():
    rng = np.random.default_rng(0)
    images = rng.random((3, 96, 96, 3))
    weight = rng.standard_normal((24 * 24 * 3, 5))
    np.testing.assert_allclose(tm._pool_images(images, 4) @ weight,
                               images.reshape(3, -1) @ tm._unpool_weight(weight, 4), rtol=1e-10)


def test_reference_models_are_plain_sequentials_and_deterministic(bench, tmp_path):
    model = bench.reference_model("anomaly_detection")
    assert isinstance(model, Sequential) and isinstance(model.layers[0], Flatten)
    assert all(isinstance(layer, (Flatten, Linear, ReLU)) for layer in model.layers)
    data = bench.load_data("anomaly_detection")
    again = tm._sequential_from(tm._fit_reference("anomaly_detection", data, seed=bench.data_seed % 2**31)[0], "again")
    for a, b in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_training_leaves_the_global_random_state_alone(bench):
    state = np.random.get_state()[1].copy()
    tm._train_network(np.ones((8, 3)), np.zeros(8, dtype=np.int64), (4,), 2, "cross_entropy", 2, 0.01, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
