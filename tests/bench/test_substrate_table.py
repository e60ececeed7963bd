"""The optimization targets of issue 3 on the shipped reference model, through bench/substrate_table.py."""
import importlib.util
from pathlib import Path

import pytest

from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("substrate_table", ROOT / "bench" / "substrate_table.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = load_tinydigits()
    variants = bench.build_variants(load_reference_model("tinydigits_mlp"), data.x_train, data.y_train)
    return bench.measure(variants, data.x_test, data.y_test, iterations=5).set_index("model")


def test_int8_is_within_one_point_at_under_thirty_percent_of_the_bytes(table):
    base, int8 = table.loc["baseline fp32"], table.loc["int8 per-channel"]
    assert base["accuracy"] >= 0.95
    assert abs(int8["accuracy"] - base["accuracy"]) <= 0.01 + 1e-9
    assert int8["param_bytes"] <= 0.30 * base["param_bytes"]


def test_half_pruned_and_fine_tuned_is_within_one_point(table):
    base, tuned = table.loc["baseline fp32"], table.loc["pruned 50% + fine-tune"]
    assert abs(tuned["accuracy"] - base["accuracy"]) <= 0.01 + 1e-9
    assert tuned["sparsity"] == pytest.approx(0.5, abs=0.001)


def test_csr_bytes_shrink_with_sparsity_and_latencies_are_measured(table):
    assert table.loc["pruned 90%", "csr_bytes"] < table.loc["pruned 50%", "csr_bytes"] < table.loc[
        "baseline fp32", "csr_bytes"]
    assert (table["latency_dense_ms"] > 0).all()
