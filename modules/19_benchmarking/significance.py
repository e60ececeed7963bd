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
# Provided code for Module 19 (no exercises), the two given halves of the comparison you complete in
# Task 19.6:
#
# - `ratio_of_means_interval`: the ratio of two means with its interval by the delta method on the log
#   scale, $\operatorname{Var}(\log r) \approx s_B^2 / (n_B \bar x_B^2) + s_A^2 / (n_A \bar x_A^2)$, and
#   Student's t with the Welch-Satterthwaite degrees of freedom;
# - `compare_accuracy_counts`: two accuracies compared from their counts of correct answers (Fisher's
#   exact test), for accuracy measured on a single dataset, where one value per model is too few for a
#   t-test;
# - `display_interval`: the interval to show for a result (the registry says which kind): the t interval
#   of the mean, or for accuracy on one dataset the Wilson interval of the proportion of correct answers
#   (the t interval of one value would be the value itself, hiding which test images happened to be
#   drawn);
# - `runs_for_ci_target` and `settle_index`: two criteria of the run-count advice (section 10 of the
#   lesson): how many values an interval target needs, and when a running median settles.

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
