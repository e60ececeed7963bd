# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Comparing two samples: the ratio interval and Fisher's test on counts
#
# Provided code for Module 19 (no exercises): the statistics the lesson explains but does not ask you to
# write, and the given halves of the comparison you complete in Task 19.6:
#
# - `median_confidence_interval`: the distribution-free interval of the median from order statistics
#   (the count of values below the true median is Binomial(n, 1/2)), `(min, max)` and a False flag when
#   there are too few values (< 6 at 95%); `coefficient_of_variation`: the one CV, `s / |mean|`;
# - `ratio_of_means_interval`: the ratio of two means with its interval by the delta method on the log
#   scale, $\operatorname{Var}(\log r) \approx s_B^2 / (n_B \bar x_B^2) + s_A^2 / (n_A \bar x_A^2)$, and
#   Student's t with the Welch-Satterthwaite degrees of freedom;
# - `compare_medians`: the robust companion of your Welch test. Timings have a long right tail: a few
#   preempted blocks widen both samples' spread, Welch's test then says "no detectable difference"
#   even when nearly every block of one model is faster. Mann-Whitney's U test asks instead whether
#   one model's values tend to be smaller (it only uses their ranks, so a wild value counts as one
#   rank), and a bootstrap gives the interval of the ratio of medians. `choose_comparison` decides in
#   one place which of the two tests gives the verdict: the one the metric's registry entry names
#   (latency: the medians; memory and energy, whose totals add up: Welch on the means), and the
#   result says which test decided and what the other one said;
# - `paired_ratio_interval` and `paired_ratio_median`: the ratio of two models measured together (round
#   by round in one process, or process by process), with its t interval on the log ratios, and the
#   median of the per-round ratios: what a comparison rests on, because the machine's slow moments hit
#   both models of a pair;
# - `compare_accuracy_counts`: two accuracies compared from their counts of correct answers (Fisher's
#   exact test), for accuracy measured on a single dataset, where one value per model is too few for a
#   t-test;
# - `display_interval`: the interval to show for a result (the registry says which kind): the t interval
#   of the mean, or for accuracy on one dataset the Wilson interval of the proportion of correct answers
#   (the t interval of one value would be the value itself, hiding which test images happened to be
#   drawn);
# - `runs_for_ci_target` and `settle_index`: two criteria of the run-count advice (section 10 of the
#   lesson): how many values an interval target needs, and when a running median settles;
#   `run_count_advice` reads the warm-up, the steady state and both criteria off a series of blocks.

# %%
#| default_exp benchmarking.significance
#| export
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from tinytorch.benchmarking.metrics import metric_info
from tinytorch.utils.checks import check_count, finite_values

# %%
#| export
def median_confidence_interval(values, confidence: float = 0.95) -> tuple[float, float, bool]:
    """`(low, high, reaches_confidence)`: order-statistic interval of the median (binomial, no model).

    `reaches_confidence` is False when there are too few values; the interval is then `(min, max)`.
    """
    data = np.sort(finite_values(values))
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must be strictly between 0 and 1, e.g. 0.95")
    n, tail = data.size, (1.0 - confidence) / 2.0
    below = int(stats.binom.ppf(tail, n, 0.5))  # smallest m with P(B <= m) >= tail ...
    if stats.binom.cdf(below, n, 0.5) > tail:  # ... step back to the largest m with P(B <= m) <= tail
        below -= 1
    if below < 0:
        return float(data[0]), float(data[-1]), False
    return float(data[below]), float(data[n - 1 - below]), True


def coefficient_of_variation(values) -> float:
    """The spread relative to the centre, `s / |mean|` (sample std, n - 1).

    0.0 for a single value (no spread can be estimated); NaN when the mean is 0 (undefined).
    """
    data = finite_values(values)
    mean = float(data.mean())
    if mean == 0:
        return math.nan
    spread = float(data.std(ddof=1)) if data.size > 1 else 0.0
    return spread / abs(mean)


def ratio_of_means_interval(baseline, candidate, confidence: float = 0.95) -> tuple[float, float, float]:
    """`(ratio, low, high)` for mean(candidate) / mean(baseline) by the log-scale delta method.

    Degrees of freedom: Welch-Satterthwaite. With no spread in either sample the interval is the ratio
    itself; with a non-positive mean every entry is NaN (a ratio of such means means nothing here).
    """
    a, b = finite_values(baseline, "baseline"), finite_values(candidate, "candidate")
    mean_a, mean_b = float(a.mean()), float(b.mean())
    if mean_a <= 0 or mean_b <= 0:
        return math.nan, math.nan, math.nan
    ratio = mean_b / mean_a
    parts = [(x.var(ddof=1) / (x.size * m * m), x.size) if x.size > 1 else (0.0, x.size)
             for x, m in ((a, mean_a), (b, mean_b))]
    variance = sum(v for v, _ in parts)
    if variance == 0:
        return ratio, ratio, ratio
    dof = variance**2 / sum(v * v / (n - 1) for v, n in parts if n > 1)
    half_width = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(variance)
    return ratio, ratio * math.exp(-half_width), ratio * math.exp(half_width)


BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 4000, 0


def _ratio_of_medians(baseline, candidate, axis=-1):
    return np.median(candidate, axis=axis) / np.median(baseline, axis=axis)


def compare_medians(baseline, candidate, lower_is_better: bool = True, alpha: float = 0.05,
                    words: tuple[str, str] = ("faster", "slower")) -> dict[str, Any]:
    """Mann-Whitney U test (two-sided) with a bootstrap interval of median(candidate) / median(baseline).

    The bootstrap resamples each sample on its own (percentile method, `BOOTSTRAP_RESAMPLES` draws from
    a fixed seed, so the same values always give the same interval). The verdict is one of `words`
    only when p < alpha, the medians differ and the interval excludes 1.
    """
    a, b = finite_values(baseline, "baseline"), finite_values(candidate, "candidate")
    median_a, median_b = float(np.median(a)), float(np.median(b))
    positive = median_a > 0 and median_b > 0
    result = {"median_ratio": median_b / median_a if positive else math.nan, "test": "Mann-Whitney U (medians)"}
    if a.size < 2 or b.size < 2:
        return {**result, "median_ratio_ci_lower": math.nan, "median_ratio_ci_upper": math.nan,
                "p_value": math.nan, "verdict": "too few values to test"}
    together = np.concatenate([a, b])
    p_value = 1.0 if together.min() == together.max() else float(stats.mannwhitneyu(b, a).pvalue)
    low = high = math.nan
    if positive and (a.min() < a.max() or b.min() < b.max()):
        interval = stats.bootstrap((a, b), _ratio_of_medians, n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True,
                                   method="percentile", confidence_level=1 - alpha,
                                   rng=np.random.default_rng(BOOTSTRAP_SEED)).confidence_interval
        low, high = float(interval.low), float(interval.high)
    elif positive:  # no spread on either side: the ratio is known exactly
        low = high = result["median_ratio"]
    excludes_one = not positive or not (low <= 1.0 <= high)
    if p_value < alpha and excludes_one and median_a != median_b:
        verdict = words[0] if (median_b < median_a) == lower_is_better else words[1]
    else:
        verdict = "no detectable difference"
    return {**result, "median_ratio_ci_lower": low, "median_ratio_ci_upper": high, "p_value": p_value,
            "verdict": verdict}


def paired_ratio_median(baseline, candidate) -> float:
    """Median over rounds of (candidate's block / baseline's block of the same round); NaN when the two
    were not measured in the same rounds (different counts)."""
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    return float(np.median(b / a)) if a.shape == b.shape else math.nan


