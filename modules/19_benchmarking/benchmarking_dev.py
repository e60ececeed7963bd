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
# # Module 19: Benchmarking (the TorchPerf Olympics)
#
# Modules 14 to 17 gave you a profiler, quantization, pruning and a trained reference model. Each
# optimization promises something: "4x smaller", "twice as fast". This module builds the instrument that
# checks such promises: `tinytorch.benchmarking.benchmark`. Its job is to say how fast, how accurate and
# how large a model is, *and how sure we are*, in a way that survives a skeptical reader.
#
# ## Why a fair benchmark is hard
#
# Time the same function twice and you get two different numbers. The machine is shared: other processes,
# frequency scaling, caches, the memory allocator and the operating system's scheduler all leave their
# mark. A benchmark that reports one number hides this; a benchmark that compares two models measured at
# different moments can mistake a busy minute for a slow model. Three rules follow, and the code below
# applies each of them:
#
# 1. **Repeat and summarise with uncertainty.** Report a centre *and* an interval, never one reading.
# 2. **Measure what you claim.** The clock has a cost (about 44 ns a reading here); a model that runs in
#    100 ns cannot be timed one call at a time. Time blocks of calls instead (calibration).
# 3. **Compare under the same conditions.** Interleave the models, give them the same inputs, record the
#    machine's state (BLAS library, threads, load) with every result.
#
# ```
#   values (raw)  -->  BenchmarkResult  -->  Benchmark.compare_models  -->  verdict
#   one per block      mean, t interval,     ratio to baseline with         faster / slower /
#   of calls           percentiles, outliers an interval, p-value           no detectable difference
# ```
#
# The file is organised in sections: 1. events, 2. statistics, 3. the result object, 4. timing,
# 5. the `Benchmark` (latency, accuracy, memory, comparison). Later sections build the suite, energy,
# reports and the Olympics on top of these.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp benchmarking.benchmark
#| export
from __future__ import annotations

import itertools
import math
import numbers
import os
import platform
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

import numpy as np
import pandas as pd
import psutil
from scipy import stats
from threadpoolctl import threadpool_info

from tinytorch.core.tensor import Tensor
from tinytorch.profiling.profiler import BYTES_PER_MB, traced_peak_bytes

# %% [markdown]
# ## 1. The Olympic events
#
# The capstone is a competition with five events. Each event is *data*: what it optimizes, in which
# direction, and which constraints a candidate must meet to be ranked at all. Keeping the rules as data
# (rather than buried in `if` statements) lets the report print them and the scoring code, later in this
# module, apply them uniformly.
#
# | event | objective | constraints |
# |---|---|---|
# | Latency Sprint | minimize latency | accuracy >= 0.85 |
# | Memory Challenge | minimize memory | accuracy >= 0.85 |
# | Accuracy Contest | maximize accuracy | latency < 100 ms, memory < 10 MB |
# | All-Around | maximize a balanced score | none |
# | Extreme Push | maximize the reduction of latency and memory | accuracy >= 0.80 |

# %% nbgrader={"grade": false, "grade_id": "benchmarking-events", "locked": false, "schema_version": 3, "solution": false}
#| export
@dataclass(frozen=True)
class Constraint:
    """A bound a measurement must respect, e.g. `Constraint("accuracy", ">=", 0.85, "fraction")`."""

    metric: str
    comparison: str  # one of "<", "<=", ">", ">="
    bound: float
    unit: str = ""

    def is_met(self, value: float) -> bool:
        """Whether `value` (in this constraint's unit) satisfies the bound."""
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
        return bool(compare[self.comparison](float(value), float(self.bound)))

    def __str__(self) -> str:
        return f"{self.metric} {self.comparison} {self.bound:g} {self.unit}".rstrip()


@dataclass(frozen=True)
class Objective:
    """What an event optimizes: a metric and a direction ("minimize" or "maximize")."""

    metric: str
    direction: str
    description: str


_EVENT_RULES: dict[str, tuple[Objective, tuple[Constraint, ...]]] = {
    "latency_sprint": (Objective("latency", "minimize", "fastest inference"),
                       (Constraint("accuracy", ">=", 0.85, "fraction"),)),
    "memory_challenge": (Objective("memory", "minimize", "smallest memory footprint"),
                         (Constraint("accuracy", ">=", 0.85, "fraction"),)),
    "accuracy_contest": (Objective("accuracy", "maximize", "highest accuracy within budgets"),
                         (Constraint("latency", "<", 100.0, "ms"), Constraint("memory", "<", 10.0, "MB"))),
    "all_around": (Objective("balanced", "maximize", "best balance of accuracy, latency and memory"), ()),
    "extreme_push": (Objective("reduction", "maximize", "largest latency and memory reduction that stays viable"),
                     (Constraint("accuracy", ">=", 0.80, "fraction"),)),
}


class OlympicEvent(Enum):
    """The TorchPerf Olympics events; `objective` and `constraints` are the rules as data."""

    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

    @property
    def objective(self) -> Objective:
        return _EVENT_RULES[self.value][0]

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        return _EVENT_RULES[self.value][1]

# %%
def test_unit_olympic_events():
    assert OlympicEvent("latency_sprint") is OlympicEvent.LATENCY_SPRINT
    assert OlympicEvent.MEMORY_CHALLENGE.objective.direction == "minimize"
    limits = {str(c) for c in OlympicEvent.ACCURACY_CONTEST.constraints}
    assert limits == {"latency < 100 ms", "memory < 10 MB"}
    assert OlympicEvent.EXTREME_PUSH.constraints[0].is_met(0.80)
    assert not OlympicEvent.LATENCY_SPRINT.constraints[0].is_met(0.84)
    assert all(event.objective.metric for event in OlympicEvent)


test_unit_olympic_events()

# %% [markdown]
# ## 2. Statistics for noisy measurements
#
# ### The confidence interval of a mean
#
# Suppose we have `n` timings $x_1, \dots, x_n$. Their mean $\bar x$ estimates the true mean $\mu$, and
# the sample standard deviation $s = \sqrt{\sum (x_i - \bar x)^2 / (n - 1)}$ estimates the spread (the
# $n-1$ corrects for measuring the spread around $\bar x$ instead of the unknown $\mu$). By the central
# limit theorem the mean of many independent values is close to normally distributed with standard
# error $s / \sqrt{n}$, whatever the distribution of one value.
#
# With few values, $s$ is itself uncertain, so the multiplier is not the normal 1.96 but Student's
# $t$ quantile with $n - 1$ degrees of freedom:
#
# $$\bar x \pm t_{0.975,\,n-1} \, \frac{s}{\sqrt{n}}$$
#
# | n | 2 | 3 | 5 | 10 | 30 | infinity |
# |---|---|---|---|---|---|---|
# | $t_{0.975,n-1}$ | 12.71 | 4.30 | 2.78 | 2.26 | 2.05 | 1.96 |
#
# Using 1.96 with 3 values claims an interval more than twice too narrow. With one value there is no
# spread estimate at all: the "interval" is the value itself, and the result must say so.
#
# A caution from these machines: most timing noise comes from *between* processes (which core, which
# memory pages, the BLAS threads), not within one. An interval from one process describes that process;
# to claim more, repeat in fresh processes (the benchmark scripts in `bench/` do).
#
# **Your task (19.1):** `t_confidence_interval(values, confidence)` returns `(low, high)`. Use
# `scipy.stats.t.ppf` for the quantile. With one value return `(value, value)`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-t-interval", "locked": false, "schema_version": 3, "solution": true}
#| export
def _checked_values(values, what: str = "values") -> np.ndarray:
    """`values` as a 1-D float64 array; ValueError if it is empty or holds NaN or infinite numbers."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be numbers, got {values!r:.80}") from error
    if array.size == 0:
        raise ValueError(f"{what} is empty; a result needs at least one measured value")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{what} holds NaN or infinite numbers at positions {bad[:5].tolist()} "
                         f"(e.g. {array[bad[0]]}); a failed measurement must raise, not be recorded")
    return array


def t_confidence_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean from Student's t with n-1 degrees of freedom.

    Args:
        values: the measured values (at least one, all finite).
        confidence: the coverage, strictly between 0 and 1.

    Returns:
        `(low, high)`; with a single value both ends are that value (no spread can be estimated).
    """
    data = _checked_values(values)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must be strictly between 0 and 1, e.g. 0.95")
    # Task 19.1: mean +- t * s / sqrt(n), with the t quantile of n - 1 degrees of freedom.
    ### BEGIN SOLUTION
    n = data.size
    mean = float(data.mean())
    if n == 1:
        return mean, mean
    standard_error = float(data.std(ddof=1)) / math.sqrt(n)
    t_quantile = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1))
    half_width = t_quantile * standard_error
    return mean - half_width, mean + half_width
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-t-interval-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_t_confidence_interval():
    low, high = t_confidence_interval([1.0, 2.0, 3.0])
    # mean 2, s = 1, t(0.975, 2) = 4.303: 2 +- 4.303 / sqrt(3)
    assert abs(low - (2 - 4.302653 / 3**0.5)) < 1e-5 and abs(high - (2 + 4.302653 / 3**0.5)) < 1e-5
    assert t_confidence_interval([5.0]) == (5.0, 5.0), "one value: the interval is the value itself"
    narrow = t_confidence_interval([1.0, 2.0, 3.0], confidence=0.5)
    assert low < narrow[0] < narrow[1] < high, "lower confidence, narrower interval"
    for bad in ([], [1.0, float("nan")], [float("inf"), 1.0]):
        try:
            t_confidence_interval(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} must raise ValueError")


