"""The provided code the lesson's classes build on, and the judgement it takes from the lesson.

`measured_values`, `benchmark_setup`, `suite_outputs`, `comparison_table`, `ablation`, `olympic_scoring`,
and the helpers added to `settings`, `significance`, `recommendations` and `energy_meter` never import a
room students write; where they need a judgement they are given the students' function. These tests
hold each seam on its own, with fake judges, so that a change on one side shows here and not as a wrong
verdict later.
"""
import math

import numpy as np
import pytest

from tinytorch.benchmarking.ablation import ablation_rows, stage_orders
from tinytorch.benchmarking.benchmark import (Benchmark, BenchmarkResult, BenchmarkSuite, compare_results,
                                              difference_test, pareto_front, within_noise_of)
from tinytorch.benchmarking.calls import BenchmarkError
from tinytorch.benchmarking.comparison_table import comparison_table
from tinytorch.benchmarking.energy_meter import EnergyMeter
from tinytorch.benchmarking.measured_values import MeasuredValues
from tinytorch.benchmarking.olympic_scoring import score_entry
from tinytorch.benchmarking.recommendations import measured_improvements, optimization_summary
from tinytorch.benchmarking.settings import BenchmarkSettings, settings_from
from tinytorch.benchmarking.significance import paired_ratio_median, run_count_advice
from tinytorch.benchmarking.suite_outputs import SuiteOutputs


class Model:
    """A model with a name (or none) and a scale; `forward` returns its input scaled."""

    def __init__(self, name=None, scale=1.0):
        if name is not None:
            self.name = name
        self.scale = scale

    def forward(self, x):
        return x * self.scale


def result(name, values, unit="ms"):
    return BenchmarkResult(name, list(values), unit=unit)


# settings: one or the other

def test_settings_from_makes_settings_or_takes_them_whole():
    made = settings_from(None, warmup_runs=2, measurement_runs=4)
    assert made == BenchmarkSettings(warmup_runs=2, measurement_runs=4)
    given = BenchmarkSettings(seed=3)
    assert settings_from(given, warmup_runs=5, seed=0) is given, "separate settings at their defaults are fine"
    with pytest.raises(ValueError, match=r"\['measurement_runs', 'seed'\], not both"):
        settings_from(given, measurement_runs=20, seed=1)
    with pytest.raises(TypeError, match="settings must be a BenchmarkSettings, got dict"):
        settings_from({"seed": 1})


def test_the_suite_refuses_settings_that_are_not_settings(tmp_path):
    with pytest.raises(TypeError, match="got dict"):
        BenchmarkSuite([lambda x: x], [], output_dir=tmp_path, settings={"seed": 1})


# results: descriptive statistics provided, inferential ones the lesson's

def test_measured_values_alone_reports_only_what_needs_no_judgement():
    values = MeasuredValues("m", [1.0, 2.0, 3.0, 10.0], {"method": "test"}, unit="ms")
    assert list(values.summary()) == list(MeasuredValues.SUMMARY_NAMES)
    assert "ci_lower" not in values.to_dict() and values.to_dict()["mean"] == 4.0
    again = MeasuredValues.from_dict(values.to_dict())
    assert type(again) is MeasuredValues and again == values


def test_a_benchmark_result_adds_the_lessons_statistics_and_round_trips_as_itself():
    measured = result("m", [1.0, 2.0, 3.0, 10.0])
    summary = measured.summary()
    assert summary["outlier_count"] == measured.outlier_count == 1
    assert (summary["ci_lower"], summary["ci_upper"]) == (measured.ci_lower, measured.ci_upper)
    assert measured.to_dict()["ci_lower"] == measured.ci_lower
    again = BenchmarkResult.from_dict(measured.to_dict())
    assert type(again) is BenchmarkResult and again == measured
    with pytest.raises(ValueError, match="NaN or infinite|finite"):
        BenchmarkResult("m", [1.0, math.nan])


# the benchmark's setup

def test_benchmark_setup_checks_what_it_is_given_before_measuring():
    with pytest.raises(ValueError, match=r"duplicate model names \['m'\]"):
        Benchmark([Model("m"), Model("m")])
    with pytest.raises(TypeError, match="models must be a list"):
        Benchmark("model")
    bench = Benchmark([lambda x: x], [{"inputs": np.zeros((2, 3))}])
    with pytest.raises(ValueError, match="has no labels"):
        bench.run_accuracy_benchmark()
    assert np.array_equal(bench.inputs((1, 4)), Benchmark([lambda x: x]).inputs((1, 4))), "seeded inputs"
    memory = Benchmark([Model("m")], measurement_runs=2).run_memory_benchmark((1, 4))
    assert type(memory["m"]) is BenchmarkResult and memory["m"].unit == "MB", "the lesson's result type"


# the comparison table: laid out here, judged by the test it is given

