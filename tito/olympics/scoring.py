"""An entry's measurements, its verdict under the event's rules, and its score in each process.

The rules are tinytorch's: `OlympicEvent(event).constraints` and `score_olympic_event` decide whether an
entry is valid (and give the library's score, which counts a ratio inside the noise as 1.0), and
`OLYMPIC_SCORED_METRICS` names the measurements whose ratios to the baseline make an event's score.

For ranking, every entry also gets one score per measuring process: the same ratios, computed against
the baseline measured in that same process (so a slow process slows both and cancels), multiplied (or,
for the all-around, their geometric mean). Accuracy and memory do not change from process to process
(the same 200 test images; tracemalloc counts bytes exactly), so only latency makes these vary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Measured:
    """What was measured of one entry in one run: raw values per process, and its test-set answers."""

    latency_ms: list[list[float]]  # per process: per-call ms of each timed block
    memory_mb: list[list[float]]  # per process: peak MB of each traced inference
    correct: int
    samples: int

    @property
    def processes(self) -> int:
        return len(self.latency_ms)

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples

    def per_process(self, metric: str) -> np.ndarray:
        """One value per process: the median of its blocks (a stray slow block does not move it)."""
        if metric == "accuracy":
            return np.full(self.processes, self.accuracy)
        values = {"latency": self.latency_ms, "memory": self.memory_mb}[metric]
        return np.array([float(np.median(v)) for v in values])


def _result(metric: str, values, metadata: dict | None = None):
    from tinytorch.benchmarking.benchmark import METRIC_UNITS, BenchmarkResult

    return BenchmarkResult(metric, list(values), metadata or {}, unit=METRIC_UNITS[metric])


def library_measurements(entry: Measured) -> dict:
    """metric -> BenchmarkResult for tinytorch's scoring: latency and memory as per-process values
    (so its tests compare processes), accuracy as the count on the test set."""
    return {"latency": _result("latency", entry.per_process("latency"),
                               {"method": "median of each process's blocks, one value per process"}),
            "memory": _result("memory", entry.per_process("memory")),
            "accuracy": _result("accuracy", [entry.accuracy],
                                {"datasets": [{"dataset": "tinydigits test", "correct": entry.correct,
                                               "samples": entry.samples}]})}


def verdict(event: str, baseline: Measured, entry: Measured) -> tuple[bool, float, list[str]]:
    """`(valid, score, reasons)` from tinytorch's `score_olympic_event` against the baseline."""
    from tinytorch.benchmarking.benchmark import score_olympic_event

    return score_olympic_event(event, library_measurements(baseline), library_measurements(entry))


def scored_metrics(event: str) -> tuple[str, ...]:
    from tinytorch.benchmarking.benchmark import OLYMPIC_SCORED_METRICS, OlympicEvent

    return tuple(OLYMPIC_SCORED_METRICS[OlympicEvent(event).objective.metric])


def process_scores(event: str, baseline: Measured, entry: Measured) -> np.ndarray:
    """The event's score in each process: ratios to the baseline of the same process (higher is better)."""
    from tinytorch.benchmarking.benchmark import METRICS, OlympicEvent

    if baseline.processes != entry.processes:
        raise ValueError(f"the entry was measured in {entry.processes} processes and its baseline in "
                         f"{baseline.processes}; scores need both from the same processes")
    metrics = scored_metrics(event)
    log_score = np.zeros(entry.processes)
    for metric in metrics:
        base, own = baseline.per_process(metric), entry.per_process(metric)
        ratio = METRICS[metric].improvement(base, own)
        log_score += np.log(ratio)
    if OlympicEvent(event) is OlympicEvent.ALL_AROUND:  # the library's all-around is a geometric mean
        log_score /= len(metrics)
    return np.exp(log_score)


def t_interval_of_logs(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """`(geometric mean, low, high)`: a t interval (n-1 degrees of freedom) on the logs, mapped back.

    With no spread the interval is the value itself.
    """
    logs = np.log(np.asarray(values, dtype=float))
    centre = float(logs.mean())
    if logs.size < 2 or float(logs.std(ddof=1)) == 0.0:
        return math.exp(centre), math.exp(centre), math.exp(centre)
    half = float(stats.t.ppf(0.5 + confidence / 2, logs.size - 1)) * float(logs.std(ddof=1)) / math.sqrt(logs.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def wilson_interval(correct: int, samples: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an accuracy (scipy's binomtest)."""
    interval = stats.binomtest(correct, samples).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)