def paired_ratio_interval(baseline, candidate, confidence: float = 0.95) -> tuple[float, float, float]:
    """`(ratio, low, high)` of candidate / baseline taken pair by pair (the same round, or the same process).

    The ratio is the geometric mean of the paired ratios; the interval is Student's t on their logs. A
    slow moment of the machine slows both values of a pair, so it cancels here, where it widens both
    samples' own intervals. NaN for unpaired samples (different lengths) or non-positive values.
    """
    a, b = finite_values(baseline, "baseline"), finite_values(candidate, "candidate")
    if a.size != b.size or a.size < 2 or a.min() <= 0 or b.min() <= 0:
        return math.nan, math.nan, math.nan
    logs = np.log(b / a)
    centre, spread = float(logs.mean()), float(logs.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, logs.size - 1)) * spread / math.sqrt(logs.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def choose_comparison(metric: str, welch: dict[str, Any], medians: dict[str, Any]) -> dict[str, Any]:
    """One comparison: the deciding test's p-value and verdict, the other test's kept beside them.

    Latency is decided on medians (the registry's `centre`), because a few preempted blocks say nothing
    about a model; memory and energy on means, because their totals are what adds up.
    """
    decides_on_medians = metric_info(metric).centre == "median"
    decider, other = (medians, welch) if decides_on_medians else (welch, medians)
    return {**welch, **{key: medians[key] for key in ("median_ratio", "median_ratio_ci_lower", "median_ratio_ci_upper")},
            "p_value": decider["p_value"], "verdict": decider["verdict"], "test": decider["test"],
            "decided_by": decider["test"], "welch_p_value": welch["p_value"], "welch_verdict": welch["verdict"],
            "median_p_value": medians["p_value"], "median_verdict": medians["verdict"],
            "other_test": f"{other['test']}: p = {other['p_value']:.3g}, {other['verdict']}"}


def compare_accuracy_counts(baseline_correct: int, baseline_total: int, candidate_correct: int,
                            candidate_total: int, alpha: float = 0.05) -> dict[str, Any]:
    """Compare two accuracies from their counts of correct predictions (one dataset is enough).

    The p-value is Fisher's exact test on the 2x2 table of correct/wrong counts; the ratio interval is
    Katz's log interval for a ratio of proportions (a large-sample normal interval, so wide for small
    counts). Both treat the two sets of predictions as independent, which is conservative when the
    models were scored on the same samples.
    """
    for label, value in (("baseline_total", baseline_total), ("candidate_total", candidate_total)):
        check_count(label, value, 1)
    if not (0 <= baseline_correct <= baseline_total and 0 <= candidate_correct <= candidate_total):
        raise ValueError(f"correct counts ({baseline_correct}, {candidate_correct}) must lie between 0 and their totals")
    a, b = baseline_correct / baseline_total, candidate_correct / candidate_total
    table = [[candidate_correct, candidate_total - candidate_correct], [baseline_correct, baseline_total - baseline_correct]]
    p_value = float(stats.fisher_exact(table).pvalue)
    if a > 0 and b > 0:
        ratio = b / a
        se = math.sqrt(1 / candidate_correct - 1 / candidate_total + 1 / baseline_correct - 1 / baseline_total)
        z = float(stats.norm.ppf(1 - alpha / 2))
        low, high = ratio * math.exp(-z * se), ratio * math.exp(z * se)
    else:
        ratio = low = high = math.nan
    if p_value < alpha and b != a and (math.isnan(ratio) or not low <= 1.0 <= high):
        verdict = "better" if b > a else "worse"
    else:
        verdict = "no detectable difference"
    return {"ratio": ratio, "ratio_ci_lower": low, "ratio_ci_upper": high, "p_value": p_value,
            "test": "Fisher exact (counts)", "verdict": verdict}


def correct_counts(result: Any) -> tuple[int, int] | None:
    """(correct, samples) summed over the datasets an accuracy was measured on, when they were recorded."""
    details = result.metadata.get("datasets") or []
    if not details or not all(d.get("correct") is not None and d.get("samples") is not None for d in details):
        return None
    return sum(int(d["correct"]) for d in details), sum(int(d["samples"]) for d in details)


def display_interval(result: Any, metric: str) -> tuple[float, float]:
    """The 95% interval to show: the t interval of the mean, or the Wilson interval of a single accuracy."""
    counts = correct_counts(result)
    if metric_info(metric).interval == "counts" and result.count < 2 and counts:
        interval = stats.binomtest(*counts).proportion_ci(confidence_level=0.95, method="wilson")
        return float(interval.low), float(interval.high)
    return result.ci_lower, result.ci_upper


def intervals_overlap(a: Any, b: Any) -> bool:
    """True when the 95% confidence intervals of the two means overlap (a quick look, not a test)."""
    return a.ci_lower <= b.ci_upper and b.ci_lower <= a.ci_upper


def runs_for_ci_target(values: np.ndarray, ci_target: float, limit: int = 100_000) -> int:
    """The smallest n with t(0.975, n-1) s / sqrt(n) <= ci_target x mean, for the spread of `values`."""
    mean, spread = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if spread == 0:
        return 2
    for n in range(2, limit + 1):
        if stats.t.ppf(0.975, n - 1) * spread / math.sqrt(n) <= ci_target * mean:
            return n
    return limit


def settle_index(values: np.ndarray, tolerance: float) -> int:
    """1-based count after which the running median stays within `tolerance` of its final value."""
    running = np.array([np.median(values[: j + 1]) for j in range(len(values))])
    outside = np.abs(running - running[-1]) > tolerance * abs(running[-1])
    return int(np.nonzero(outside)[0][-1] + 2) if outside.any() else 1


def run_count_advice(values: np.ndarray, calls_per_block: int, tolerance: float, ci_target: float) -> dict[str, Any]:
    """Warm-up and measured-run advice from block times (ms) taken without warm-up (section 10 of the lesson).

    The steady state is the median and MAD of the second half; the warm-up is the blocks before the first one
    inside the steady band `max(tolerance x median, 3 x 1.4826 x MAD)`; then the running median must settle
    (`settle_index`) and the interval reach `ci_target` (`runs_for_ci_target`): the advice is the larger, at
    least 3.
    """
    max_runs = len(values)
    steady = values[max_runs // 2:]
    median, mad = float(np.median(steady)), float(stats.median_abs_deviation(steady))
    band = max(tolerance * median, 3 * 1.4826 * mad)
    inside = np.abs(values - median) <= band
    warmup = int(np.argmax(inside)) if inside.any() else max_runs // 2
    settled = settle_index(values[warmup:], tolerance)
    runs_ci = runs_for_ci_target(values[warmup:], ci_target)
    return {"recommended_warmup_runs": warmup * calls_per_block, "warmup_blocks": warmup,
            "recommended_measurement_runs": max(settled, runs_ci, 3), "calls_per_block": calls_per_block,
            "values_ms": values.tolist(), "steady_median_ms": median, "steady_mad_ms": mad, "steady_band_ms": band,
            "median_settles_after": settled, "runs_for_ci_target": runs_ci, "tolerance": tolerance,
            "ci_target": ci_target, "coefficient_of_variation": coefficient_of_variation(values[warmup:]),
            "note": ("the spread is too large for this interval target: quiet the machine (idle, fixed BLAS "
                     "threads) or compare medians, rather than run this long")
            if runs_ci > 10 * max_runs else ""}