def test_the_comparison_table_asks_the_test_it_is_given():
    asked = []

    def judge(baseline, candidate):
        asked.append((baseline.metric_name, candidate.metric_name))
        return {"ratio": 2.0, "p_value": 0.01, "verdict": "judged", "test": "fake", "other_test": "none"}

    per_model = {"a": result("a", [1.0, 1.0, 1.2]), "b": result("b", [2.0, 2.0, 2.4])}
    table = comparison_table(per_model, "latency", judge)
    assert asked == [("a", "b")]
    assert list(table["verdict"]) == ["baseline", "judged"] and table["ratio"][1] == 2.0
    assert math.isnan(table["median_ratio_ci_lower"][1]), "what the test did not say is NaN, not a guess"
    assert table["paired_ratio_median"][1] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        comparison_table(per_model, "speed", judge)


def test_the_paired_median_needs_the_same_rounds():
    assert paired_ratio_median([1.0, 2.0, 4.0], [2.0, 2.0, 2.0]) == pytest.approx(1.0)
    assert math.isnan(paired_ratio_median([1.0, 2.0], [1.0, 2.0, 3.0]))


# the suite's outputs: rendered here, judged by the lesson's functions

def test_the_suite_outputs_judge_with_the_functions_the_suite_gives(tmp_path):
    assert BenchmarkSuite.ties is within_noise_of and BenchmarkSuite.front is pareto_front
    assert BenchmarkSuite.compare is compare_results
    asked = []

    class Judged(SuiteOutputs):
        @staticmethod
        def ties(per_model, best, metric):
            asked.append(("ties", metric))
            return []

        @staticmethod
        def front(points, directions):
            asked.append(("front", tuple(directions)))
            return list(points)

        @staticmethod
        def compare(per_model, metric):
            asked.append(("compare", metric))
            return None

        result_from_dict = staticmethod(BenchmarkResult.from_dict)

    outputs = Judged()
    outputs.results = {"latency": {"a": result("a", [1.0, 1.1]), "b": result("b", [2.0, 2.1])},
                       "accuracy": {"a": result("a", [0.9], "fraction"), "b": result("b", [0.8], "fraction")}}
    outputs.system_info, outputs.config, outputs.output_dir = {"cpu_count": 2}, {"seed": 0}, tmp_path
    outputs.generate_report()
    assert {("ties", "latency"), ("compare", "latency"), ("compare", "accuracy")} <= set(asked)
    assert any(kind == "front" for kind, _ in asked)
    assert outputs.pareto_frontier("latency", "accuracy") == ["a", "b"], "the front it is given decides"
    assert asked[-1] == ("front", ("min", "max")), "each metric's direction from the registry"
    saved = outputs.save_results()
    outputs.results = {}
    loaded = outputs.load_results(saved)
    assert type(loaded["latency"]["a"]) is BenchmarkResult and loaded["latency"]["b"].values == [2.0, 2.1]


# ablation stages and rows

def test_stage_orders_builds_every_order_and_leaves_the_callers_model_alone():
    base = Model()
    steps = [("double", lambda m: Model(scale=m.scale * 2)), ("halve", lambda m: Model(scale=m.scale / 2))]
    staged = stage_orders(base, steps)
    assert [label for label, _ in staged] == ["double -> halve", "halve -> double"]
    assert [name for name, _, _ in staged[0][1]] == ["base", "base+double", "base+double+halve"]
    assert not hasattr(base, "name"), "the base is copied before it is named"
    with pytest.raises(ValueError, match="exactly once"):
        stage_orders(base, steps, orders=[["double"]])
    with pytest.raises(ValueError, match="must return a new model"):
        stage_orders(Model("m"), [("same", lambda m: m)])


def test_ablation_rows_mark_significance_by_the_test_given():
    stages = [("m", "base", Model("m")), ("m+x", "x", Model("m+x"))]
    results = {metric: {"m": result("m", [1.0, 1.0]), "m+x": result("m+x", [3.0, 3.0])}
               for metric in ("latency", "accuracy", "memory", "energy")}
    rows = ablation_rows(stages, results, "x", test=lambda before, after, metric: {"significant": metric == "memory"})
    assert rows[0]["memory_change_significant"] is None, "the base has nothing to differ from"
    assert rows[1]["memory_change_significant"] is True and rows[1]["latency_change_significant"] is False
    assert rows[1]["delta_latency_ms"] == 2.0


# optimizations: ratios oriented, judged by the test given

