"""The metric registry: one place that knows each metric, read by the comparison, report, Pareto and Olympics."""
import math

import numpy as np
import pytest

from tinytorch.benchmarking.benchmark import (METRIC_DIRECTIONS, METRIC_UNITS, METRICS, OLYMPIC_SCORED_METRICS,
                                              SUITE_METRICS, BenchmarkResult, best_model, check_metric,
                                              coefficient_of_variation, compare_results, difference_test,
                                              optimize_benchmark_configuration)
from tinytorch.benchmarking.metrics import BENCHMARK_METRICS, metric_info


def test_the_views_are_derived_from_the_registry():
    assert SUITE_METRICS == tuple(METRICS) == ("latency", "accuracy", "memory", "energy")
    assert METRIC_DIRECTIONS == {name: m.direction for name, m in METRICS.items()}
    assert METRIC_UNITS == {name: m.unit for name, m in METRICS.items()}
    assert BENCHMARK_METRICS == ("latency", "accuracy", "memory")
    assert all(metric in METRICS for metrics in OLYMPIC_SCORED_METRICS.values() for metric in metrics)


def test_unknown_metrics_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown metric 'speed'; choose one of accuracy, energy, latency, memory"):
        check_metric("speed")
    with pytest.raises(ValueError, match="choose one of accuracy, latency, memory$"):
        metric_info("energy", among=BENCHMARK_METRICS)


@pytest.mark.parametrize("metric", SUITE_METRICS)
def test_verdict_words_and_direction_come_from_the_registry(metric):
    info = METRICS[metric]
    low = BenchmarkResult("low", [1.0, 1.01, 0.99, 1.0], unit=info.unit)
    high = BenchmarkResult("high", [2.0, 2.02, 1.98, 2.0], unit=info.unit)
    verdict = difference_test(high, low, metric)["verdict"]
    assert verdict == (info.better if info.lower_is_better else info.worse)
    assert best_model({"low": low, "high": high}, metric) == ("low" if info.lower_is_better else "high")
    table = compare_results({"high": high, "low": low}, metric)
    assert table["verdict"].tolist() == ["baseline", verdict]


def test_one_coefficient_of_variation_everywhere():
    values = [1.0, 1.2, 0.9, 1.1, 1.0]
    expected = np.std(values, ddof=1) / np.mean(values)
    assert coefficient_of_variation(values) == pytest.approx(expected)
    assert BenchmarkResult("r", values).cv == coefficient_of_variation(values)
    assert coefficient_of_variation([3.0]) == 0.0 and math.isnan(coefficient_of_variation([1.0, -1.0]))
    from tinytorch.utils.testing import FakeClock
    clock, costs = FakeClock(), iter([100_000, 120_000, 90_000, 110_000] * 100)

    def model(x):
        clock.advance(next(costs))
        return np.zeros((1, 2))

    advice = optimize_benchmark_configuration(model, np.zeros((1, 4)), max_runs=12, calls_per_block=1, clock=clock)
    steady = advice["values_ms"][advice["warmup_blocks"]:]
    assert advice["coefficient_of_variation"] == coefficient_of_variation(steady)


def test_improvement_is_oriented_by_the_metrics_direction():
    assert METRICS["latency"].improvement(2.0, 1.0) == 2.0, "half the latency: twice as good"
    assert METRICS["accuracy"].improvement(0.8, 0.4) == 0.5, "half the accuracy: half as good"
    np.testing.assert_allclose(METRICS["memory"].improvement(np.array([4.0, 2.0]), np.array([2.0, 2.0])), [2.0, 1.0])
