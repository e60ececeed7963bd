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
# # The comparison table
#
# Provided code for Module 19 (no exercises). `comparison_table` lays out one metric of several models as
# a DataFrame, one row per model against the first (the baseline): its statistics with both intervals,
# the ratio of means and of medians with their intervals, the p-value, the test that decided and the
# verdict, and for latency the paired ratio of blocks timed in the same rounds. The verdict is not made
# here: each row asks the test it is given (the lesson's `difference_test`, through `compare_results`),
# so `Benchmark.compare_models`, the suite, its report and the Olympic scores judge alike.

# %%
#| default_exp benchmarking.comparison_table
#| export
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable

import pandas as pd

from tinytorch.benchmarking.metrics import metric_info
from tinytorch.benchmarking.significance import paired_ratio_interval, paired_ratio_median

# %%
#| export
# the columns a row copies from the test's answer (NaN or "" where the test did not give one)
TEST_COLUMNS = ("ratio", "ratio_ci_lower", "ratio_ci_upper", "median_ratio", "median_ratio_ci_lower",
                "median_ratio_ci_upper", "p_value", "test", "verdict")


def comparison_table(per_model: Mapping[str, Any], metric: str, test: Callable[[Any, Any], Mapping]) -> pd.DataFrame:
    """One row per model: statistics, ratio to the first model with its interval, p-value, verdict.

    Args:
        per_model: model name -> result (`BenchmarkResult`), the baseline first.
        metric: the metric's name in the registry (`metrics`).
        test: `test(baseline_result, result)` -> the comparison as `difference_test` returns it.
    """
    metric_info(metric)
    names = list(per_model)
    baseline = per_model[names[0]]
    rows = []
    for name in names:
        result = per_model[name]
        row = {"model": name, "metric": metric, "mean": result.mean, "std": result.std, "ci_lower": result.ci_lower,
               "ci_upper": result.ci_upper, "count": result.count, "median": result.median,
               "median_ci_lower": result.median_ci_lower, "median_ci_upper": result.median_ci_upper, "unit": result.unit}
        if name == names[0]:
            row.update(ratio=1.0, ratio_ci_lower=1.0, ratio_ci_upper=1.0, median_ratio=1.0, median_ratio_ci_lower=1.0,
                       median_ratio_ci_upper=1.0, p_value=math.nan, test="", verdict="baseline", other_test="")
        else:
            outcome = test(baseline, result)
            row.update({key: outcome.get(key, math.nan) for key in TEST_COLUMNS},
                       other_test=outcome.get("other_test", ""))
        latency = metric == "latency"
        row["paired_ratio_median"] = paired_ratio_median(baseline.values, result.values) if latency else math.nan
        paired = paired_ratio_interval(baseline.values, result.values) if latency else (math.nan,) * 3
        row["paired_ratio"], row["paired_ratio_ci_lower"], row["paired_ratio_ci_upper"] = paired
        rows.append(row)
    return pd.DataFrame(rows)
