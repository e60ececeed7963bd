"""compare_optimization_techniques, ablations in both orders, and the run-count advice (fake clock)."""

import numpy as np
import pytest

from tinytorch.benchmarking.benchmark import (BenchmarkResult, compare_ablation_orders,
                                              compare_optimization_techniques, difference_test,
                                              optimize_benchmark_configuration, run_ablation)
from tinytorch.benchmarking.recommendations import recommend_optimizations as _recommend
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model
from tinytorch.optimization.compression import magnitude_prune
from tinytorch.optimization.quantization import quantize_model
from tinytorch.utils.testing import FakeClock

FAST = {"warmup_runs": 1, "measurement_runs": 3, "energy_block_seconds": 0.002}
STEPS = [("quantize", quantize_model), ("prune", lambda model: magnitude_prune(model, sparsity=0.5))]


def digits():
    return [load_tinydigits().test]


@pytest.fixture(scope="module")
def comparison():
    # "tinydigits_mlp" is a substring of the other names: matching must be exact
    optimized = [load_reference_model("tinydigits_mlp_int8"), load_reference_model("tinydigits_mlp_pruned50")]
    return compare_optimization_techniques(load_reference_model("tinydigits_mlp"), optimized, digits(), **FAST)


def test_comparison_keys_come_from_measurements(comparison):
    assert set(comparison) >= {"base_model", "base_metrics", "optimized_results", "improvements",
                               "efficiency_metrics", "recommendations"}
    assert comparison["base_model"] == "tinydigits_mlp"
    results = comparison["results"]
    assert comparison["base_metrics"]["latency"] == results["latency"]["tinydigits_mlp"].mean
    assert comparison["optimized_results"]["tinydigits_mlp_int8"]["memory"] == results["memory"]["tinydigits_mlp_int8"].mean
    improvement = comparison["improvements"]["tinydigits_mlp_int8"]
    assert improvement["latency_speedup"] == pytest.approx(
        results["latency"]["tinydigits_mlp"].mean / results["latency"]["tinydigits_mlp_int8"].mean)
    assert improvement["accuracy_retention"] == pytest.approx(
        results["accuracy"]["tinydigits_mlp_int8"].mean / results["accuracy"]["tinydigits_mlp"].mean)
    for key in ("latency_speedup", "memory_speedup", "energy_speedup", "accuracy_retention"):
        assert isinstance(improvement[f"{key}_significant"], bool) and f"{key}_p_value" in improvement
    efficiency = comparison["efficiency_metrics"]["tinydigits_mlp_int8"]
    assert efficiency["accuracy_per_ms"] == pytest.approx(
        results["accuracy"]["tinydigits_mlp_int8"].mean / results["latency"]["tinydigits_mlp_int8"].mean)
    for slot in ("for_latency_critical", "for_memory_constrained", "for_accuracy_preservation",
                 "for_balanced_deployment"):
        pick = comparison["recommendations"][slot]
        assert set(pick) == {"model", "reason", "use_case"} and pick["model"] in ("tinydigits_mlp", "tinydigits_mlp_int8", "tinydigits_mlp_pruned50")


def test_comparison_bad_input():
    base = load_reference_model("tinydigits_mlp")
    with pytest.raises(ValueError, match="at least one optimized model"):
        compare_optimization_techniques(base, [], digits())


def noisy(name, values):
    return BenchmarkResult(name, values, {}, unit="ms")


def test_a_speedup_inside_the_noise_is_reported_as_such():
    base = noisy("b", [10.0, 10.5, 9.5, 10.2, 9.8])
    same = noisy("s", [9.8, 10.4, 9.4, 10.1, 9.6])
    test = difference_test(base, same, "latency")
    assert test["significant"] is False and test["p_value"] > 0.05 and test["verdict"] == "no detectable difference"
    improvements = {"same": {"latency_speedup": 1.02, "latency_speedup_significant": False,
                             "memory_speedup": 1.0, "memory_speedup_significant": False,
                             "energy_speedup": 1.01, "energy_speedup_significant": False,
                             "accuracy_retention": 1.0, "accuracy_retention_significant": False}}
    picks = _recommend("base", improvements, 0.99)
    assert picks["for_latency_critical"]["model"] == "base"
    assert "no optimized model" in picks["for_latency_critical"]["reason"]
    assert picks["for_balanced_deployment"]["model"] == "base"


def test_retention_floor_excludes_a_fast_but_inaccurate_model():
    improvements = {"fast_bad": {"latency_speedup": 3.0, "latency_speedup_significant": True,
                                 "memory_speedup": 3.0, "memory_speedup_significant": True,
                                 "energy_speedup": 3.0, "energy_speedup_significant": True,
                                 "accuracy_retention": 0.8, "accuracy_retention_significant": True}}
    picks = _recommend("base", improvements, 0.99)
    assert picks["for_latency_critical"]["model"] == "base"
    assert _recommend("base", improvements, 0.75)["for_latency_critical"]["model"] == "fast_bad"


