"""Laws of the statistics in BenchmarkResult, checked against scipy, numpy and `statistics`."""
import json
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tinytorch.benchmarking.benchmark import (BenchmarkResult, compare_accuracy_counts, compare_samples,
                                              median_confidence_interval,
                                              ratio_of_means_interval, t_confidence_interval,
                                              tukey_outlier_count)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=60)
pairs_or_more = st.lists(finite, min_size=2, max_size=60)


def close(a, b, scale=1.0):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale))


@given(samples)
def test_centre_and_extremes_match_the_statistics_module(values):
    result = BenchmarkResult("m", values)
    scale = max(abs(v) for v in values)
    assert close(result.mean, statistics.fmean(values), scale)
    assert close(result.median, statistics.median(values), scale)
    assert result.min_val == min(values) and result.max_val == max(values) and result.count == len(values)


@given(pairs_or_more)
def test_std_is_the_sample_standard_deviation(values):
    result = BenchmarkResult("m", values)
    assert math.isclose(result.std, statistics.stdev(values), rel_tol=1e-7, abs_tol=1e-6)


@pytest.mark.task("benchmarking-t-interval")
@given(pairs_or_more, st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_interval_is_scipy_student_t_with_n_minus_1_dof(values, confidence):
    low, high = t_confidence_interval(values, confidence)
    sem = np.std(values, ddof=1) / math.sqrt(len(values))
    if sem == 0:
        assert low == high == pytest.approx(np.mean(values))
        return
    expected = stats.t.interval(confidence, len(values) - 1, loc=np.mean(values), scale=sem)
    assert low == pytest.approx(expected[0], rel=1e-9, abs=1e-6)
    assert high == pytest.approx(expected[1], rel=1e-9, abs=1e-6)


@pytest.mark.task("benchmarking-t-interval")
@pytest.mark.parametrize("n,t", [(2, 12.7062), (3, 4.3027), (5, 2.7764), (10, 2.2622), (30, 2.0452)])
def test_interval_uses_t_not_1_96(n, t):
    values = np.arange(n, dtype=float)
    low, high = t_confidence_interval(values)
    half = t * np.std(values, ddof=1) / math.sqrt(n)
    assert high - np.mean(values) == pytest.approx(half, rel=1e-4)


def test_single_value_interval_is_the_value_and_says_so():
    result = BenchmarkResult("once", [3.5], unit="ms")
    assert (result.ci_lower, result.ci_upper, result.std) == (3.5, 3.5, 0.0)
    assert result.single_value and not BenchmarkResult("twice", [1.0, 2.0]).single_value


@given(samples)
def test_robust_statistics_match_numpy_and_scipy(values):
    result = BenchmarkResult("m", values)
    for q, value in ((50, result.p50), (90, result.p90), (99, result.p99)):
        assert value == pytest.approx(np.percentile(values, q), abs=1e-6)
    assert result.iqr == pytest.approx(stats.iqr(values), abs=1e-6)
    assert result.mad == pytest.approx(stats.median_abs_deviation(values), abs=1e-6)


@given(st.lists(positive, min_size=2, max_size=40))
def test_cv_is_std_over_mean(values):
    result = BenchmarkResult("m", values)
    assert result.cv == pytest.approx(statistics.stdev(values) / statistics.fmean(values), rel=1e-6, abs=1e-9)


def test_cv_of_zero_mean_is_undefined_and_absent_from_json():
    result = BenchmarkResult("m", [-1.0, 1.0])
    assert math.isnan(result.cv) and result.to_dict()["summary"]["cv"] is None


@pytest.mark.task("benchmarking-tukey")
@given(samples, st.sampled_from([0.5, 1.5, 3.0]))
def test_tukey_count_matches_a_direct_count(values, k):
    q1, q3 = np.percentile(values, [25, 75])
    low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    assert tukey_outlier_count(values, k) == sum(v < low or v > high for v in values)


def test_outliers_are_counted_not_dropped():
    result = BenchmarkResult("m", [1.0, 1.1, 1.0, 1.2, 1.1, 50.0])
    assert result.outlier_count == 1 and result.count == 6 and 50.0 in result.values


@settings(max_examples=50)
@given(samples, st.text(min_size=1, max_size=10), st.sampled_from(["ms", "MB", "J", "fraction", ""]))
def test_json_round_trip_keeps_everything(values, name, unit):
    result = BenchmarkResult(name, values, {"shape": (1, 2), "seed": np.int64(3), "nested": {"a": [1.5]}}, unit)
    again = BenchmarkResult.from_dict(json.loads(json.dumps(result.to_dict(), allow_nan=False)))
    assert again.values == result.values and again.unit == unit and again.metric_name == name
    assert again.metadata == {"shape": [1, 2], "seed": 3, "nested": {"a": [1.5]}}
    assert again.summary() == result.summary()


def test_str_format():
    assert str(BenchmarkResult("mlp_latency", [1.0, 3.0], unit="ms")) == "mlp_latency: 2 ± 1.414 ms (n=2)"
    assert str(BenchmarkResult("acc", [0.5])) == "acc: 0.5 ± 0 (n=1)"


@pytest.mark.parametrize("bad,words", [([], "empty"), ([1.0, float("nan")], "NaN"), ([float("inf")], "infinite"),
                                       (["x"], "numbers"), (np.array([]), "empty")])
def test_bad_values_raise_value_error_saying_what(bad, words):
    with pytest.raises(ValueError, match=words):
        BenchmarkResult("m", bad)


def test_bad_arguments_and_foreign_dicts():
    with pytest.raises(ValueError, match="metric_name"):
        BenchmarkResult("", [1.0])
    with pytest.raises(ValueError, match="confidence"):
        t_confidence_interval([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="k="):
        tukey_outlier_count([1.0], k=0)
    with pytest.raises(ValueError, match="lacks"):
        BenchmarkResult.from_dict({"values": [1.0]})
    with pytest.raises(ValueError, match="mapping"):
        BenchmarkResult.from_dict([1.0])
    with pytest.raises(ValueError, match="percentile"):
        BenchmarkResult("m", [1.0]).percentile(101)


@given(st.lists(positive, min_size=2, max_size=30), st.lists(positive, min_size=2, max_size=30))
def test_ratio_interval_contains_the_ratio_and_inverts(a, b):
    ratio, low, high = ratio_of_means_interval(a, b)
    assert ratio == pytest.approx(np.mean(b) / np.mean(a))
    assert low <= ratio * (1 + 1e-12) and ratio <= high * (1 + 1e-12)
    inverse = ratio_of_means_interval(b, a)
    assert inverse[1] == pytest.approx(1 / high, rel=1e-9) and inverse[2] == pytest.approx(1 / low, rel=1e-9)


def test_ratio_of_non_positive_means_is_nan():
    assert all(math.isnan(v) for v in ratio_of_means_interval([0.0, 0.0], [1.0, 2.0]))


@pytest.mark.task("benchmarking-compare")
@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy, on near-identical values
@given(st.lists(positive, min_size=2, max_size=30), st.lists(positive, min_size=2, max_size=30))
def test_compare_p_value_is_scipy_welch(a, b):
    result = compare_samples(a, b)
    if np.std(a) == 0 and np.std(b) == 0:
        assert result["p_value"] in (0.0, 1.0)
    else:
        assert result["p_value"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue, nan_ok=True)
    if result["verdict"] in ("faster", "slower"):
        assert result["p_value"] < 0.05 and not result["ratio_ci_lower"] <= 1 <= result["ratio_ci_upper"]


@pytest.mark.task("benchmarking-compare")
def test_compare_verdict_directions():
    base = [10.0, 10.1, 9.9, 10.2, 9.8, 10.0]
    assert compare_samples(base, [2 * v for v in base])["verdict"] == "slower"
    assert compare_samples(base, [v / 2 for v in base], lower_is_better=False, words=("better", "worse"))["verdict"] == "worse"
    assert compare_samples(base, base)["verdict"] == "no detectable difference"
    with pytest.raises(ValueError, match="alpha"):
        compare_samples(base, base, alpha=0)


def test_accuracy_counts_comparison_uses_fisher():
    result = compare_accuracy_counts(150, 200, 190, 200)
    assert result["p_value"] == pytest.approx(stats.fisher_exact([[190, 10], [150, 50]]).pvalue)
    assert result["verdict"] == "better" and result["ratio"] == pytest.approx(190 / 150)
    assert compare_accuracy_counts(193, 200, 193, 200)["verdict"] == "no detectable difference"
    assert compare_accuracy_counts(190, 200, 150, 200)["verdict"] == "worse"
    with pytest.raises(ValueError, match="between 0"):
        compare_accuracy_counts(201, 200, 1, 200)


@given(samples, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_median_interval_is_the_widest_order_statistic_pair_that_reaches_the_coverage(values, confidence):
    low, high, exact = median_confidence_interval(values, confidence)
    data, n = np.sort(values), len(values)
    assert low <= np.median(values) <= high
    coverage = lambda j: 1 - 2 * stats.binom.cdf(j - 1, n, 0.5)  # [x(j), x(n-j+1)], 1-based  # noqa: E731
    if not exact:
        assert (low, high) == (data[0], data[-1]) and coverage(1) < confidence
        return
    j = next(j for j in range(n // 2 + 1, 0, -1) if coverage(j) >= confidence)
    assert (low, high) == (data[j - 1], data[n - j])


def test_median_interval_ignores_a_far_outlier_and_appears_in_the_summary():
    values = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.1, 10.0, 9.9, 10.0, 500.0]
    result = BenchmarkResult("m", values)
    assert result.median_interval_exact and result.median_ci_upper <= 10.2 < result.ci_upper
    assert result.summary()["median_ci_lower"] == result.median_ci_lower
    assert not BenchmarkResult("few", [1.0, 2.0, 3.0]).median_interval_exact
