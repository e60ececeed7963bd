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
# # Scoring an Olympic entry against the baseline
#
# Provided code for Module 19 (no exercises). `score_entry` applies an event's rules (`events`) to the
# measurements of an entry and of the baseline: an entry that breaks a constraint, lacks a measurement
# the score needs, or has a mean no ratio can be formed from is invalid and scores 0; otherwise each
# scored metric gives a ratio oriented so that above 1 is better, **counted as 1.0 when the difference is
# inside the measurement noise**, and the score is their product (the All-Around: their geometric mean).
# The judgements are the lesson's, passed in: which constraints are broken (`check_olympic_constraints`,
# Task 19.9) and whether a difference is significant (`difference_test`). The lesson's
# `score_olympic_event` is this function with those two given.

# %%
#| default_exp benchmarking.olympic_scoring
#| export
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable

from tinytorch.benchmarking.events import OLYMPIC_SCORED_METRICS, OlympicEvent
from tinytorch.benchmarking.metrics import METRICS

# %%
#| export
def olympic_event(event: OlympicEvent | str) -> OlympicEvent:
    """The event named by `event` (an `OlympicEvent` or its value), or a ValueError listing the events."""
    try:
        return OlympicEvent(event)
    except ValueError as error:
        raise ValueError(f"unknown Olympic event {event!r}; choose one of {[e.value for e in OlympicEvent]}") from error


def _missing(metrics: tuple[str, ...], baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    return [f"no {m} measurement for {'the entry' if m not in candidate else 'the baseline'}; the score needs it"
            for m in metrics if m not in candidate or m not in baseline]


def _not_positive(metrics: tuple[str, ...], baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    return [f"{metric}: {who} measured {results[metric].mean:.4g}, not a positive value; no ratio can score it"
            for metric in metrics for who, results in (("the baseline", baseline), ("the entry", candidate))
            if not results[metric].mean > 0]


def score_entry(event: OlympicEvent | str, baseline: Mapping[str, Any], candidate: Mapping[str, Any], *,
                broken_constraints: Callable[[OlympicEvent, Mapping[str, Any]], list[str]],
                test: Callable[[Any, Any, str], Mapping]) -> tuple[bool, float, list[str]]:
    """`(valid, score, reasons)` of `candidate` against `baseline` in `event`.

    Args:
        baseline, candidate: metric -> result (`BenchmarkResult`).
        broken_constraints: `(event, candidate)` -> one reason per constraint broken (empty: all met).
        test: `(baseline_result, candidate_result, metric)` -> a dict with `significant`, `verdict`,
            `test` and `p_value`, as `difference_test` returns.
    """
    event = olympic_event(event)
    metrics = OLYMPIC_SCORED_METRICS[event.objective.metric]
    reasons = broken_constraints(event, candidate) + _missing(metrics, baseline, candidate)
    if not reasons:  # every measurement is there: can each ratio be formed?
        reasons = _not_positive(metrics, baseline, candidate)
    if reasons:
        return False, 0.0, reasons
    ratios = []
    for metric in metrics:
        base, entry = baseline[metric], candidate[metric]
        ratio = METRICS[metric].improvement(base.mean, entry.mean)
        outcome = test(base, entry, metric)
        if outcome["significant"]:
            ratios.append(ratio)
            reasons.append(f"{metric}: ratio {ratio:.3f} against the baseline ({outcome['verdict']}; {outcome['test']})")
        else:
            ratios.append(1.0)
            reasons.append(f"{metric}: ratio {ratio:.3f} is within measurement noise ({outcome['verdict']}, "
                           f"p = {outcome['p_value']:.3g}); counted as 1.0")
    score = math.prod(ratios) ** (1 / len(ratios)) if event is OlympicEvent.ALL_AROUND else math.prod(ratios)
    return True, float(score), reasons