@pytest.fixture(scope="module")
def orders():
    return compare_ablation_orders(load_reference_model("tinydigits_mlp"), STEPS, digits(), **FAST)


def test_ablation_orders_on_the_reference_model(orders):
    assert list(orders["order"].unique()) == ["quantize -> prune", "prune -> quantize"]
    assert list(orders["model"]) == ["tinydigits_mlp", "tinydigits_mlp+quantize", "tinydigits_mlp+quantize+prune",
                                     "tinydigits_mlp", "tinydigits_mlp+prune", "tinydigits_mlp+prune+quantize"]
    base_size = orders["model_size_mb"].iloc[0]
    quantized = orders.set_index("model")["model_size_mb"]["tinydigits_mlp+quantize"]
    assert quantized < base_size / 2, "int8 weights take a quarter of the bytes (plus scales)"
    first = orders.iloc[1]
    assert first["delta_model_size_mb"] == pytest.approx(first["model_size_mb"] - base_size)
    assert orders["accuracy"].between(0, 1).all()


def test_ablation_does_not_touch_the_base_model():
    base = load_reference_model("tinydigits_mlp")
    before = [p.data.copy() for p in base.parameters()]
    table = run_ablation(base, STEPS[:1], digits(), **FAST)
    assert list(table["step"]) == ["base", "quantize"]
    for old, new in zip(before, base.parameters()):
        np.testing.assert_array_equal(old, new.data)


def test_ablation_bad_steps():
    base = load_reference_model("tinydigits_mlp")
    with pytest.raises(ValueError, match="at least one"):
        run_ablation(base, [], digits())
    with pytest.raises(TypeError, match="pair"):
        run_ablation(base, [quantize_model], digits())
    with pytest.raises(ValueError, match="unique"):
        run_ablation(base, [STEPS[0], STEPS[0]], digits())
    with pytest.raises(ValueError, match="return a new model"):
        run_ablation(base, [("nothing", lambda model: model)], digits())
    with pytest.raises(ValueError, match="exactly once"):
        compare_ablation_orders(base, STEPS, digits(), orders=[["quantize"], ["prune", "quantize"]])


class ScriptedModel:
    """A model that advances a fake clock by a scripted cost per call (the last cost repeats)."""

    def __init__(self, costs):
        self.clock, self.costs, self.calls = FakeClock(), list(costs), 0

    def __call__(self, x):
        self.clock.advance(self.costs[min(self.calls, len(self.costs) - 1)])
        self.calls += 1
        return np.zeros((1, 10))


def test_run_count_advice_finds_the_warmup_and_the_ci_target():
    # 3 cold blocks, then per-block means alternating 100 and 110 us: CV ~5%.
    per_block = [400_000] * 3 + [100_000 if i % 2 else 110_000 for i in range(200)]
    costs = [cost for cost in per_block for _ in range(5)]
    fake = ScriptedModel(costs)
    advice = optimize_benchmark_configuration(fake, np.zeros((1, 8, 8)), max_runs=40, calls_per_block=5,
                                              ci_target=0.02, clock=fake.clock)
    assert advice["warmup_blocks"] == 3 and advice["recommended_warmup_runs"] == 15, "3 blocks of 5 calls"
    values = np.array(advice["values_ms"][3:])
    s, m = values.std(ddof=1), values.mean()
    n = advice["runs_for_ci_target"]
    from scipy import stats
    assert stats.t.ppf(0.975, n - 1) * s / np.sqrt(n) <= 0.02 * m < stats.t.ppf(0.975, n - 2) * s / np.sqrt(n - 1)
    assert advice["recommended_measurement_runs"] == max(n, advice["median_settles_after"], 3)


def test_run_count_advice_calibrates_blocks_on_the_fake_clock():
    fake = ScriptedModel([200_000])  # 0.2 ms a call: 8 calls make the first block of >= 1 ms
    advice = optimize_benchmark_configuration(fake, np.zeros((1, 8, 8)), max_runs=10, clock=fake.clock)
    assert advice["calls_per_block"] == 8 and advice["recommended_warmup_runs"] == 0


def test_run_count_advice_bad_input():
    with pytest.raises(ValueError, match="at least 10"):
        optimize_benchmark_configuration(lambda x: x, max_runs=3)
    with pytest.raises(ValueError, match="fractions"):
        optimize_benchmark_configuration(lambda x: x, tolerance=5)
