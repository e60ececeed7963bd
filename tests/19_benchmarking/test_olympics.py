"""Olympic scoring: rules as data, constraints, scores, and differences inside the noise."""
import math

import pytest

from tinytorch.benchmarking.benchmark import (OLYMPIC_SCORED_METRICS, BenchmarkResult, OlympicEvent,
                                              check_olympic_constraints, score_olympic_event)

UNITS = {"latency": "ms", "accuracy": "fraction", "memory": "MB", "energy": "J"}


def entry(**metrics):
    return {metric: BenchmarkResult(metric, values, {}, unit=UNITS[metric]) for metric, values in metrics.items()}


def accuracy(correct, samples=200):
    return BenchmarkResult("accuracy", [correct / samples], {"datasets": [{"correct": correct, "samples": samples}]},
                           unit="fraction")


BASELINE = entry(latency=[10.0, 10.4, 9.6, 10.2, 9.8], memory=[4.0, 4.0], energy=[2.0, 2.1, 1.9])
TWICE_AS_FAST = entry(latency=[5.0, 5.2, 4.8, 5.1, 4.9], memory=[1.0, 1.0], energy=[1.0, 1.05, 0.95])
LUCKY = entry(latency=[9.9, 10.3, 9.5, 10.1, 9.7], memory=[4.0, 4.0], energy=[2.0, 2.1, 1.9])
BASELINE["accuracy"] = accuracy(192)
TWICE_AS_FAST["accuracy"] = accuracy(190)  # 2 images fewer of 200: inside the noise
LUCKY["accuracy"] = accuracy(193)


def test_every_event_is_scored_on_measured_metrics():
    for event in OlympicEvent:
        assert set(OLYMPIC_SCORED_METRICS[event.objective.metric]) <= {"latency", "memory", "accuracy", "energy"}


def test_unknown_event_lists_the_events():
    with pytest.raises(ValueError, match="latency_sprint"):
        score_olympic_event("marathon", BASELINE, LUCKY)


@pytest.mark.parametrize("event", list(OlympicEvent))
def test_a_lucky_run_inside_the_noise_does_not_rank_ahead(event):
    valid, score, reasons = score_olympic_event(event, BASELINE, LUCKY)
    assert valid and score == 1.0
    assert any("within measurement noise" in r for r in reasons) or event == OlympicEvent.MEMORY_CHALLENGE


def test_scores_of_a_real_improvement():
    valid, sprint, _ = score_olympic_event("latency_sprint", BASELINE, TWICE_AS_FAST)
    assert valid and sprint == pytest.approx(10.0 / 5.0)
    _, memory, _ = score_olympic_event("memory_challenge", BASELINE, TWICE_AS_FAST)
    assert memory == pytest.approx(4.0)
    _, push, _ = score_olympic_event("extreme_push", BASELINE, TWICE_AS_FAST)
    assert push == pytest.approx(2.0 * 4.0)
    _, balanced, reasons = score_olympic_event("all_around", BASELINE, TWICE_AS_FAST)
    assert balanced == pytest.approx((2.0 * 4.0 * 1.0) ** (1 / 3)), "the 1-point accuracy drop is noise: 1.0"
    assert any("accuracy" in r and "noise" in r for r in reasons)


def test_a_real_accuracy_drop_counts():
    worse = dict(TWICE_AS_FAST, accuracy=accuracy(150))
    _, balanced, _ = score_olympic_event("all_around", BASELINE, worse)
    assert balanced == pytest.approx((2.0 * 4.0 * 150 / 192) ** (1 / 3))


def test_accuracy_contest_constraints_and_score():
    fits = entry(latency=[50.0, 50.0], memory=[5.0, 5.0])
    fits["accuracy"] = accuracy(199)
    valid, score, _ = score_olympic_event("accuracy_contest", BASELINE, fits)
    assert valid and score == pytest.approx(199 / 192), "7 more images of 200 is a significant gain"
    too_big = entry(latency=[50.0, 50.0], accuracy=[0.99], memory=[12.0, 12.0])
    valid, score, reasons = score_olympic_event("accuracy_contest", BASELINE, too_big)
    assert not valid and score == 0.0 and "memory 12 breaks the constraint memory < 10 MB" in reasons[0]


def test_accuracy_floor_and_missing_measurements():
    poor = entry(latency=[1.0, 1.0], accuracy=[0.84], memory=[1.0, 1.0])
    valid, score, reasons = score_olympic_event("latency_sprint", BASELINE, poor)
    assert (valid, score) == (False, 0.0) and "accuracy 0.84" in reasons[0]
    assert score_olympic_event("extreme_push", BASELINE, poor)[0], "0.84 passes the 0.80 floor"
    valid, _, reasons = score_olympic_event("all_around", BASELINE, entry(latency=[1.0, 1.0], accuracy=[0.9]))
    assert not valid and any("no memory measurement" in r for r in reasons)


@pytest.mark.task("benchmarking-olympic-constraints")
def test_constraint_check_is_on_the_mean_with_strict_ceilings():
    edge = entry(latency=[100.0, 100.0], accuracy=[0.9], memory=[9.99, 9.99])
    reasons = check_olympic_constraints("accuracy_contest", edge)
    assert len(reasons) == 1 and "latency" in reasons[0]
