"""Per-process scores follow tinytorch's rules; verdicts come from score_olympic_event."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tito.olympics.scoring import (Measured, library_measurements, process_scores, scored_metrics, t_interval_of_logs,
                                   verdict, wilson_interval)

BASE = Measured(latency_ms=[[0.010, 0.011, 0.010], [0.020, 0.021, 0.020]], memory_mb=[[0.004] * 3] * 2,
                correct=190, samples=200)
# twice as fast in both processes (the second process is slow for both), a quarter of the memory, 2 images fewer
FAST = Measured(latency_ms=[[0.005, 0.009, 0.005], [0.010, 0.010, 0.012]], memory_mb=[[0.001] * 3] * 2,
                correct=188, samples=200)


def test_per_process_values_are_medians_of_blocks():
    assert FAST.per_process("latency").tolist() == [0.005, 0.010]
    assert FAST.per_process("accuracy").tolist() == [0.94, 0.94]


@pytest.mark.parametrize("event, expected", [
    ("latency_sprint", [2.0, 2.0]),
    ("memory_challenge", [4.0, 4.0]),
    ("accuracy_contest", [188 / 190] * 2),
    ("extreme_push", [8.0, 8.0]),
    ("all_around", [(2.0 * 4.0 * 188 / 190) ** (1 / 3)] * 2),
])
def test_process_scores_are_the_events_ratios_per_process(event, expected):
    assert process_scores(event, BASE, FAST).tolist() == pytest.approx(expected)


def test_scored_metrics_come_from_tinytorch():
    assert scored_metrics("all_around") == ("latency", "memory", "accuracy")
    assert scored_metrics("accuracy_contest") == ("accuracy",)


def test_scores_need_the_same_processes():
    short = Measured([[0.01, 0.01]], [[0.004, 0.004]], 190, 200)
    with pytest.raises(ValueError, match="same processes"):
        process_scores("latency_sprint", BASE, short)


def test_verdict_uses_the_events_constraints():
    poor = Measured(FAST.latency_ms, FAST.memory_mb, correct=160, samples=200)
    valid, score, reasons = verdict("latency_sprint", BASE, poor)
    assert not valid and score == 0.0 and "accuracy 0.8 breaks the constraint accuracy >= 0.85" in reasons[0]
    assert verdict("extreme_push", BASE, poor)[0], "0.80 meets the extreme push's floor"
    valid, _, reasons = verdict("memory_challenge", BASE, FAST)
    assert valid and any(r.startswith("memory: ratio 4.000") for r in reasons)


def test_library_measurements_keep_the_counts():
    accuracy = library_measurements(FAST)["accuracy"]
    assert accuracy.values == [0.94] and accuracy.metadata["datasets"][0]["correct"] == 188
    assert library_measurements(FAST)["latency"].values == [0.005, 0.010]


def test_log_interval_against_scipy():
    values = [1.0, 1.1, 0.95, 1.05, 1.2]
    centre, low, high = t_interval_of_logs(values)
    logs = np.log(values)
    expected = stats.t.interval(0.95, len(values) - 1, loc=logs.mean(), scale=stats.sem(logs))
    assert (math.log(low), math.log(high)) == pytest.approx(expected)
    assert centre == pytest.approx(math.exp(logs.mean()))
    assert t_interval_of_logs([2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_wilson_interval_is_the_textbook_formula():
    n, p, z = 200, 193 / 200, stats.norm.ppf(0.975)
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    assert wilson_interval(193, 200) == pytest.approx(((centre - half) / scale, (centre + half) / scale))
