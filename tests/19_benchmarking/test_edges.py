"""The edges of issue 14, item 6 (Module 19's part; models and TinyMLPerf have theirs in their folders)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinytorch.benchmarking.benchmark import (
    Benchmark, BenchmarkResult, BenchmarkSuite, OlympicEvent, compare_medians, compare_optimization_techniques,
    compare_samples, difference_test, display_interval, pareto_front, score_olympic_event, summarize_optimizations)
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model


def result(values, unit="ms", **metadata):
    return BenchmarkResult("r", values, metadata, unit=unit)


_ANSWERS: dict[int, np.ndarray] = {}


def first_ten(x):
    """A model that allocates nothing once warm: the same answer array for every batch of a size (0 B peak)."""
    if len(x) not in _ANSWERS:
        _ANSWERS[len(x)] = np.zeros((len(x), 10), dtype=np.float32)
    return _ANSWERS[len(x)]


first_ten.name = "first_ten"


# --- zero and negative measurements -------------------------------------------------------------------

def test_an_optimization_measuring_zero_memory_has_no_ratio_instead_of_a_crash():
    digits = load_tinydigits()
    summary = compare_optimization_techniques(load_reference_model("tinydigits_mlp"), [first_ten], [digits.test],
                                              warmup_runs=1, measurement_runs=3, energy_block_seconds=0.001)
    improvement = summary["improvements"]["first_ten"]
    assert summary["results"]["memory"]["first_ten"].mean == 0.0
    assert improvement["memory_speedup"] is None and improvement["memory_speedup_significant"] is False
    assert summary["efficiency_metrics"]["first_ten"]["accuracy_per_mb"] is None
    assert summary["recommendations"]["for_memory_constrained"]["model"] == "tinydigits_mlp"


def test_a_base_accuracy_of_zero_has_no_retention_and_picks_the_base():
    results = {"latency": {"base": result([1.0, 1.1, 1.0]), "opt": result([0.5, 0.5, 0.6])},
               "memory": {"base": result([1.0] * 3, "MB"), "opt": result([1.0] * 3, "MB")},
               "energy": {"base": result([1.0] * 3, "J"), "opt": result([1.0] * 3, "J")},
               "accuracy": {"base": result([0.0], "fraction"), "opt": result([0.9], "fraction")}}
    summary = summarize_optimizations(results)
    assert summary["improvements"]["opt"]["accuracy_retention"] is None
    assert summary["recommendations"]["for_accuracy_preservation"]["model"] == "base"
    assert "base accuracy measured 0" in summary["recommendations"]["for_accuracy_preservation"]["reason"]


@pytest.mark.parametrize("event", list(OlympicEvent))
def test_olympic_scores_refuse_zero_measurements_with_a_reason(event):
    base = {"latency": result([1.0, 1.1, 1.0]), "memory": result([0.0] * 3, "MB"), "accuracy": result([0.0], "fraction")}
    entry = {"latency": result([0.5, 0.5, 0.6]), "memory": result([0.0] * 3, "MB"),
             "accuracy": result([0.9], "fraction")}
    valid, score, reasons = score_olympic_event(event, base, entry)
    if event is OlympicEvent.LATENCY_SPRINT:
        assert valid, "latency alone is scored, and it is positive"
    else:
        assert not valid and score == 0.0 and any("no ratio can score it" in r for r in reasons), reasons


def test_negative_latencies_cannot_score():
    base = {"latency": result([1.0, 1.1, 1.0]), "accuracy": result([0.9], "fraction")}
    entry = {"latency": result([-1.0, -1.1, -1.0]), "accuracy": result([0.9], "fraction")}
    valid, score, reasons = score_olympic_event("latency_sprint", base, entry)
    assert (valid, score) == (False, 0.0)
    assert "latency: the entry measured -1.033, not a positive value" in reasons[0]


# --- memory does not depend on the order of the models ------------------------------------------------

def test_peak_memory_of_a_model_does_not_depend_on_its_place():
    def identity(x):
        return x

    identity.name = "identity"
    mlp = load_reference_model("tinydigits_mlp")
    first = Benchmark([identity, mlp], measurement_runs=3).run_memory_benchmark((1, 8, 8))["identity"]
    last = Benchmark([mlp, identity], measurement_runs=3).run_memory_benchmark((1, 8, 8))["identity"]
    assert first.metadata["peak_bytes"] == last.metadata["peak_bytes"] == [0, 0, 0]


# --- what a result accepts -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, words", [
    (["1.5", "2.0"], "str values"), ([True, False], "bool values"), (np.array([True]), "bool values"),
    (1.5, "the single float"), ("12", "the single str"), ([1e308, 1e308], "overflows"),
    ([1.0, b"2"], "bytes values")])
def test_a_result_refuses_what_is_not_a_measurement(values, words):
    with pytest.raises(ValueError, match=words):
        BenchmarkResult("latency", values, unit="ms")


def test_numpy_numbers_and_integers_are_measurements():
    assert BenchmarkResult("m", [np.float32(1.5), 2, np.int64(3)]).values == [1.5, 2.0, 3.0]


# --- Pareto fronts and NaN -----------------------------------------------------------------------------

def test_a_nan_point_is_refused_instead_of_dropping_a_valid_model():
    with pytest.raises(ValueError, match="point 'broken' = \\(nan, 0.99\\) holds NaN"):
        pareto_front({"good": (1.0, 0.9), "broken": (math.nan, 0.99)}, ("min", "max"))


# --- the files of a run --------------------------------------------------------------------------------

def wrong(document_changes):
    document = {"schema": "tinytorch.benchmark_suite", "schema_version": 1, "system_info": {}, "config": {},
                "results": {"latency": {"m": BenchmarkResult("m_latency", [1.0, 2.0], unit="ms").to_dict()}}}
    document.update(document_changes)
    return document


@pytest.mark.parametrize("changes, field", [
    ({"results": ["latency"]}, "'results' is a list"),
    ({"results": {"latency": [1, 2]}}, "'results.latency' is a list"),
    ({"results": {"latency": {"m": "fast"}}}, "'results.latency.m' is a str"),
    ({"results": {"speed": {}}}, "'results.speed': unknown metric"),
    ({"system_info": [1]}, "'system_info' is a list"),
    ({"config": "x"}, "'config' is a str")])
def test_a_results_file_of_the_wrong_structure_names_the_file_and_field(tmp_path, changes, field):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(wrong(changes)))
    suite = BenchmarkSuite([first_ten], [], output_dir=tmp_path, progress=False, input_shape=(1, 8, 8))
    with pytest.raises(ValueError) as caught:
        suite.load_results(path)
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_a_results_file_nested_100000_deep_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    suite = BenchmarkSuite([first_ten], [], output_dir=tmp_path, progress=False, input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="nested too deeply"):
        suite.load_results(path)


def test_every_file_carries_the_interval_the_report_shows(tmp_path):
    digits = load_tinydigits()
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [digits.test], output_dir=tmp_path,
                           progress=False, warmup_runs=1, measurement_runs=3, energy_block_seconds=0.001)
    suite.run_full_benchmark()
    saved = json.loads(suite.save_results().read_text())["results"]["accuracy"]["tinydigits_mlp"]
    low, high = display_interval(suite.results["accuracy"]["tinydigits_mlp"], "accuracy")
    assert low < saved["mean"] < high, "the Wilson interval, not the value twice"
    assert (saved["ci_lower"], saved["ci_upper"]) == (low, high)
    assert (saved["summary"]["ci_lower"], saved["summary"]["ci_upper"]) == (low, high)
    report = suite.generate_report()
    assert f"[{low:.4g}, {high:.4g}]" in report


def test_to_dict_keeps_the_seeds_flat_keys_beside_the_summary():
    data = BenchmarkResult("lat", [1.0, 2.0, 3.0], unit="ms").to_dict()
    assert (data["mean"], data["min"], data["max"], data["median"], data["count"]) == (2.0, 1.0, 3.0, 2.0, 3)
    assert data["std"] == 1.0 and data["ci_lower"] < 2.0 < data["ci_upper"]
    assert data["summary"]["mean"] == data["mean"] and data["summary"]["min_val"] == data["min"]
    assert BenchmarkResult.from_dict(data).values == [1.0, 2.0, 3.0]


# --- comparing with a few slow blocks ------------------------------------------------------------------

def test_a_few_slow_blocks_hide_a_clear_difference_from_welch_but_not_from_the_median_test():
    rng = np.random.default_rng(3)
    base = 1.00 + 0.01 * rng.standard_normal(20)
    faster = 0.90 + 0.01 * rng.standard_normal(20)
    faster[[3, 11, 17]] = [4.0, 5.0, 4.5]  # three blocks that lost a time slice
    welch = compare_samples(base, faster)
    medians = compare_medians(base, faster)
    assert welch["verdict"] == "no detectable difference", welch
    assert medians["verdict"] == "faster" and medians["median_ratio_ci_upper"] < 1.0, medians
    decided = difference_test(result(list(base)), result(list(faster)), "latency")
    assert decided["verdict"] == "faster" and decided["test"] == "Mann-Whitney U (medians)"
    assert decided["welch_verdict"] == "no detectable difference" and "Welch t-test: p = " in decided["other_test"]
    memory = difference_test(result(list(base), "MB"), result(list(faster), "MB"), "memory")
    assert memory["test"] == "Welch t-test", "memory is decided on means: totals add up"


def test_the_median_test_is_deterministic_and_checks_its_inputs():
    a, b = [1.0, 1.1, 0.9, 1.05, 0.95], [2.0, 2.1, 1.9, 2.05, 1.95]
    first, second = compare_medians(a, b), compare_medians(a, b)
    assert first == second and first["verdict"] == "slower" and first["median_ratio"] == 2.0
    assert compare_medians([1.0], [2.0])["verdict"] == "too few values to test"
    same = compare_medians([3.0, 3.0], [3.0, 3.0])
    assert same["p_value"] == 1.0 and same["verdict"] == "no detectable difference"


def test_the_paired_ratio_cancels_a_slow_moment_that_hits_both_models():
    from tinytorch.benchmarking.benchmark import paired_ratio_interval

    base = np.array([1.0, 1.0, 3.0, 1.0, 1.0])  # round 3: the machine was slow for both models
    half = base / 2 * np.array([1.0, 1.01, 1.0, 0.99, 1.0])
    ratio, low, high = paired_ratio_interval(base, half)
    logs = np.log(half / base)
    assert ratio == pytest.approx(math.exp(logs.mean()))
    assert (low, high) == pytest.approx(tuple(np.exp(stats_t_interval(logs))))
    assert high - low < 0.02, "the slow round cancels in each pair"
    assert all(math.isnan(v) for v in paired_ratio_interval([1.0, 2.0], [1.0, 2.0, 3.0])), "unpaired"


def stats_t_interval(values):
    from scipy import stats

    return stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))


def test_the_comparison_table_quotes_the_paired_ratio_for_latency():
    from tinytorch.benchmarking.benchmark import compare_results

    table = compare_results({"a": result([1.0, 2.0, 1.0, 1.1]), "b": result([0.5, 1.0, 0.5, 0.55])}, "latency")
    assert table["paired_ratio"][1] == pytest.approx(0.5) and table["paired_ratio_ci_upper"][1] == pytest.approx(0.5)