def test_measured_improvements_orient_ratios_and_take_the_verdict_from_the_test():
    results = {"latency": {"base": result("b", [2.0, 2.0]), "fast": result("f", [1.0, 1.0])},
               "memory": {"base": result("b", [0.0, 0.0], "MB"), "fast": result("f", [0.0, 0.0], "MB")},
               "energy": {"base": result("b", [1.0, 1.0], "J"), "fast": result("f", [1.0, 1.0], "J")},
               "accuracy": {"base": result("b", [0.8], "fraction"), "fast": result("f", [0.4], "fraction")}}
    out = measured_improvements(results, "base", "fast", lambda a, b, metric: {"significant": True, "p_value": 0.01})
    assert out["latency_speedup"] == 2.0 and out["accuracy_retention"] == 0.5
    assert out["memory_speedup"] is None and out["memory_speedup_significant"] is False, "0 MB has no ratio"
    summary = optimization_summary(results, None, 0.99, lambda a, b, metric: {"significant": False, "p_value": 0.5})
    assert summary["base_model"] == "base"
    assert summary["recommendations"]["for_latency_critical"]["model"] == "base", "noise is not a speed-up"
    assert summary["efficiency_metrics"]["base"]["accuracy_per_mb"] is None


# run-count advice

def test_run_count_advice_reads_the_warmup_and_the_steady_state():
    values = np.array([5.0, 3.0, 2.0] + [1.0, 1.01, 0.99, 1.0] * 6)
    advice = run_count_advice(values, calls_per_block=8, tolerance=0.05, ci_target=0.02)
    assert advice["warmup_blocks"] == 3 and advice["recommended_warmup_runs"] == 24
    assert advice["steady_median_ms"] == pytest.approx(1.0)
    assert advice["recommended_measurement_runs"] == max(advice["median_settles_after"],
                                                         advice["runs_for_ci_target"], 3)
    assert advice["note"] == ""


# energy rounds

def test_energy_rounds_rotate_the_first_model_and_name_a_counter_that_fails(tmp_path):
    order = []
    meter = EnergyMeter(rapl_root=tmp_path / "absent", cpu_clock=lambda: 0)
    joules, cpu = meter.measure_rounds({"a": order.append, "b": order.append, "c": order.append},
                                       {"a": 1, "b": 2, "c": 3}, blocks=3)
    assert order == [1, 2, 3, 2, 3, 1, 3, 1, 2]
    assert joules["a"] == [None] * 3 and cpu["b"] == [0] * 3
    package = tmp_path / "rapl" / "intel-rapl:0"
    package.mkdir(parents=True)
    (package / "energy_uj").write_text("100\n")
    (package / "max_energy_range_uj").write_text("1000\n")
    measured = EnergyMeter(rapl_root=tmp_path / "rapl")
    with pytest.raises(BenchmarkError, match="reading the RAPL counters failed while measuring 'a'"):
        measured.measure_rounds({"a": lambda calls: (package / "energy_uj").write_text("gone")}, {"a": 1}, blocks=1)


def test_difference_test_is_what_the_lesson_gives_the_plumbing():
    # the suite, the optimization summary and the ablation are all judged by the lesson's difference_test
    a, b = result("a", [1.0, 1.01, 0.99, 1.0, 1.02]), result("b", [2.0, 2.02, 1.98, 2.0, 2.01])
    assert difference_test(a, b, "latency")["significant"]
    assert within_noise_of({"a": a, "b": b}, "a", "latency") == []


# Olympic scoring: the rules applied here, the judgements the lesson's

def test_an_olympic_entry_is_scored_by_the_judges_it_is_given():
    baseline = {"latency": result("b", [2.0, 2.0]), "accuracy": result("b", [0.9], "fraction")}
    entry = {"latency": result("e", [1.0, 1.0]), "accuracy": result("e", [0.9], "fraction")}
    significant = {"significant": True, "verdict": "faster", "test": "fake", "p_value": 0.001}
    noise = {"significant": False, "verdict": "no detectable difference", "test": "fake", "p_value": 0.5}

    def meets(event, candidate):
        return []

    assert score_entry("latency_sprint", baseline, entry, broken_constraints=meets,
                       test=lambda a, b, metric: significant)[:2] == (True, 2.0)
    valid, score, reasons = score_entry("latency_sprint", baseline, entry, broken_constraints=meets,
                                        test=lambda a, b, metric: noise)
    assert (valid, score) == (True, 1.0) and "counted as 1.0" in reasons[0]
    valid, score, reasons = score_entry("latency_sprint", baseline, entry, test=lambda a, b, metric: significant,
                                        broken_constraints=lambda event, candidate: ["too slow to matter"])
    assert (valid, score, reasons) == (False, 0.0, ["too slow to matter"])
    zero = {**entry, "latency": result("e", [0.0, 0.0])}
    assert score_entry("latency_sprint", baseline, zero, broken_constraints=meets,
                       test=lambda a, b, metric: significant)[2] == [
        "latency: the entry measured 0, not a positive value; no ratio can score it"]
    with pytest.raises(ValueError, match="unknown Olympic event 'marathon'"):
        score_entry("marathon", baseline, entry, broken_constraints=meets, test=lambda a, b, metric: noise)
