"""Pareto dominance and frontiers on constructed cases: directions, ties, one model, and the plot."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.benchmarking.benchmark import (BenchmarkResult, BenchmarkSuite, dominates, frontier_staircase,
                                              pareto_front, results_to_json)
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

LAT_ACC = ("min", "max")



def _make(name, values, unit):
    return BenchmarkResult(name, values, unit=unit)


def suite_with(tmp_path, per_model: dict) -> BenchmarkSuite:
    """A suite over the real reference model whose results are loaded from a constructed results file."""
    results = {metric: {} for metric in ("latency", "accuracy", "memory", "energy")}
    units = {"latency": "ms", "accuracy": "fraction", "memory": "MB", "energy": "J"}
    for name, figures in per_model.items():
        for metric, values in figures.items():
            results[metric][name] = _make(f"{name}_{metric}", values, units[metric])
    path = tmp_path / "constructed.json"
    path.write_text(json.dumps(results_to_json(results, {"platform": "constructed"}, {"warmup_runs": 1})))
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [load_tinydigits().test],
                           output_dir=tmp_path / "out", progress=False)
    suite.load_results(path)
    return suite


@pytest.mark.task("benchmarking-pareto-dominance")
@pytest.mark.parametrize("a, b, directions, expected", [
    ((1, 0.9), (2, 0.8), LAT_ACC, True),
    ((1, 0.8), (2, 0.9), LAT_ACC, False),
    ((1, 0.9), (1, 0.9), LAT_ACC, False),
    ((1, 0.9), (1, 0.8), LAT_ACC, True),
    ((1, 1), (2, 2), ("min", "min"), True),
    ((2, 2), (1, 1), ("max", "max"), True),
    ((2, 1), (1, 2), ("max", "min"), True),
    ((1, 2), (2, 1), ("max", "min"), False),
])
def test_dominates_respects_each_direction(a, b, directions, expected):
    assert dominates(a, b, directions) is expected


@pytest.mark.task("benchmarking-pareto-dominance")
def test_dominates_rejects_bad_directions_and_lengths():
    with pytest.raises(ValueError, match="'min' or 'max'"):
        dominates((1, 2), (2, 1), ("lower", "max"))
    with pytest.raises(ValueError, match="same length"):
        dominates((1, 2), (2,), LAT_ACC)


def test_front_with_ties_keeps_both_tied_points():
    points = {"A": (1.0, 0.8), "B": (2.0, 0.9), "B2": (2.0, 0.9), "D": (3.0, 0.85)}
    assert pareto_front(points, LAT_ACC) == ["A", "B", "B2"]


def test_single_model_is_its_own_frontier_and_empty_is_an_error():
    assert pareto_front({"only": (3.0, 0.1)}, LAT_ACC) == ["only"]
    with pytest.raises(ValueError, match="at least one"):
        pareto_front({}, LAT_ACC)


def test_a_point_equal_on_one_axis_and_worse_on_the_other_is_dominated():
    assert pareto_front({"fast": (1.0, 0.9), "slow": (2.0, 0.9)}, LAT_ACC) == ["fast"]


points_strategy = st.dictionaries(st.text("abcdef", min_size=1, max_size=3),
                                  st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=8)


@given(points_strategy, st.sampled_from(["min", "max"]), st.sampled_from(["min", "max"]))
def test_front_is_exactly_the_undominated_points(points, dx, dy):
    front = pareto_front(points, (dx, dy))
    assert front, "a non-empty set always has a frontier"
    for name, point in points.items():
        dominated = any(dominates(other, point, (dx, dy)) for other in points.values())
        assert (name in front) is (not dominated)


def test_suite_pareto_uses_metric_directions(tmp_path):
    suite = suite_with(tmp_path, {
        "big": {"latency": [3.0, 3.1], "accuracy": [0.97], "memory": [5.0, 5.0], "energy": [0.3, 0.3]},
        "small": {"latency": [1.0, 1.1], "accuracy": [0.95], "memory": [1.0, 1.0], "energy": [0.1, 0.1]},
        "bad": {"latency": [3.5, 3.6], "accuracy": [0.90], "memory": [6.0, 6.0], "energy": [0.4, 0.4]},
    })
    assert suite.pareto_frontier("latency", "accuracy") == ["big", "small"]
    assert suite.pareto_frontier("memory", "energy") == ["small"]
    assert suite.pareto_frontier("accuracy", "latency") == ["big", "small"]


def test_suite_pareto_bad_metrics(tmp_path):
    suite = suite_with(tmp_path, {"m": {"latency": [1.0, 1.2], "accuracy": [0.9], "memory": [1.0], "energy": [1.0]}})
    with pytest.raises(ValueError, match="unknown metric 'throughput'"):
        suite.pareto_frontier("throughput", "accuracy")
    with pytest.raises(ValueError, match="two different metrics"):
        suite.pareto_frontier("latency", "latency")
    assert suite.pareto_frontier() == ["m"], "one model is its own frontier"


def test_pareto_plot_draws_a_step_frontier_and_error_bars(tmp_path):
    suite = suite_with(tmp_path, {
        "a": {"latency": [1.0, 1.2, 1.1], "accuracy": [0.90], "memory": [1.0], "energy": [1.0]},
        "b": {"latency": [2.0, 2.2, 2.1], "accuracy": [0.95], "memory": [1.0], "energy": [1.0]},
        "c": {"latency": [3.0, 3.2, 3.1], "accuracy": [0.93], "memory": [1.0], "energy": [1.0]},
    })
    figure = suite.plot_pareto_frontier()
    [ax] = figure.axes
    [frontier] = [line for line in ax.get_lines() if line.get_label() == "Pareto frontier"]
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    expected = [(1.1, ylim[0]), (1.1, 0.9), (2.1, 0.9), (2.1, 0.95), (xlim[1], 0.95)]
    np.testing.assert_allclose(np.column_stack([frontier.get_xdata(), frontier.get_ydata()]), expected)
    assert len(ax.containers) == 3, "one error-bar container per model"
    assert (tmp_path / "out" / "pareto_latency_vs_accuracy.png").stat().st_size > 10_000


@pytest.mark.parametrize("directions, expected", [
    (("min", "max"), [(1, 0), (1, 1), (2, 1), (2, 2), (10, 2)]),
    (("min", "min"), [(1, 10), (1, 2), (2, 2), (2, 1), (10, 1)]),
    (("max", "max"), [(0, 2), (1, 2), (1, 1), (2, 1), (2, 0)]),
    (("max", "min"), [(0, 1), (1, 1), (1, 2), (2, 2), (2, 10)]),
])
def test_staircase_bounds_the_dominated_region_for_every_direction(directions, expected):
    front = {("min", "max"): [(2, 2), (1, 1)], ("min", "min"): [(1, 2), (2, 1)],
             ("max", "max"): [(1, 2), (2, 1)], ("max", "min"): [(1, 1), (2, 2)]}[directions]
    assert frontier_staircase(front, directions, (0, 10), (0, 10)) == expected


def test_staircase_of_one_point_still_draws_its_corner():
    assert frontier_staircase([(3, 0.5)], ("min", "max"), (0, 10), (0, 1)) == [(3, 0), (3, 0.5), (10, 0.5)]