test_unit_t_confidence_interval()

# %% [markdown]
# ### Median, spread and outliers
#
# Timings are skewed: a value can be much slower than typical (an interrupt, a page fault) but never much
# faster than the hardware allows. So the summary also gives robust statistics that one wild value cannot
# move far:
#
# - **percentiles** p50 (the median), p90, p99 (linear interpolation between order statistics, NumPy's
#   default), and the **IQR** = p75 - p25;
# - the **MAD**, the median of $|x_i - \text{median}|$ (unscaled);
# - the **coefficient of variation** CV = $s / \bar x$: relative noise, comparable across models.
#
# **Outliers are counted, never silently dropped.** Tukey's rule calls a value an outlier when it lies
# outside the fences $[Q_1 - 1.5\,\text{IQR},\; Q_3 + 1.5\,\text{IQR}]$. Dropping them would make a
# model look steadier than it is; a user who sees "3 outliers of 30" can decide what to do.
#
# **Your task (19.2):** `tukey_outlier_count(values, k=1.5)`: compute the quartiles with `np.percentile`,
# the fences, and count the values strictly outside them.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-tukey", "locked": false, "schema_version": 3, "solution": true}
#| export
def tukey_outlier_count(values, k: float = 1.5) -> int:
    """How many values lie strictly outside Tukey's fences [Q1 - k*IQR, Q3 + k*IQR].

    Quartiles use NumPy's default linear interpolation.
    """
    data = _checked_values(values)
    if not k > 0:
        raise ValueError(f"k={k!r} must be positive; Tukey's usual choice is 1.5")
    # Task 19.2: quartiles, fences, then count the values outside.
    ### BEGIN SOLUTION
    q1, q3 = np.percentile(data, [25, 75])
    spread = q3 - q1
    low_fence, high_fence = q1 - k * spread, q3 + k * spread
    outside = (data < low_fence) | (data > high_fence)
    return int(outside.sum())
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-tukey-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_tukey_outlier_count():
    steady = [10.0, 10.1, 10.2, 10.1, 10.0, 10.2, 10.1]
    assert tukey_outlier_count(steady) == 0
    assert tukey_outlier_count(steady + [30.0]) == 1, "one slow interruption"
    assert tukey_outlier_count(steady + [30.0, -5.0]) == 2, "both sides count"
    assert tukey_outlier_count([4.0] * 5) == 0, "no spread, nothing outside"
    assert tukey_outlier_count([1.0, 2.0, 3.0, 4.0, 9.0], k=0.5) == 1


test_unit_tukey_outlier_count()

# %% [markdown]
# ### An interval for the median
#
# The t interval is about the *mean*, and one preempted block (a 3 ms time slice lost to another
# process) moves the mean and widens its interval a lot. The median has a distribution-free interval:
# sort the values; the number of values below the true median is Binomial(n, 1/2), so the order
# statistics $x_{(j)}$ and $x_{(n-j+1)}$ enclose it with probability $1 - 2\,P(B \le j-1)$. We take the
# largest $j$ that keeps this at least 95%. With fewer than 6 values no such $j$ exists (even
# `(min, max)` covers only $1 - 2/2^n$), so the interval is `(min, max)` and `median_interval_exact`
# says it falls short.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-median-interval", "locked": false, "schema_version": 3, "solution": false}
#| export
def median_confidence_interval(values, confidence: float = 0.95) -> tuple[float, float, bool]:
    """`(low, high, reaches_confidence)`: order-statistic interval of the median (binomial, no model).

    `reaches_confidence` is False when there are too few values; the interval is then `(min, max)`.
    """
    data = np.sort(_checked_values(values))
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must be strictly between 0 and 1, e.g. 0.95")
    n, tail = data.size, (1.0 - confidence) / 2.0
    below = int(stats.binom.ppf(tail, n, 0.5))  # smallest m with P(B <= m) >= tail ...
    if stats.binom.cdf(below, n, 0.5) > tail:  # ... step back to the largest m with P(B <= m) <= tail
        below -= 1
    if below < 0:
        return float(data[0]), float(data[-1]), False
    return float(data[below]), float(data[n - 1 - below]), True

# %%
low, high, exact = median_confidence_interval(np.arange(1.0, 21.0))  # 20 values: x(6) .. x(15)
assert (low, high, exact) == (6.0, 15.0, True)
assert median_confidence_interval([3.0, 1.0, 2.0]) == (1.0, 3.0, False)

