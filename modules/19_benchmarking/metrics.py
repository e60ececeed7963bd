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
# # The metrics: one registry
#
# Provided code for Module 19 (no exercises). Everything the benchmarking code knows about a metric is
# written once, here: its unit, which direction is better, which interval describes it, which test
# compares two models on it, the words of a verdict, and how its mean is named in a table. The
# comparison, the report, the plots, the Pareto frontier, the ablation table and the Olympic scores all
# read this registry; none keeps a table of its own.
#
# | metric | unit | better | interval | comparison |
# |---|---|---|---|---|
# | latency | ms | lower | Student's t of the mean | Mann-Whitney U on the values and the bootstrap ratio of medians (Welch's t-test kept beside it) |
# | accuracy | fraction | higher | Wilson interval of the correct counts (one data set), else t | Fisher's exact test on the counts (fewer than two values), else Welch |
# | memory | MB | lower | Student's t of the mean | Welch's t-test and the ratio interval |
# | energy | J | lower | Student's t of the mean | Welch's t-test and the ratio interval |

# %%
#| default_exp benchmarking.metrics
#| export
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# %%
#| export
@dataclass(frozen=True)
class Metric:
    """What the benchmarking code knows about one metric.

    Attributes:
        name: the metric's key, e.g. "latency".
        unit: the unit its values are stored in ("ms", "fraction", "MB", "J").
        direction: "min" (lower is better) or "max" (higher is better).
        better, worse: the verdict when a candidate is better or worse than the baseline.
        interval: "t" (Student's t interval of the mean) or "counts" (the Wilson interval of the
            proportion of correct answers, when a single value carries its counts).
        comparison: "welch" (Welch's t-test and the ratio interval) or "counts" (Fisher's exact test on
            the correct counts when there are fewer than two values, else Welch).
        column: the name of a table column holding the metric's mean, e.g. "latency_ms".
        measured_by_benchmark: whether `Benchmark` measures it (energy is the suite's).
        display: the format of a value in reports, e.g. ".4g".
        centre: which centre decides a comparison: "median" (latency: a few preempted blocks must not
            decide; Mann-Whitney U and the ratio of medians) or "mean" (Welch's t-test and the ratio
            of means: totals that add up, like memory and energy).
    """

    name: str
    unit: str
    direction: str
    better: str
    worse: str
    interval: str
    comparison: str
    column: str
    measured_by_benchmark: bool
    display: str = ".4g"
    centre: str = "mean"

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "min"

    @property
    def words(self) -> tuple[str, str]:
        """The verdict words `(better, worse)`."""
        return self.better, self.worse

    def improvement(self, base, other):
        """How many times better `other` is than `base` (above 1: better): base / other when lower is
        better, other / base otherwise. Works on numbers and on NumPy arrays alike."""
        return base / other if self.lower_is_better else other / base

    def describe_direction(self) -> str:
        """E.g. "ms, lower is better"."""
        return f"{self.unit}, {'lower' if self.lower_is_better else 'higher'} is better"

    def format(self, value: float) -> str:
        return format(value, self.display)


METRICS: dict[str, Metric] = {metric.name: metric for metric in (
    Metric("latency", "ms", "min", "faster", "slower", "t", "welch", "latency_ms", True, centre="median"),
    Metric("accuracy", "fraction", "max", "better", "worse", "counts", "counts", "accuracy", True),
    Metric("memory", "MB", "min", "smaller", "larger", "t", "welch", "memory_mb", True),
    Metric("energy", "J", "min", "less energy", "more energy", "t", "welch", "energy_j", False),
)}
SUITE_METRICS = tuple(METRICS)
BENCHMARK_METRICS = tuple(name for name, m in METRICS.items() if m.measured_by_benchmark)
# Views kept for code written against the earlier names; both are derived from METRICS.
METRIC_DIRECTIONS = {name: m.direction for name, m in METRICS.items()}
METRIC_UNITS = {name: m.unit for name, m in METRICS.items()}


def metric_info(name: str, among: tuple[str, ...] = SUITE_METRICS) -> Metric:
    """The registry entry of `name`; a `ValueError` listing the known metrics (of `among`) otherwise."""
    if name not in among:
        raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(sorted(among))}")
    return METRICS[name]


def check_metric(name: str) -> str:
    """Return `name` if the suite knows it, else raise a `ValueError` listing the known ones."""
    return metric_info(name).name


def best_model(per_model: Mapping[str, Any], metric: str) -> str:
    """The model with the best mean in the metric's direction (the first one on an exact tie)."""
    sign = 1 if metric_info(metric).lower_is_better else -1
    return min(per_model, key=lambda name: sign * per_model[name].mean)