# %% [markdown]
# ## 3. `BenchmarkResult`: raw values in, statistics out
#
# A result keeps the **raw values** and derives every statistic from them on demand, so nothing can go
# stale or disagree (a stored mean next to edited values would). It carries its unit (`ms`, `MB`, `J`,
# `fraction`) and free-form `metadata` (how it was measured). It refuses empty, NaN or infinite values:
# a failed measurement must be an error, not a number.
#
# `to_dict()` / `from_dict()` round-trip through JSON; the summary statistics in the dict are for
# people reading the file and are recomputed on load.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-result", "locked": false, "schema_version": 3, "solution": false}
#| export
def _jsonable(value: Any) -> Any:
    """Metadata as JSON-native types: tuples become lists, NumPy scalars become Python numbers."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class BenchmarkResult:
    """Raw measurements of one metric with statistics derived on demand.

    Args:
        metric_name: what was measured, e.g. "mlp_latency".
        values: the measured values (one per block, run or dataset), at least one, all finite.
        metadata: how the values were obtained (method, settings, machine).
        unit: the unit of the values, e.g. "ms", "MB", "J", "fraction".
    """

    metric_name: str
    values: list[float]
    metadata: dict[str, Any] | None = None
    unit: str = ""

    CONFIDENCE = 0.95

    def __post_init__(self):
        if not isinstance(self.metric_name, str) or not self.metric_name:
            raise ValueError(f"metric_name={self.metric_name!r} must be a non-empty string")
        self.values = _checked_values(self.values, f"{self.metric_name} values").tolist()
        self.metadata = dict(self.metadata) if self.metadata is not None else {}

    def _array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64)

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(self._array().mean())

    @property
    def std(self) -> float:
        """Sample standard deviation (n - 1); 0.0 for a single value, see `single_value`."""
        return float(self._array().std(ddof=1)) if self.count > 1 else 0.0

    @property
    def median(self) -> float:
        return float(np.median(self._array()))

    @property
    def min_val(self) -> float:
        return float(min(self.values))

    @property
    def max_val(self) -> float:
        return float(max(self.values))

    @property
    def single_value(self) -> bool:
        """True when n = 1: no spread can be estimated and the interval is the value itself."""
        return self.count == 1

    @property
    def ci_lower(self) -> float:
        return t_confidence_interval(self.values, self.CONFIDENCE)[0]

    @property
    def ci_upper(self) -> float:
        return t_confidence_interval(self.values, self.CONFIDENCE)[1]

    @property
    def median_ci_lower(self) -> float:
        """Lower end of the 95% distribution-free interval of the median (see median_confidence_interval)."""
        return median_confidence_interval(self.values, self.CONFIDENCE)[0]

    @property
    def median_ci_upper(self) -> float:
        return median_confidence_interval(self.values, self.CONFIDENCE)[1]

    @property
    def median_interval_exact(self) -> bool:
        """False when there are too few values (< 6) for a 95% interval of the median."""
        return median_confidence_interval(self.values, self.CONFIDENCE)[2]

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100), linear interpolation."""
        if not 0 <= q <= 100:
            raise ValueError(f"q={q!r} must be a percentile between 0 and 100")
        return float(np.percentile(self._array(), q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def iqr(self) -> float:
        return self.percentile(75) - self.percentile(25)

    @property
    def mad(self) -> float:
        """Median absolute deviation from the median (unscaled)."""
        data = self._array()
        return float(np.median(np.abs(data - np.median(data))))

    @property
    def cv(self) -> float:
        """Coefficient of variation std / |mean|; NaN when the mean is 0 (undefined)."""
        return self.std / abs(self.mean) if self.mean != 0 else math.nan

    @property
    def outlier_count(self) -> int:
        """Values outside Tukey's 1.5 IQR fences (counted, never removed)."""
        return tukey_outlier_count(self.values)

    def summary(self) -> dict[str, Any]:
        """Every derived statistic by name; undefined ones (CV of a zero mean) are None."""
        names = ("count", "mean", "std", "median", "min_val", "max_val", "ci_lower", "ci_upper", "median_ci_lower",
                 "median_ci_upper", "median_interval_exact", "p50", "p90", "p99", "iqr", "mad", "cv",
                 "outlier_count", "single_value")
        values = {name: getattr(self, name) for name in names}
        return {name: (None if isinstance(v, float) and not math.isfinite(v) else v) for name, v in values.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the raw values, unit, metadata and (for readers) the summary."""
        return {"metric_name": self.metric_name, "unit": self.unit, "values": list(self.values),
                "metadata": _jsonable(self.metadata), "summary": self.summary()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchmarkResult:
        """Rebuild a result from `to_dict()` output; statistics are recomputed from the values."""
        if not isinstance(data, Mapping):
            raise ValueError(f"from_dict needs a mapping from to_dict(), got {type(data).__name__}")
        missing = [key for key in ("metric_name", "values") if key not in data]
        if missing:
            raise ValueError(f"the result dict lacks {missing}; it must come from BenchmarkResult.to_dict()")
        return cls(data["metric_name"], list(data["values"]), data.get("metadata"), data.get("unit", ""))

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.metric_name}: {self.mean:.4g} ± {self.std:.4g}{unit} (n={self.count})"

# %%
def test_unit_benchmark_result():
    import json
    import statistics
    values = [1.0, 2.0, 3.0, 4.0, 100.0]
    result = BenchmarkResult("toy_latency", values, {"input_shape": (1, 64)}, unit="ms")
    assert result.mean == 22.0 and result.median == 3.0 and result.count == 5
    assert abs(result.std - statistics.stdev(values)) < 1e-12
    assert result.ci_lower < result.mean < result.ci_upper
    assert result.outlier_count == 1 and result.p50 == 3.0 and result.iqr == 2.0 and result.mad == 1.0
    assert str(result) == "toy_latency: 22 ± 43.62 ms (n=5)"
    again = BenchmarkResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.values == values and again.unit == "ms" and again.metadata == {"input_shape": [1, 64]}
    single = BenchmarkResult("once", [0.5], unit="fraction")
    assert single.single_value and (single.ci_lower, single.ci_upper) == (0.5, 0.5)
    try:
        BenchmarkResult("broken", [1.0, float("nan")])
    except ValueError as error:
        assert "NaN" in str(error)
    else:
        raise AssertionError("NaN values must raise ValueError")


test_unit_benchmark_result()

# %% [markdown]
# ## 4. Timing
#
# ### A timer that tells the truth when things go wrong
#
# `time.perf_counter_ns()` reads a monotonic clock in integer nanoseconds (no float rounding of large
# timestamps). `precise_timer()` wraps two readings in a context manager:
#
# ```python
# with precise_timer() as timer:
#     model(x)
# timer.elapsed      # seconds, float
# ```
#
# A context manager is an object with `__enter__` (returns the object bound by `as`) and `__exit__`
# (called on the way out, with the exception if the body raised). If the body raises, the time until the
# failure is still recorded in `elapsed` and the exception continues upwards: `__exit__` returns `False`.
# The clock is a parameter, so tests can drive the timer with a fake clock.
#
# **Your task (19.3):** `PreciseTimer.__exit__`: read the clock, refuse a clock that went backwards
# (`RuntimeError`), set `elapsed_ns` and `elapsed` (seconds), and let any exception propagate.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-timer", "locked": false, "schema_version": 3, "solution": true}
#| export
class PreciseTimer:
    """Context manager timing its body; `elapsed` (s) and `elapsed_ns` are set on exit, even on error."""

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns):
        if not callable(clock):
            raise TypeError(f"clock must be callable and return nanoseconds, got {clock!r}")
        self.clock = clock
        self.start_ns: int | None = None
        self.elapsed_ns: int | None = None
        self.elapsed: float | None = None

    def __enter__(self) -> PreciseTimer:
        self.elapsed_ns = self.elapsed = None
        self.start_ns = self.clock()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        # Task 19.3: stop the clock, check it, record the elapsed time, never swallow an exception.
        ### BEGIN SOLUTION
        stop_ns = self.clock()
        if stop_ns < self.start_ns:
            raise RuntimeError(f"the clock went backwards ({self.start_ns} -> {stop_ns} ns); "
                               "use a monotonic clock such as time.perf_counter_ns")
        self.elapsed_ns = stop_ns - self.start_ns
        self.elapsed = self.elapsed_ns / 1e9
        return False
        ### END SOLUTION


def precise_timer(clock: Callable[[], int] = time.perf_counter_ns) -> PreciseTimer:
    """`with precise_timer() as t: ...` then `t.elapsed` in seconds (from `time.perf_counter_ns`)."""
    return PreciseTimer(clock)

# %% nbgrader={"grade": true, "grade_id": "benchmarking-timer-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_precise_timer():
    readings = iter([1_000, 2_501_000, 5_000, 9_000])
    clock = lambda: next(readings)  # noqa: E731 (a scripted fake clock)
    with precise_timer(clock) as timer:
        pass
    assert timer.elapsed_ns == 2_500_000 and timer.elapsed == 0.0025
    try:
        with precise_timer(clock) as failing:
            raise KeyError("model failed")
    except KeyError:
        assert failing.elapsed_ns == 4_000, "the time until the failure is still recorded"
    else:
        raise AssertionError("the exception must propagate out of the timer")
    with precise_timer() as real:  # the real clock: only check that a time was recorded
        sum(range(100))
    assert real.elapsed >= 0


test_unit_precise_timer()

# %% [markdown]
# ### Timer overhead and calibration
#
# Reading the clock costs time. Time one call of a 100 ns model and the reading (~44 ns here, plus the
# loop) is a large part of what you report: the old design of this module reported an empty model as
# 7 to 20 times slower than it is. The cure is to time a **block** of `n` calls and divide:
#
# $$\text{per-call time} = \frac{t_\text{block} - \text{(one clock reading)}}{n} \approx \frac{t_\text{block}}{n}
# \quad\text{with relative bias} \le \frac{\text{overhead}}{t_\text{block}}$$
#
# Calibration chooses `n`: start with one call and double until a block lasts at least a target
# duration. The target is the larger of `overhead / 1%` (so the clock is under 1% of every block) and a
# minimum block length (longer blocks average away more scheduler noise; 1 ms by default).
#
# **Your task (19.4):** `calibrate_calls_per_block(run_block, target_ns, clock)`. `run_block(n)` makes
# `n` calls. Double `n` from 1 until one timed block lasts at least `target_ns`, and return that `n`. If
# `n` exceeds `max_calls`, the clock is not advancing (or the block does nothing): raise `RuntimeError`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-calibration", "locked": false, "schema_version": 3, "solution": false}
#| export
def measure_timer_overhead_ns(clock: Callable[[], int] = time.perf_counter_ns, samples: int = 2000) -> float:
    """Median cost of one clock reading, from back-to-back pairs of readings (nanoseconds)."""
    gaps = np.empty(samples, dtype=np.float64)
    for i in range(samples):
        first = clock()
        gaps[i] = clock() - first
    return float(np.median(gaps))


def calibration_target_ns(timer_overhead_ns: float, max_overhead_fraction: float = 0.01,
                          min_block_ns: float = 1e6) -> float:
    """Shortest block that keeps the timer under `max_overhead_fraction` and lasts `min_block_ns`."""
    if not 0 < max_overhead_fraction < 1:
        raise ValueError(f"max_overhead_fraction={max_overhead_fraction!r} must be in (0, 1), e.g. 0.01")
    # at least 1 ns, so that a zero overhead and no minimum still ask for a block that advances the clock
    return max(timer_overhead_ns / max_overhead_fraction, float(min_block_ns), 1.0)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-calibrate", "locked": false, "schema_version": 3, "solution": true}
#| export
def calibrate_calls_per_block(run_block: Callable[[int], None], target_ns: float,
                              clock: Callable[[], int] = time.perf_counter_ns, max_calls: int = 2**26) -> int:
    """Smallest power of two `n` whose block `run_block(n)` lasts at least `target_ns` nanoseconds.

    Raises:
        ValueError: for a non-positive target.
        RuntimeError: if no block up to `max_calls` calls reaches the target (clock not advancing).
    """
    if not target_ns > 0:
        raise ValueError(f"target_ns={target_ns!r} must be positive")
    # Task 19.4: time blocks of 1, 2, 4, ... calls until one lasts at least target_ns.
    ### BEGIN SOLUTION
    calls = 1
    while calls <= max_calls:
        start = clock()
        run_block(calls)
        if clock() - start >= target_ns:
            return calls
        calls *= 2
    raise RuntimeError(f"a block of {max_calls} calls still took less than {target_ns:.0f} ns; "
                       "the clock is not advancing or the block does no work")
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-calibrate-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_calibrate_calls_per_block():
    class FakeClock:  # time advances only when the fake model runs: 300 ns per call
        now = 0

        def __call__(self):
            return self.now

    clock, blocks = FakeClock(), []

    def run_block(n):
        blocks.append(n)
        clock.now += 300 * n

    assert calibrate_calls_per_block(run_block, target_ns=10_000, clock=clock) == 64  # 64 * 300 >= 10 us
    assert blocks == [1, 2, 4, 8, 16, 32, 64]
    assert calibration_target_ns(44.0) == 1e6, "the 1 ms minimum block dominates a 44 ns timer"
    assert calibration_target_ns(44.0, min_block_ns=0) == 4400.0, "44 ns is 1% of 4.4 us"
    try:
        calibrate_calls_per_block(lambda n: None, target_ns=1_000, clock=lambda: 0, max_calls=64)
    except RuntimeError as error:
        assert "not advancing" in str(error)
    else:
        raise AssertionError("a stopped clock must raise RuntimeError")


test_unit_calibrate_calls_per_block()

# %% [markdown]
# ### Interleaving
#
# If model A is measured for a minute and then model B, any drift (another job starting, the CPU
# warming up) is charged to one model only. Instead, every round times one block of *each* model, and
# the starting model rotates each round (A B C, B C A, C A B, ...), so drift and position effects hit all
# models alike. Each block gives one value: its per-call time.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-interleave", "locked": false, "schema_version": 3, "solution": false}
#| export
def interleaved_block_times(run_blocks: Mapping[str, Callable[[int], None]], calls_per_block: Mapping[str, int],
                            rounds: int, clock: Callable[[], int] = time.perf_counter_ns) -> dict[str, np.ndarray]:
    """Per-call nanoseconds of one block per model per round, the starting model rotated every round."""
    names = list(run_blocks)
    per_call_ns = {name: np.empty(rounds, dtype=np.float64) for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            run_blocks[name](calls_per_block[name])
            stop = clock()
            if stop < start:
                raise RuntimeError(f"the clock went backwards while timing {name!r}; use a monotonic clock")
            per_call_ns[name][round_index] = (stop - start) / calls_per_block[name]
    return per_call_ns

# %%
def test_unit_interleaved_block_times():
    order, clock_now = [], [0]

    def runner(name, ns_per_call):
        def run(n):
            order.append(name)
            clock_now[0] += ns_per_call * n
        return run

    runs = {"a": runner("a", 100), "b": runner("b", 200), "c": runner("c", 50)}
    times = interleaved_block_times(runs, {"a": 4, "b": 2, "c": 8}, rounds=3, clock=lambda: clock_now[0])
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert times["a"].tolist() == [100.0] * 3 and times["b"].tolist() == [200.0] * 3


test_unit_interleaved_block_times()

# %% [markdown]
# ### What decides a timing: the machine
#
# The same code can differ 2x between machines, or between two settings of one machine. Here, for
# example, `OPENBLAS_CORETYPE` selects OpenBLAS kernels and changes a small matmul by about 2x; the number
# of BLAS threads matters as much. `collect_system_info` records these alongside every result, with the
# timer's resolution and its measured overhead.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-system-info", "locked": false, "schema_version": 3, "solution": false}
#| export
_TIMING_ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_", "VECLIB_", "NUMEXPR_")


def collect_system_info(clock: Callable[[], int] = time.perf_counter_ns) -> dict[str, Any]:
    """The machine facts that decide a timing: hardware, software, BLAS, environment, load, timer."""
    blas = [{"user_api": pool.get("user_api"), "internal_api": pool.get("internal_api"),
             "version": pool.get("version"), "num_threads": pool.get("num_threads"),
             "architecture": pool.get("architecture"), "filepath": pool.get("filepath")}
            for pool in threadpool_info()]
    clock_info = time.get_clock_info("perf_counter")
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python_version": platform.python_version(),
        "memory_gb": psutil.virtual_memory().total / 1024**3,
        "cpu_count": os.cpu_count(),
        "numpy_version": np.__version__,
        "blas": blas,
        "timing_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(_TIMING_ENV_PREFIXES)},
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "timer": "time.perf_counter_ns",
        "timer_implementation": clock_info.implementation,
        "timer_resolution_ns": clock_info.resolution * 1e9,
        "timer_overhead_ns": measure_timer_overhead_ns(clock),
    }

# %%
info = collect_system_info()
print({key: info[key] for key in ("python_version", "cpu_count", "numpy_version", "timing_env", "timer_overhead_ns")})
assert info["timer_overhead_ns"] >= 0 and info["cpu_count"] >= 1

# %% [markdown]
# ## 5. The `Benchmark`
#
# `Benchmark(models, datasets)` measures every model the same way. A **model** is anything with
# `forward(x)`, or `predict(x)`, or a plain callable; its name is `model.name` or `model_{i}`. Its output
# may be a NumPy array or a `Tensor`. **Datasets** are labelled data, in any of three shapes:
#
# ```python
# (inputs, labels)                                  # a pair of arrays
# {"name": "digits", "inputs": x, "labels": y}      # a mapping ("x"/"y" also accepted)
# [(x_batch, y_batch), (x_batch, y_batch), ...]     # an iterable of batches
# ```
#
# A model that raises, returns `None`, NaN or an output whose first axis is not the batch is reported
# as a `BenchmarkError` naming the model, with the original exception chained (`raise ... from error`).
# Nothing is replaced by a guess: the old design of this module turned failures into sleeps and invented
# accuracies; a number printed by this code was measured.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-inputs", "locked": false, "schema_version": 3, "solution": false}
#| export
class BenchmarkError(Exception):
    """A model failed while being benchmarked (raised, returned None/NaN or a wrong shape)."""


def _check_count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def _check_input_shape(input_shape) -> tuple[int, ...]:
    """A batch-first tuple of positive integers, e.g. (1, 64)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 1 or any(
            isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in input_shape):
        raise ValueError(f"input_shape={input_shape!r} must be a tuple of integers, batch first, e.g. (1, 64)")
    if any(n < 1 for n in input_shape):
        raise ValueError(f"input_shape={tuple(input_shape)!r} has a zero or negative size; every axis must be "
                         "at least 1, batch first, e.g. (1, 8, 8)")
    return tuple(int(n) for n in input_shape)


def _inference_function(model, index: int) -> tuple[Callable, str]:
    """The model's bound inference call and how it is called: forward, predict or __call__."""
    for method in ("forward", "predict"):
        function = getattr(model, method, None)
        if callable(function):
            return function, method
    if callable(model):
        return model, "__call__"
    raise TypeError(f"model {index} ({type(model).__name__}) has no forward(x), no predict(x) and is not callable; "
                    "wrap it, e.g. `lambda x: my_model.run(x)`")


def _as_array(output) -> np.ndarray:
    return output.data if isinstance(output, Tensor) else np.asarray(output)


def _checked_output(name: str, output, batch: int) -> np.ndarray:
    """The model output as an array; BenchmarkError for None, non-numbers, NaN or a wrong first axis."""
    if output is None:
        raise BenchmarkError(f"model {name!r} returned None; its forward/predict must return the outputs")
    array = _as_array(output)
    if array.dtype.kind not in "biuf":
        raise BenchmarkError(f"model {name!r} returned {array.dtype} data; outputs must be numbers")
    if array.ndim == 0 or array.shape[0] != batch:
        raise BenchmarkError(f"model {name!r} returned an output of shape {array.shape} for a batch of {batch}; "
                             "the first axis of the output must be the batch")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BenchmarkError(f"model {name!r} returned NaN or infinite values")
    return array


def _call_model(name: str, function: Callable, x):
    try:
        return function(x)
    except Exception as error:  # any failure of user code becomes a BenchmarkError naming the model
        raise BenchmarkError(f"model {name!r} raised {type(error).__name__}: {error}") from error


def _call_checked(name: str, function: Callable, x, batch: int) -> np.ndarray:
    return _checked_output(name, _call_model(name, function, x), batch)


def _repeat_calls(function: Callable, x) -> Callable[[int], None]:
    """A block runner: `n` calls of `function(x)`, nothing else in the loop."""
    def run_block(calls: int) -> None:
        # itertools.repeat yields the same None every time, so the loop itself allocates nothing
        # (range would create an int object per iteration above 256); timeit uses the same loop.
        for _ in itertools.repeat(None, calls):
            function(x)
    return run_block

# %% [markdown]
# ### Datasets
#
# Every dataset becomes a name, its inputs and its labels (or `None` when it has none: fine for latency,
# an error for accuracy, which names the dataset). Lengths that disagree are an error at construction.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-datasets", "locked": false, "schema_version": 3, "solution": false}
#| export
_INPUT_KEYS, _LABEL_KEYS = ("inputs", "x", "data", "images", "features"), ("labels", "y", "targets")


@dataclass
class _Dataset:
    name: str
    batches: list[tuple[np.ndarray, np.ndarray | None]]
    source: Any = field(repr=False, default=None)

    @property
    def labelled(self) -> bool:
        return all(labels is not None for _, labels in self.batches)

    @property
    def size(self) -> int:
        return sum(len(inputs) for inputs, _ in self.batches)


def _array_like(value) -> bool:
    return isinstance(value, (np.ndarray, Tensor))


def _batch(name: str, inputs, labels) -> tuple[np.ndarray, np.ndarray | None]:
    x = _as_array(inputs)
    y = None if labels is None else _as_array(labels)
    if x.ndim == 0:
        raise ValueError(f"dataset {name!r}: inputs are a scalar; pass an array with a batch axis first")
    if y is not None and (y.ndim == 0 or len(y) != len(x)):
        raise ValueError(f"dataset {name!r}: {len(x)} inputs but {y.size if y.ndim == 0 else len(y)} labels; "
                         "each input needs exactly one label")
    return x, y


def _normalize_dataset(dataset, index: int) -> _Dataset:
    """Turn one of the accepted dataset shapes into named batches."""
    name = f"dataset_{index}"
    if isinstance(dataset, Mapping):
        name = str(dataset.get("name", name))
        inputs = next((dataset[key] for key in _INPUT_KEYS if key in dataset), None)
        if inputs is None:
            raise ValueError(f"dataset {name!r} has no inputs; give it one of the keys {list(_INPUT_KEYS)}")
        labels = next((dataset[key] for key in _LABEL_KEYS if key in dataset), None)
        return _Dataset(name, [_batch(name, inputs, labels)], dataset)
    if _array_like(dataset):
        return _Dataset(name, [_batch(name, dataset, None)], dataset)
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2 and all(_array_like(part) for part in dataset):
        return _Dataset(name, [_batch(name, dataset[0], dataset[1])], dataset)
    if isinstance(dataset, Iterable) and not isinstance(dataset, (str, bytes)):
        batches = []
        for number, item in enumerate(dataset):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(f"dataset {name!r}: batch {number} is {type(item).__name__}, not an (x, y) pair")
            batches.append(_batch(f"{name} batch {number}", item[0], item[1]))
        if not batches:
            raise ValueError(f"dataset {name!r} is an empty iterable; give it at least one (x, y) batch")
        return _Dataset(name, batches, dataset)
    raise ValueError(f"dataset {index} is a {type(dataset).__name__}; pass (inputs, labels), "
                     "{'inputs': x, 'labels': y} or an iterable of (x, y) batches")

# %% [markdown]
# ### Accuracy from outputs
#
# Accuracy is the fraction of predictions equal to the labels, computed from what the model returns:
#
# - scores per class, shape `(N, C)` with `C > 1`: the prediction is the **argmax over the last axis**;
# - a single output per sample, shape `(N,)` or `(N, 1)`: a probability, **thresholded at 0.5**;
# - labels returned by `predict` (shape `(N,)`, flagged by `outputs_are_labels=True`): used **as is**.
#
# **Your task (19.5):** `accuracy_from_outputs(outputs, labels, outputs_are_labels=False)`. Turn the
# outputs into predicted labels with those rules, check that their shape equals the labels' shape (a
# `ValueError` naming both otherwise) and return the fraction correct as a Python float.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-accuracy", "locked": false, "schema_version": 3, "solution": true}
#| export
def accuracy_from_outputs(outputs, labels, outputs_are_labels: bool = False) -> float:
    """Fraction of samples whose prediction equals the label.

    Args:
        outputs: class scores `(N, ..., C)`, single probabilities `(N,)`/`(N, 1)`, or labels `(N,)`.
        labels: true labels, `(N,)` (or `(N, ...)` matching the predictions).
        outputs_are_labels: the outputs are already labels (a `predict` that returns classes).

    Raises:
        ValueError: if there are no samples or the predictions and labels differ in shape.
    """
    scores, truth = _as_array(outputs), _as_array(labels)
    if truth.size == 0:
        raise ValueError("there are no labels to score; the dataset is empty")
    # Task 19.5: labels as is, a single output thresholded at 0.5, else argmax over the last axis.
    ### BEGIN SOLUTION
    if outputs_are_labels and scores.shape == truth.shape:
        predictions = scores
    elif scores.size == truth.size and scores.shape[:1] == truth.shape[:1] and (
            scores.shape == truth.shape or scores.shape[-1] == 1):
        predictions = (scores.reshape(truth.shape) > 0.5).astype(np.int64)
    elif scores.ndim >= 2:
        predictions = scores.argmax(axis=-1)
    else:
        predictions = scores
    if predictions.shape != truth.shape:
        raise ValueError(f"outputs of shape {scores.shape} give predictions of shape {predictions.shape}, "
                         f"but the labels have shape {truth.shape}")
    return float(np.mean(predictions == truth))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-accuracy-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_accuracy_from_outputs():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy_from_outputs(scores, np.array([1, 0, 0, 0])) == 0.75
    assert accuracy_from_outputs(Tensor(scores), np.array([1, 0, 1, 0])) == 1.0, "Tensor outputs work"
    probabilities = np.array([0.9, 0.2, 0.51, 0.5])
    assert accuracy_from_outputs(probabilities, np.array([1, 0, 1, 0])) == 1.0, "0.5 is not above 0.5"
    assert accuracy_from_outputs(probabilities[:, None], np.array([1, 1, 1, 1])) == 0.5
    assert accuracy_from_outputs(np.array([3, 1, 2]), np.array([3, 1, 0]), outputs_are_labels=True) == 2 / 3
    try:
        accuracy_from_outputs(scores, np.array([1, 0, 1]))
    except ValueError as error:
        assert "(3,)" in str(error)
    else:
        raise AssertionError("4 predictions against 3 labels must raise ValueError")


test_unit_accuracy_from_outputs()

# %% [markdown]
# ### Comparing two models: ratio, interval, p-value, verdict
#
# "B is 1.3x faster than A" needs two things to be believed: an interval for the ratio and a test that
# the difference is larger than the noise.
#
# - **Ratio of means with its interval (delta method on the log scale).** For $r = \bar x_B / \bar x_A$,
#   $\operatorname{Var}(\log r) \approx \frac{s_B^2}{n_B \bar x_B^2} + \frac{s_A^2}{n_A \bar x_A^2}$.
#   The interval is $r \cdot e^{\pm t \cdot se}$, with $t$ from Student's distribution with the
#   Welch-Satterthwaite degrees of freedom. The log scale keeps the interval positive and symmetric in
#   ratio terms (2x and 0.5x are equally far from 1). It needs positive means (times, bytes).
# - **Welch's t-test** (`scipy.stats.ttest_ind(..., equal_var=False)`): are the means different, without
#   assuming equal variances. Two samples with no spread at all are identical (p = 1) or certainly
#   different (p = 0).
# - **Verdict:** only when p < alpha *and* the ratio interval excludes 1 do we say "faster"/"slower"
#   (for accuracy: "better"/"worse"); otherwise "no detectable difference". A candidate inside the noise
#   is never ranked ahead of the baseline.
#
# Accuracy measured on a single dataset has one value, too few for Welch; there the counts speak:
# `compare_accuracy_counts` (given below) uses Fisher's exact test on correct/wrong counts.
#
# `ratio_of_means_interval` is given; **your task (19.6)** is `compare_samples`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-ratio", "locked": false, "schema_version": 3, "solution": false}
#| export
def ratio_of_means_interval(baseline, candidate, confidence: float = 0.95) -> tuple[float, float, float]:
    """`(ratio, low, high)` for mean(candidate) / mean(baseline) by the log-scale delta method.

    Degrees of freedom: Welch-Satterthwaite. With no spread in either sample the interval is the ratio
    itself; with a non-positive mean every entry is NaN (a ratio of such means means nothing here).
    """
    a, b = _checked_values(baseline, "baseline"), _checked_values(candidate, "candidate")
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

# %% nbgrader={"grade": false, "grade_id": "benchmarking-accuracy-counts", "locked": false, "schema_version": 3, "solution": false}
#| export
def compare_accuracy_counts(baseline_correct: int, baseline_total: int, candidate_correct: int,
                            candidate_total: int, alpha: float = 0.05) -> dict[str, Any]:
    """Compare two accuracies from their counts of correct predictions (one dataset is enough).

    The p-value is Fisher's exact test on the 2x2 table of correct/wrong counts; the ratio interval is
    Katz's log interval for a ratio of proportions (a large-sample normal interval, so wide for small
    counts). Both treat the two sets of predictions as independent, which is conservative when the
    models were scored on the same samples.
    """
    for label, value in (("baseline_total", baseline_total), ("candidate_total", candidate_total)):
        _check_count(label, value, 1)
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

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare", "locked": false, "schema_version": 3, "solution": true}
#| export
def compare_samples(baseline, candidate, lower_is_better: bool = True, alpha: float = 0.05,
                    words: tuple[str, str] = ("faster", "slower")) -> dict[str, Any]:
    """Compare a candidate's values with a baseline's.

    Args:
        baseline, candidate: the measured values (at least two each for a test).
        lower_is_better: True for latency and memory, False for accuracy.
        alpha: significance level of Welch's t-test.
        words: the verdict when the candidate is (better, worse).

    Returns:
        `ratio`, `ratio_ci_lower`, `ratio_ci_upper` (candidate / baseline), `p_value`, `test` and
        `verdict` (one of `words`, or "no detectable difference", or "too few values to test").
    """
    a, b = _checked_values(baseline, "baseline"), _checked_values(candidate, "candidate")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be between 0 and 1, e.g. 0.05")
    ratio, low, high = ratio_of_means_interval(a, b, 1 - alpha)
    result = {"ratio": ratio, "ratio_ci_lower": low, "ratio_ci_upper": high, "test": "Welch t-test"}
    # Task 19.6: the p-value (Welch), then a verdict that needs p < alpha and an interval excluding 1.
    ### BEGIN SOLUTION
    if a.size < 2 or b.size < 2:
        return {**result, "p_value": math.nan, "verdict": "too few values to test"}
    if a.std() == 0 and b.std() == 0:
        p_value = 1.0 if a.mean() == b.mean() else 0.0  # no noise: identical or certainly different
    else:
        p_value = float(stats.ttest_ind(b, a, equal_var=False).pvalue)
    excludes_one = math.isnan(ratio) or not (low <= 1.0 <= high)
    if p_value < alpha and excludes_one and b.mean() != a.mean():
        candidate_is_lower = b.mean() < a.mean()
        verdict = words[0] if candidate_is_lower == lower_is_better else words[1]
    else:
        verdict = "no detectable difference"
    return {**result, "p_value": p_value, "verdict": verdict}
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-compare-tests", "locked": true, "points": 10, "schema_version": 3, "solution": false}
def test_unit_compare_samples():
    base = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8]
    half = [v / 2 for v in base]
    faster = compare_samples(base, half)
    assert faster["verdict"] == "faster" and faster["p_value"] < 1e-6
    assert abs(faster["ratio"] - 0.5) < 1e-12 and faster["ratio_ci_lower"] < 0.5 < faster["ratio_ci_upper"]
    assert compare_samples(half, base)["verdict"] == "slower"
    same = compare_samples(base, [10.1, 9.9, 10.0, 10.2, 9.8, 10.0])
    assert same["verdict"] == "no detectable difference" and same["p_value"] > 0.5
    accuracy = compare_samples([0.90, 0.91, 0.92], [0.95, 0.96, 0.97], lower_is_better=False, words=("better", "worse"))
    assert accuracy["verdict"] == "better"
    assert compare_samples([1.0], [2.0])["verdict"] == "too few values to test"
    assert compare_samples([2.0, 2.0], [1.0, 1.0])["p_value"] == 0.0


test_unit_compare_samples()

# %% [markdown]
# ### The `Benchmark` class
#
# The pieces come together. Latency: seeded inputs (`np.random.default_rng(seed)`, never the global
# random state), one checked call per model (errors surface here, outside the timing), warm-up,
# calibration per model, then interleaved blocks; each value is the per-call time of one block, in ms.
# The latency table also gives the **paired ratio**: in each round the blocks of all models run back to
# back, so the median over rounds of (model block / baseline block) cancels slow drift of the machine.
# Memory: in its own pass, the `tracemalloc` peak of one inference (from Module 14's
# `traced_peak_bytes`), with the model's stored size (`model_size_mb`, from the parameters' real bytes)
# reported next to it, never instead of it. Accuracy: one value per dataset, from the outputs.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-benchmark", "locked": false, "schema_version": 3, "solution": false}
#| export
_METRICS = {  # metric -> (unit, lower is better, verdict words)
    "latency": ("ms", True, ("faster", "slower")),
    "memory": ("MB", True, ("smaller", "larger")),
    "accuracy": ("fraction", False, ("better", "worse")),
}


def _model_size_mb(model) -> tuple[float | None, str | None]:
    """Stored parameter bytes in MB (dtype-aware), or None with the reason it cannot be counted."""
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return None, f"{type(model).__name__} has no parameters() method, so its stored size is unknown"
    return sum(int(_as_array(p).nbytes) for p in parameters()) / BYTES_PER_MB, None


class Benchmark:
    """Latency, accuracy and memory of several models, measured alike and compared with statistics.

    Args:
        models: objects with `forward(x)` or `predict(x)`, or callables; named by `.name` or `model_{i}`.
        datasets: labelled data: `(inputs, labels)`, a mapping with inputs and labels, or (x, y) batches.
        warmup_runs: untimed calls per model before calibration.
        measurement_runs: timed blocks per model (>= 2, so that a spread and an interval exist).
        min_block_ms: shortest timed block; calibration also keeps the timer under `max_timer_overhead`.
        max_timer_overhead: largest fraction of a block the clock readings may take (default 1%).
        clock: integer-nanosecond clock (injectable for tests).
        seed: seed of the generated inputs.
    """

    def __init__(self, models: list, datasets: list | None = None, warmup_runs: int = 5,
                 measurement_runs: int = 10, min_block_ms: float = 1.0, max_timer_overhead: float = 0.01,
                 clock: Callable[[], int] = time.perf_counter_ns, seed: int = 0):
        if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
            raise TypeError(f"models must be a list of models, got {type(models).__name__}")
        self.models = list(models)
        if not self.models:
            raise ValueError("models is empty; pass at least one model")
        self.warmup_runs = _check_count("warmup_runs", warmup_runs, 0)
        if isinstance(measurement_runs, numbers.Integral) and not isinstance(measurement_runs, bool) \
                and measurement_runs < 2:
            raise ValueError(f"measurement_runs={measurement_runs!r}: at least 2 are needed for a spread and an "
                             "interval; use 10 or more")
        self.measurement_runs = _check_count("measurement_runs", measurement_runs, 2)
        if not min_block_ms >= 0:
            raise ValueError(f"min_block_ms={min_block_ms!r} must be >= 0")
        self.min_block_ms, self.max_timer_overhead = float(min_block_ms), float(max_timer_overhead)
        calibration_target_ns(1.0, self.max_timer_overhead)  # validates the fraction early
        self.clock, self.seed = clock, _check_count("seed", seed, 0)
        self.names = self._model_names()
        self.functions = {}
        for index, (name, model) in enumerate(zip(self.names, self.models)):
            self.functions[name] = _inference_function(model, index)
        self.datasets = [_normalize_dataset(d, i) for i, d in enumerate(datasets or [])]
        self.system_info = collect_system_info(clock)
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    def _model_names(self) -> list[str]:
        names = [str(getattr(model, "name", None) or f"model_{i}") for i, model in enumerate(self.models)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names {duplicates}; give each model a distinct `.name`")
        return names

    def _inputs(self, input_shape) -> np.ndarray:
        shape = _check_input_shape(input_shape)
        return np.random.default_rng(self.seed).standard_normal(shape).astype(np.float32)

    def run_latency_benchmark(self, input_shape: tuple[int, ...] = (1, 28, 28)) -> dict[str, BenchmarkResult]:
        """Per-inference latency in ms: one value per calibrated block, models interleaved."""
        x = self._inputs(input_shape)
        run_blocks = {}
        for name, (function, _) in self.functions.items():
            _call_checked(name, function, x, x.shape[0])  # errors surface here, outside the timing
            run_blocks[name] = self._guarded(name, _repeat_calls(function, x))
        for run_block in run_blocks.values():
            run_block(self.warmup_runs)
        overhead_ns = self.system_info["timer_overhead_ns"]
        target_ns = calibration_target_ns(overhead_ns, self.max_timer_overhead, self.min_block_ms * 1e6)
        calls = {name: calibrate_calls_per_block(run, target_ns, self.clock) for name, run in run_blocks.items()}
        per_call_ns = interleaved_block_times(run_blocks, calls, self.measurement_runs, self.clock)
        results = {}
        for name, values in per_call_ns.items():
            metadata = {"calls_per_block": calls[name], "warmup_runs": self.warmup_runs,
                        "timer_overhead_ns": overhead_ns, "block_target_ns": target_ns,
                        "input_shape": x.shape, "seed": self.seed, "called_as": self.functions[name][1],
                        "method": "per-call time of calibrated blocks, models interleaved round-robin"}
            results[name] = BenchmarkResult(f"{name}_latency", values / 1e6, metadata, unit="ms")
        self.results["latency"] = results
        return results

    @staticmethod
    def _guarded(name: str, run_block: Callable[[int], None]) -> Callable[[int], None]:
        def run(calls: int) -> None:
            try:
                run_block(calls)
            except Exception as error:  # a model failing mid-run is reported, never timed
                raise BenchmarkError(f"model {name!r} raised {type(error).__name__}: {error}") from error
        return run

    def run_accuracy_benchmark(self, use_evaluate: bool = False) -> dict[str, BenchmarkResult]:
        """Fraction correct per dataset, from each model's outputs against the labels.

        With `use_evaluate=True`, a model offering `evaluate(dataset)` is scored by it instead,
        recorded as such in the metadata.
        """
        if not self.datasets:
            raise ValueError("no datasets were given; pass labelled data, e.g. Benchmark(models, [(x_test, y_test)])")
        for dataset in self.datasets:
            if not dataset.labelled:
                raise ValueError(f"dataset {dataset.name!r} has no labels, so accuracy cannot be measured; "
                                 "pass (inputs, labels) or {'inputs': x, 'labels': y}")
        results = {}
        for name, model in zip(self.names, self.models):
            values, details = [], []
            for dataset in self.datasets:
                value, detail = self._dataset_accuracy(name, model, dataset, use_evaluate)
                values.append(value)
                details.append(detail)
            metadata = {"datasets": details, "called_as": details[0]["method"]}
            results[name] = BenchmarkResult(f"{name}_accuracy", values, metadata, unit="fraction")
        self.results["accuracy"] = results
        return results

    def _dataset_accuracy(self, name: str, model, dataset: _Dataset, use_evaluate: bool) -> tuple[float, dict]:
        if use_evaluate and callable(getattr(model, "evaluate", None)):
            try:
                value = float(model.evaluate(dataset.source))
            except Exception as error:
                raise BenchmarkError(f"model {name!r}: evaluate() raised {type(error).__name__}: {error}") from error
            if not 0.0 <= value <= 1.0:
                raise BenchmarkError(f"model {name!r}: evaluate() returned {value}, not a fraction in [0, 1]")
            return value, {"dataset": dataset.name, "samples": dataset.size, "method": "model.evaluate(dataset)"}
        function, method = self.functions[name]
        correct = 0
        for inputs, labels in dataset.batches:
            outputs = _call_checked(name, function, inputs, len(inputs))
            correct += round(accuracy_from_outputs(outputs, labels, method == "predict") * len(labels))
        detail = {"dataset": dataset.name, "samples": dataset.size, "correct": correct, "method": method}
        return correct / dataset.size, detail

    def run_memory_benchmark(self, input_shape: tuple[int, ...] = (1, 28, 28)) -> dict[str, BenchmarkResult]:
        """Peak MB allocated during one inference (tracemalloc, peak reset each run), in its own pass."""
        x = self._inputs(input_shape)
        results = {}
        for name, (function, method) in self.functions.items():
            _call_checked(name, function, x, x.shape[0])  # warm-up outside tracing, and the output check
            # only the model call is traced: the output check's temporaries must not count
            peaks = [traced_peak_bytes(lambda: _call_model(name, function, x)) for _ in range(self.measurement_runs)]
            size_mb, reason = _model_size_mb(self.models[self.names.index(name)])
            metadata = {"peak_bytes": peaks, "model_size_mb": size_mb, "input_shape": x.shape, "seed": self.seed,
                        "input_bytes": int(x.nbytes), "called_as": method,
                        "method": "tracemalloc peak of one inference, peak reset before each run"}
            if reason:
                metadata["model_size_unavailable"] = reason
            results[name] = BenchmarkResult(f"{name}_memory", np.asarray(peaks) / BYTES_PER_MB, metadata, unit="MB")
        self.results["memory"] = results
        return results

    def compare_models(self, metric: str = "latency", alpha: float = 0.05, **run_kwargs) -> pd.DataFrame:
        """One row per model: statistics, ratio to the first model with its interval, p-value, verdict.

        Uses the results of the last run of `metric`; runs it (with `run_kwargs`) if there are none.
        """
        if metric not in _METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(_METRICS)}")
        runners = {"latency": self.run_latency_benchmark, "accuracy": self.run_accuracy_benchmark,
                   "memory": self.run_memory_benchmark}
        results = self.results.get(metric) if not run_kwargs else None
        results = results or runners[metric](**run_kwargs)
        unit, lower_is_better, words = _METRICS[metric]
        baseline = results[self.names[0]]
        rows = []
        for name in self.names:
            result = results[name]
            row = {"model": name, "metric": metric, "mean": result.mean, "std": result.std,
                   "ci_lower": result.ci_lower, "ci_upper": result.ci_upper, "count": result.count,
                   "median": result.median, "median_ci_lower": result.median_ci_lower,
                   "median_ci_upper": result.median_ci_upper, "unit": unit}
            if name == self.names[0]:
                row.update(ratio=1.0, ratio_ci_lower=1.0, ratio_ci_upper=1.0, p_value=math.nan, test="",
                           verdict="baseline")
            else:
                row.update(self._compare_to_baseline(metric, baseline, result, alpha))
            row["paired_ratio_median"] = self._paired_ratio_median(metric, baseline, result)
            rows.append(row)
        return pd.DataFrame(rows)

    @staticmethod
    def _paired_ratio_median(metric: str, baseline: BenchmarkResult, result: BenchmarkResult) -> float:
        """Latency only: median over rounds of (this model's block / the baseline's block of the same round).

        Blocks of one round ran back to back, so a slow minute slows both and cancels in their ratio.
        """
        if metric != "latency" or baseline.count != result.count:
            return math.nan
        return float(np.median(np.asarray(result.values) / np.asarray(baseline.values)))

    @staticmethod
    def _compare_to_baseline(metric: str, baseline: BenchmarkResult, result: BenchmarkResult,
                             alpha: float) -> dict[str, Any]:
        """Welch on the values; for accuracy on too few datasets, Fisher on the pooled counts."""
        _, lower_is_better, words = _METRICS[metric]
        counts = [[d.get("correct") for d in r.metadata.get("datasets", [])] for r in (baseline, result)]
        if metric == "accuracy" and min(baseline.count, result.count) < 2 and all(
                c and None not in c for c in counts):
            totals = [sum(d["samples"] for d in r.metadata["datasets"]) for r in (baseline, result)]
            return compare_accuracy_counts(sum(counts[0]), totals[0], sum(counts[1]), totals[1], alpha)
        return compare_samples(baseline.values, result.values, lower_is_better, alpha, words)

# %%
def test_unit_benchmark_fake_clock():
    class FakeClock:
        now = 0

        def __call__(self):
            return self.now

    clock, order = FakeClock(), []

    class Busy:  # a model that "takes" a fixed time on the fake clock
        def __init__(self, name, ns):
            self.name, self.ns = name, ns

        def forward(self, x):
            order.append(self.name)
            clock.now += self.ns
            return np.zeros((x.shape[0], 10))

    bench = Benchmark([Busy("slow", 2000), Busy("fast", 1000)], warmup_runs=1, measurement_runs=4,
                      min_block_ms=0.1, clock=clock)
    latency = bench.run_latency_benchmark(input_shape=(1, 64))
    assert latency["slow"].values == [0.002] * 4 and latency["fast"].values == [0.001] * 4
    assert latency["slow"].metadata["calls_per_block"] == 64 and latency["fast"].metadata["calls_per_block"] == 128
    table = bench.compare_models("latency")
    assert list(table["verdict"]) == ["baseline", "faster"] and table["ratio"][1] == 0.5
    try:
        bench.compare_models("speed")
    except ValueError as error:
        assert "latency" in str(error)
    else:
        raise AssertionError("an unknown metric must raise ValueError")


def test_unit_benchmark_accuracy_and_errors():
    x = np.eye(4, dtype=np.float32)
    y = np.array([0, 1, 2, 0])
    identity = lambda batch: batch  # noqa: E731 (scores = one-hot of the true class for 3 of 4)
    bench = Benchmark([identity], [(x, y), {"name": "twice", "inputs": np.vstack([x, x]), "labels": np.tile(y, 2)}])
    accuracy = bench.run_accuracy_benchmark()["model_0"]
    assert accuracy.values == [0.75, 0.75] and accuracy.unit == "fraction"
    for bad_model in (lambda batch: None, lambda batch: np.full((len(batch), 2), np.nan)):
        try:
            Benchmark([bad_model]).run_latency_benchmark((1, 4))
        except BenchmarkError as error:
            assert "model_0" in str(error)
        else:
            raise AssertionError("a model returning None or NaN must raise BenchmarkError")


test_unit_benchmark_fake_clock()
test_unit_benchmark_accuracy_and_errors()

# %% [markdown]
# ### A real measurement
#
# The reference MLP of Module 17 against a NumPy model doing the same arithmetic and a model doing
# exactly twice that work, on real TinyDigits test images for accuracy. Read the table: the ratio to the
# first model has an interval, and the verdict only says "faster" or "slower" when the data supports it.

# %%
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

digits = load_tinydigits()
mlp = load_reference_model("tinydigits_mlp")
mlp.name = "tinytorch_mlp"
weights = [p.data for p in mlp.parameters()]


def numpy_mlp(x):
    flat = x.reshape(x.shape[0], -1)
    return np.maximum(flat @ weights[0] + weights[1], 0) @ weights[2] + weights[3]


def numpy_mlp_twice(x):
    numpy_mlp(x)
    return numpy_mlp(x)


numpy_mlp_twice.name = "numpy_mlp_x2"
demo = Benchmark([mlp, numpy_mlp, numpy_mlp_twice], [digits.test], measurement_runs=20)
print(demo.compare_models("latency", input_shape=(1, 8, 8)).round(4).to_string())
print(demo.compare_models("accuracy")[["model", "mean", "count", "verdict"]].to_string())
print(demo.compare_models("memory", input_shape=(1, 8, 8))[["model", "mean", "unit", "verdict"]].to_string())
