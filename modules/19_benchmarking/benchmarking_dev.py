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
# Modules 14 to 18 gave you a profiler, quantization, pruning, a trained reference model and the
# TinyMLPerf tasks. Each optimization promises something: "4x smaller", "twice as fast". This module
# builds the instrument that checks such promises, `tinytorch.benchmarking`: how fast, how accurate, how
# large and how energy-hungry a model is, *and how sure we are*, in a form that survives a skeptical
# reader.
#
# ## Why a fair benchmark is hard
#
# Time the same function twice and you get two different numbers. The machine is shared: other processes,
# frequency scaling, caches, the memory allocator and the scheduler all leave their mark, and most of
# that noise is one-sided (an interruption makes a run slower, never faster). A benchmark that reports
# one number hides this; one that measures model A now and model B in ten minutes can mistake a busy
# minute for a slow model. Three rules follow, and the code applies each of them:
#
# 1. **Repeat, and report uncertainty.** A centre *and* an interval, never one reading.
# 2. **Measure what you claim.** Reading the clock costs time (about 44 ns here); a model that runs in
#    100 ns cannot be timed one call at a time. Time blocks of calls instead (calibration).
# 3. **Compare under the same conditions.** Same inputs, models interleaved, and the machine's state
#    (BLAS library, threads, load) recorded with every result.
#
# ```
#   values (raw)  -->  BenchmarkResult  -->  Benchmark.compare_models  -->  verdict
#   one per block      mean, t interval,     ratio to baseline with         faster / slower /
#   of calls           percentiles, outliers an interval, p-value           no detectable difference
# ```
#
# **The road through the module.** Every section either asks you to write a function (an exercise,
# "Task 19.k", followed by its graded tests) or runs the code on real models and prints what it measured.
# Five written questions at the end ask you to read those printouts.
#
# | part | sections | you build |
# |---|---|---|
# | measuring | 1 statistics, 2 the result object, 3 timing, 4 the `Benchmark` | the t interval, the outlier count, the timer, calibration, accuracy, the comparison |
# | deciding | 5 energy, 6 Pareto, 7 the suite and its report | the energy estimate, dominance |
# | optimizing | 8 comparing optimizations, 9 ablations, 10 how many runs, 11 the Olympics | the Olympic constraint check |
# | standards | 12 MLPerf and TinyMLPerf, 13 a class Olympics | |
# | reflecting | 14 systems-thinking questions, 15 summary | five short written answers |

# %% [markdown]
# ## Where the code goes
#
# What you write is exported into small modules ("rooms") of `tinytorch.benchmarking`, one per topic:
# `statistics`, `timing`, `measurement` (the `Benchmark` and the comparison), `energy`, `pareto`,
# `suite`, `optimization` and `olympics`; `benchmark` gathers their public names. The plumbing is
# provided, ready made, in rooms whose sources sit beside this notebook in `modules/19_benchmarking/`,
# each opening with what it does: the metric registry (`metrics`), the settings of a run, calling
# models, the statistics you are not asked to write (`significance`), the energy counters, the results
# file, the report and plots, the Olympic rules (`system`, the machine's readings, comes from Module
# 18). Three are bases your classes extend: `measured_values`, `benchmark_setup` and `suite_outputs`.
# None is an exercise, and here none calls your code: where the plumbing needs a judgement (which models
# are within noise, the Pareto front, a significance test), your function is passed to it.
#
# The cells below are each room's imports, first on purpose: every name they import from a room you
# write is defined again further down, by the cell you complete, so the code that runs here is yours.

# %%
#| default_exp benchmarking.benchmark
#| export
from tinytorch.benchmarking.energy import estimate_energy_per_inference, measure_energy
from tinytorch.benchmarking.energy_meter import (
    RAPL_ROOT, EnergyMeter, RaplPackage, find_rapl_packages, rapl_delta_uj)
from tinytorch.benchmarking.calls import BenchmarkError
from tinytorch.benchmarking.events import OLYMPIC_SCORED_METRICS, Constraint, Objective, OlympicEvent
from tinytorch.benchmarking.latency_workers import RECORDED_BETWEEN_PROCESS_CV, measure_in_workers
from tinytorch.benchmarking.measurement import (
    Benchmark, accuracy_from_outputs, compare_results, difference_test, within_noise_of)
from tinytorch.benchmarking.metrics import (
    METRIC_DIRECTIONS, METRIC_UNITS, METRICS, SUITE_METRICS, Metric, best_model, check_metric)
from tinytorch.benchmarking.olympics import check_olympic_constraints, score_olympic_event
from tinytorch.benchmarking.optimization import (
    compare_ablation_orders, compare_optimization_techniques, optimize_benchmark_configuration,
    run_ablation, summarize_optimizations)
from tinytorch.benchmarking.pareto import dominates, pareto_front
from tinytorch.benchmarking.plots import frontier_staircase
from tinytorch.benchmarking.report import DeploymentConstraints
from tinytorch.benchmarking.results_file import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION, results_to_json
from tinytorch.benchmarking.settings import DEFAULT_PROCESSES, DEFAULT_WATTS_PER_CORE, BenchmarkSettings
from tinytorch.benchmarking.significance import (
    choose_comparison, coefficient_of_variation, compare_accuracy_counts, compare_medians, display_interval,
    intervals_overlap, median_confidence_interval, paired_ratio_interval, ratio_of_means_interval)
from tinytorch.benchmarking.statistics import (
    BenchmarkResult, compare_samples, t_confidence_interval, tukey_outlier_count)
from tinytorch.benchmarking.suite import (
    BenchmarkSuite, plot_metric_panel, plot_pareto_panel, render_report, results_from_json)
from tinytorch.benchmarking.system import (
    busy_machine, collect_system_info, machine_snapshot, machine_warnings, measure_timer_overhead_ns,
    timing_environment, value_warnings)
from tinytorch.benchmarking.timing import (
    PreciseTimer, calibrate_calls_per_block, calibration_target_ns, interleaved_block_times, precise_timer)
from tinytorch.benchmarking.tinymlperf import TinyMLPerf
from tinytorch.benchmarking.workers import ModelSource, WorkerError, across_processes
from tinytorch.profiling.profiler import BYTES_PER_MB

__all__ = [name for name in dir() if not name.startswith("_")]  # every name imported above

# %% nbgrader={"grade": false, "grade_id": "benchmarking-statistics-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.statistics
import math
from typing import Any

import numpy as np
from scipy import stats

from tinytorch.benchmarking.measured_values import MeasuredValues
from tinytorch.benchmarking.significance import (
    coefficient_of_variation, median_confidence_interval, ratio_of_means_interval)
from tinytorch.utils.checks import finite_values

# %% nbgrader={"grade": false, "grade_id": "benchmarking-timing-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.timing
import itertools
import time
from collections.abc import Mapping
from typing import Callable

import numpy as np

# %% nbgrader={"grade": false, "grade_id": "benchmarking-measurement-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.measurement
import warnings
from collections.abc import Mapping
from typing import Callable

import numpy as np
import pandas as pd

from tinytorch.benchmarking.benchmark_setup import BenchmarkSetup
from tinytorch.benchmarking.calls import Dataset, call_checked, guarded
from tinytorch.benchmarking.comparison_table import comparison_table
from tinytorch.benchmarking.latency_workers import in_process_metadata
from tinytorch.benchmarking.metrics import BENCHMARK_METRICS, metric_info
from tinytorch.benchmarking.significance import (
    choose_comparison, compare_accuracy_counts, compare_medians, correct_counts)
from tinytorch.benchmarking.statistics import BenchmarkResult, compare_samples
from tinytorch.benchmarking.system import machine_snapshot
from tinytorch.benchmarking.timing import (
    calibrate_calls_per_block, calibration_target_ns, interleaved_block_times, repeat_calls)
from tinytorch.utils.inference import as_array

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.energy
import math
from collections.abc import Mapping, Sequence
from typing import Callable

from tinytorch.benchmarking.energy_meter import EnergyMeter
from tinytorch.benchmarking.settings import DEFAULT_WATTS_PER_CORE
from tinytorch.benchmarking.statistics import BenchmarkResult
from tinytorch.utils.checks import check_count

# %% nbgrader={"grade": false, "grade_id": "benchmarking-pareto-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.pareto
import math
from collections.abc import Mapping, Sequence

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.suite
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tinytorch.benchmarking.energy import measure_energy
from tinytorch.benchmarking.energy_meter import EnergyMeter
from tinytorch.benchmarking.measurement import Benchmark, compare_results, within_noise_of
from tinytorch.benchmarking.pareto import pareto_front
from tinytorch.benchmarking.plots import draw_metric_panel, draw_pareto_panel
from tinytorch.benchmarking.report import DeploymentConstraints, render_markdown
from tinytorch.benchmarking.results_file import results_from_document
from tinytorch.benchmarking.settings import DEFAULT_WATTS_PER_CORE, BenchmarkSettings, settings_from
from tinytorch.benchmarking.statistics import BenchmarkResult
from tinytorch.benchmarking.suite_outputs import SuiteOutputs
from tinytorch.utils.progress import progress_display

# %% nbgrader={"grade": false, "grade_id": "benchmarking-optimization-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.optimization
import time
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import pandas as pd

from tinytorch.benchmarking.ablation import ablation_rows, check_steps, stage_orders
from tinytorch.benchmarking.benchmark_setup import seeded_input
from tinytorch.benchmarking.calls import guarded
from tinytorch.benchmarking.measurement import difference_test
from tinytorch.benchmarking.recommendations import optimization_summary
from tinytorch.benchmarking.significance import run_count_advice
from tinytorch.benchmarking.suite import BenchmarkSuite
from tinytorch.benchmarking.system import measure_timer_overhead_ns
from tinytorch.benchmarking.timing import (
    calibrate_calls_per_block, calibration_target_ns, interleaved_block_times, repeat_calls)
from tinytorch.utils.checks import check_count
from tinytorch.utils.inference import inference_function, model_name

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympics-imports", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.olympics
from collections.abc import Mapping

from tinytorch.benchmarking.events import OlympicEvent
from tinytorch.benchmarking.measurement import difference_test
from tinytorch.benchmarking.olympic_scoring import score_entry
from tinytorch.benchmarking.statistics import BenchmarkResult

# %% [markdown]
# ## 1. Statistics for noisy measurements
#
# ### The confidence interval of a mean
#
# Suppose we have `n` timings $x_1, \dots, x_n$. Their mean $\bar x$ estimates the true mean $\mu$, and
# the sample standard deviation $s = \sqrt{\sum (x_i - \bar x)^2 / (n - 1)}$ estimates the spread (the
# $n-1$ corrects for measuring the spread around $\bar x$ instead of the unknown $\mu$). By the central
# limit theorem the mean of many independent values is close to normally distributed with standard
# error $s / \sqrt{n}$, whatever the distribution of one value.
#
# Two words carry weight. *Many*: timings have a long right tail, so an interval from 5 blocks is
# rough. *Independent*: consecutive blocks share the machine's state (a background job, the clock
# speed), so they are correlated and an interval that assumes independence is too narrow.
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
# Most timing noise on these machines comes from *between* processes (which core, which memory pages,
# the BLAS threads): an interval from one process describes that process only.
#
# **Exercise (Task 19.1):** `t_confidence_interval(values, confidence=0.95)` returns `(low, high)`, the
# interval of the mean from Student's t with `n - 1` degrees of freedom: `mean ± t * s / sqrt(n)`, with
# `s` the sample standard deviation (`ddof=1`) and `t = scipy.stats.t.ppf(0.5 + confidence / 2, n - 1)`.
# With a single value there is no spread: return `(value, value)`. The argument checks are given:
# `finite_values` (in `tinytorch.utils.checks`) refuses empty, NaN and infinite values with a `ValueError`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-t-interval", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.statistics
def t_confidence_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean from Student's t with n-1 degrees of freedom.

    Args:
        values: the measured values (at least one, all finite).
        confidence: the coverage, strictly between 0 and 1.

    Returns:
        `(low, high)`; with a single value both ends are that value (no spread can be estimated).
    """
    data = finite_values(values)
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
# **Mean or median?** They answer different questions.
#
# ```
#  block times (ms):  1.0  1.0  1.1  1.0  1.1  1.0  4.0      <- one block lost a time slice
#  mean   = 1.46      the total cost per call, interruptions included (1.03 without that block)
#  median = 1.0       the typical call; one wild value moves it at most one rank
# ```
#
# Use the **mean** when costs add up (a batch job, an energy budget, throughput); the **median** to
# compare two models on a shared, noisy machine (an interruption landing on B's block says nothing about
# B); **high percentiles** (p90, p99) when a deadline matters.
#
# **Exercise (Task 19.2):** `tukey_outlier_count(values, k=1.5)`: the quartiles
# `q1, q3 = np.percentile(values, [25, 75])` (NumPy's default, linear interpolation), the fences
# `q1 - k * (q3 - q1)` and `q3 + k * (q3 - q1)`, and the number of values *strictly* outside them (a
# value exactly on a fence is not an outlier), as a Python `int`.


# %% nbgrader={"grade": false, "grade_id": "benchmarking-tukey", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.statistics
def tukey_outlier_count(values, k: float = 1.5) -> int:
    """How many values lie strictly outside Tukey's fences [Q1 - k*IQR, Q3 + k*IQR].

    Quartiles use NumPy's default linear interpolation.
    """
    data = finite_values(values)
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
# ### An interval for the median, and the coefficient of variation
#
# The t interval is about the *mean*, and one preempted block (a 3 ms time slice lost to another
# process) moves the mean and widens its interval a lot. The median has a distribution-free interval:
# sort the values; the number of values below the true median is Binomial(n, 1/2), so the order
# statistics $x_{(j)}$ and $x_{(n-j+1)}$ enclose it with probability $1 - 2\,P(B \le j-1)$. We take the
# largest $j$ that keeps this at least 95%. With fewer than 6 values no such $j$ exists (even
# `(min, max)` covers only $1 - 2/2^n$), so the interval is `(min, max)` and says it falls short.
#
# The **coefficient of variation**, CV $= s / |\bar x|$, is the spread relative to the centre: 0.02
# means the values scatter by about 2% of their mean, whatever the model's speed. Both are provided, in
# `significance`: `median_confidence_interval(values)` returns `(low, high, reaches_confidence)`, and
# `coefficient_of_variation(values)` is the one CV everything else uses (`BenchmarkResult.cv`, the
# run-count advice of section 10).
#
# The four statistics on a real measurement: 30 blocks, each 200 sorts of the same 1,000 numbers,
# timed with the nanosecond clock. Compare the mean's interval with the median's, and look for blocks
# that another process interrupted.

# %%
import time

_numbers = np.random.default_rng(0).standard_normal(1000)
_block_ms = []
for _ in range(30):
    _start = time.perf_counter_ns()
    for _ in range(200):
        np.sort(_numbers)
    _block_ms.append((time.perf_counter_ns() - _start) / 1e6)
_low, _high = t_confidence_interval(_block_ms)
_median_low, _median_high, _exact = median_confidence_interval(_block_ms)
print(f"mean   {np.mean(_block_ms):.4f} ms, 95% t interval [{_low:.4f}, {_high:.4f}]")
print(f"median {np.median(_block_ms):.4f} ms, 95% interval [{_median_low:.4f}, {_median_high:.4f}] (exact: {_exact})")
print(f"outliers (Tukey 1.5 IQR): {tukey_outlier_count(_block_ms)} of {len(_block_ms)}; "
      f"CV {coefficient_of_variation(_block_ms):.3f}; slowest block {max(_block_ms):.4f} ms")

# %% [markdown]
# ## 2. `BenchmarkResult`: raw values in, statistics out
#
# A result keeps the **raw values** and derives every statistic from them on demand, so nothing can go
# stale or disagree (a stored mean next to edited values would). It carries its unit (`ms`, `MB`, `J`,
# `fraction`) and free-form `metadata` (how it was measured), refuses empty, NaN or infinite values (a
# failed measurement must be an error, not a number), and round-trips through JSON with `to_dict()` /
# `from_dict()` (the summary in the dict is for people reading the file and is recomputed on load). All
# that, with the descriptive statistics (mean, std, median, percentiles, IQR, MAD), is provided by
# `MeasuredValues` (in `measured_values`). What a result *infers* is yours: the class below adds the t
# interval, the median's interval, the CV and the outlier count of section 1.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-result", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.statistics
class BenchmarkResult(MeasuredValues):
    """Raw measurements of one metric with statistics derived on demand; `BenchmarkResult(metric_name,
    values, metadata=None, unit="")` as `MeasuredValues`, whose docstring describes each field."""

    SUMMARY_NAMES = ("count", "mean", "std", "median", "min_val", "max_val", "ci_lower", "ci_upper",
                     "median_ci_lower", "median_ci_upper", "median_interval_exact", "p50", "p90", "p99", "iqr",
                     "mad", "cv", "outlier_count", "single_value")

    @property
    def ci_lower(self) -> float:
        """Lower end of the 95% t interval of the mean (`t_confidence_interval`)."""
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

    @property
    def cv(self) -> float:
        """Coefficient of variation (see `coefficient_of_variation`); NaN when the mean is 0."""
        return coefficient_of_variation(self.values)

    @property
    def outlier_count(self) -> int:
        """Values outside Tukey's 1.5 IQR fences (counted, never removed)."""
        return tukey_outlier_count(self.values)

# %%
_sorts = BenchmarkResult("sort_1000_x200", _block_ms, {"method": "the blocks measured above"}, unit="ms")
print(_sorts)
print({key: round(value, 4) if isinstance(value, float) else value for key, value in _sorts.summary().items()})

# %% [markdown]
# ## 3. Timing
#
# ### Which clock
#
# | clock | what it counts | use it for |
# |---|---|---|
# | `time.time()` | wall-clock date; can jump (NTP, daylight saving, an admin) | timestamps in a log, never durations |
# | `time.perf_counter_ns()` | monotonic, highest resolution (1 ns here), includes time spent waiting | latency |
# | `time.process_time_ns()` | CPU time of this process only (all threads), excludes sleeping and waiting | the energy estimate (section 5) |
#
# A latency is what a user waits for, so it is wall time on a monotonic clock: `perf_counter_ns`, in
# integer nanoseconds (a float of seconds rounds away nanoseconds after months of uptime; an integer
# never does). CPU time answers a different question, how much work the processor did, and costs more
# to read (a system call, about ten times a `perf_counter_ns` reading here).
#
# ### A timer that tells the truth when things go wrong
#
# `precise_timer()` wraps two readings of `perf_counter_ns` in a context manager:
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
# The clock is a parameter, so tests drive the timer with a fake clock (`tinytorch.utils.testing`).
#
# **Exercise (Task 19.3):** `PreciseTimer.__exit__`. Read the clock once more. If the reading is smaller
# than `start_ns`, the clock went backwards: raise a `RuntimeError` whose message says the clock went
# "backwards" and names a monotonic clock such as `time.perf_counter_ns` as the fix. Otherwise set
# `elapsed_ns` (the integer difference) and `elapsed` (the same in seconds, a float), and return `False`,
# so that an exception raised in the body propagates after its time was recorded.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-timer", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.timing
class PreciseTimer:
    """Context manager timing its body; `elapsed` (s) and `elapsed_ns` are set on exit, even on error."""

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns):
        if not callable(clock):
            raise TypeError(f"clock must be callable and return nanoseconds, got {clock!r}")
        self.clock = clock
        self.start_ns: int | None = None
        self.elapsed_ns: int | None = None
        self.elapsed: float | None = None

    def __enter__(self) -> "PreciseTimer":
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
    from tinytorch.utils.testing import FakeClock
    clock = FakeClock(script=[1_000, 2_501_000, 5_000, 9_000])
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
    try:
        with precise_timer(FakeClock(script=[100, 50])):
            pass
    except RuntimeError as error:
        assert "backwards" in str(error), f"the message must say the clock went backwards: {error}"
    else:
        raise AssertionError("a clock that went backwards must raise RuntimeError")
    with precise_timer() as real:  # the real clock: only check that a time was recorded
        sum(range(100))
    assert real.elapsed >= 0


test_unit_precise_timer()

# %% [markdown]
# ### Warm-up
#
# The first calls of a model are slower than the rest, for reasons unrelated to its steady cost:
# CPython 3.11 specializes the bytecode of a function after it has run a few times; the first write to
# freshly allocated memory page-faults; caches and branch predictors are cold; idle BLAS threads must
# be woken; a CPU coming out of idle raises its clock frequency over milliseconds. So `Benchmark` makes
# `warmup_runs` untimed calls per model first, and calibration's growing blocks (below) warm it
# further. How much warm-up a model needs is itself measurable: section 10 reads it off the model's own
# timings instead of guessing.
#
# ### Timer overhead and calibration
#
# Reading the clock costs time. Time one call of a 100 ns model and the reading (~44 ns here, plus the
# loop) is a large part of what you report: timed call by call, an empty model looks 7 to 20 times
# slower than it is. The cure is to time a **block** of `n` calls and divide:
#
# $$\text{per-call time} = \frac{t_\text{block} - \text{(one clock reading)}}{n} \approx \frac{t_\text{block}}{n}
# \quad\text{with relative bias} \le \frac{\text{overhead}}{t_\text{block}}$$
#
# Calibration chooses `n`: start with one call and double until a block lasts at least a target
# duration. The target is the larger of `overhead / 1%` (so the clock is under 1% of every block) and a
# minimum block length (longer blocks average away more scheduler noise; 1 ms by default). The clock's
# cost itself is measured by `measure_timer_overhead_ns` (provided, in `system`): the median gap
# between two back-to-back readings.
#
# **Exercise (Task 19.4):** `calibrate_calls_per_block(run_block, target_ns, clock, max_calls)`.
# `run_block(n)` makes `n` calls. Starting with `n = 1`, time one block: a reading of `clock` before and
# one after `run_block(n)`. If it lasted at least `target_ns`, return `n`; otherwise double `n` and time
# again, so that the blocks run are exactly 1, 2, 4, 8, ... calls, each once. When `n` exceeds
# `max_calls`, the clock is not advancing (or the block does no work): raise a `RuntimeError` whose
# message says the clock is "not advancing".

# %% nbgrader={"grade": false, "grade_id": "benchmarking-calibration", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.timing
def calibration_target_ns(timer_overhead_ns: float, max_overhead_fraction: float = 0.01,
                          min_block_ns: float = 1e6) -> float:
    """Shortest block that keeps the timer under `max_overhead_fraction` and lasts `min_block_ns`."""
    if not 0 < max_overhead_fraction < 1:
        raise ValueError(f"max_overhead_fraction={max_overhead_fraction!r} must be in (0, 1), e.g. 0.01")
    # at least 1 ns, so that a zero overhead and no minimum still ask for a block that advances the clock
    return max(timer_overhead_ns / max_overhead_fraction, float(min_block_ns), 1.0)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-calibrate", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.timing
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
    from tinytorch.utils.testing import FakeClock
    clock, blocks = FakeClock(), []  # time advances only when the fake model runs: 300 ns per call

    def run_block(n):
        blocks.append(n)
        clock.advance(300 * n)

    assert calibrate_calls_per_block(run_block, target_ns=10_000, clock=clock) == 64  # 64 * 300 >= 10 us
    assert blocks == [1, 2, 4, 8, 16, 32, 64], "each size once, doubling from 1"
    assert calibration_target_ns(44.0) == 1e6, "the 1 ms minimum block dominates a 44 ns timer"
    assert calibration_target_ns(44.0, min_block_ns=0) == 4400.0, "44 ns is 1% of 4.4 us"
    try:
        calibrate_calls_per_block(lambda n: None, target_ns=1_000, clock=lambda: 0, max_calls=64)
    except RuntimeError as error:
        assert "not advancing" in str(error), f"the message must say the clock is not advancing: {error}"
    else:
        raise AssertionError("a stopped clock must raise RuntimeError")


test_unit_calibrate_calls_per_block()

# %% [markdown]
# ### Interleaving
#
# If model A is measured for a minute and then model B, any drift (another job starting, the CPU
# warming up) is charged to one model only. Instead, every round times one block of *each* model, and
# the starting model rotates each round (A B C, B C A, C A B, ...), so drift and position effects hit all
# models alike. Each block gives one value: its per-call time. A block is a plain loop of calls
# (`repeat_calls`), with nothing else inside it to time.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-interleave", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.timing
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


def repeat_calls(function: Callable, x) -> Callable[[int], None]:
    """A block runner: `n` calls of `function(x)`, nothing else in the loop."""
    def run_block(calls: int) -> None:
        # itertools.repeat yields the same None every time, so the loop itself allocates nothing
        # (range would create an int object per iteration above 256); timeit uses the same loop.
        for _ in itertools.repeat(None, calls):
            function(x)
    return run_block

# %% [markdown]
# ### What decides a timing: the machine
#
# The same code can differ 2x between machines, or between two settings of one machine. Here, for
# example, `OPENBLAS_CORETYPE` selects OpenBLAS kernels and changes a small matmul by about 2x; the number
# of BLAS threads matters as much. `collect_system_info` (provided, in `system`) records these alongside
# every result, with the timer's resolution and its measured overhead. Below: this machine, and the
# calibration of a real block (200 sorts of 1,000 numbers, as in section 1) to the default target.

# %%
info = collect_system_info()
print({key: info[key] for key in ("python_version", "cpu_count", "numpy_version", "timing_env", "load_average",
                                  "timer_overhead_ns")})
_target = calibration_target_ns(info["timer_overhead_ns"])
_sort_block = repeat_calls(lambda numbers: np.sort(numbers), _numbers)
_calls = calibrate_calls_per_block(_sort_block, _target)
print(f"target block {_target / 1e6:.3f} ms: {_calls} sorts per block "
      f"(the clock is {info['timer_overhead_ns'] / _target:.3%} of a block)")

# %% [markdown]
# ## 4. The `Benchmark`
#
# `Benchmark(models, datasets)` measures every model the same way. A **model** is anything with
# `forward(x)`, or `predict(x)`, or a plain callable (`tinytorch.utils.inference` finds which); its name
# is `model.name` or `model_{i}`. Its output may be a NumPy array or a `Tensor`. **Datasets** are
# labelled data, in any of three shapes:
#
# ```python
# (inputs, labels)                                  # a pair of arrays
# {"name": "digits", "inputs": x, "labels": y}      # a mapping ("x"/"y" also accepted)
# [(x_batch, y_batch), (x_batch, y_batch), ...]     # an iterable of batches
# ```
#
# A model that raises, returns `None`, NaN or an output whose first axis is not the batch is a
# `BenchmarkError` naming the model, the cause chained (`calls`, provided, does the checking). Nothing is
# replaced by a guess: every number this code prints was measured. Data without labels is fine for
# latency and an error, naming the dataset, for accuracy.
#
# ```
#  Benchmark(models, datasets)
#   |-- run_latency_benchmark(shape)   seeded input -> warm-up -> calibrate -> interleaved blocks   (ms)
#   |-- run_accuracy_benchmark()       outputs vs labels, one value per dataset              (fraction)
#   |-- run_memory_benchmark(shape)    tracemalloc peak of one call, in its own pass               (MB)
#   +-- compare_models(metric)         DataFrame: statistics, ratio + interval, p-value, verdict
# ```

# %% [markdown]
# ### Accuracy from outputs
#
# Accuracy is the fraction of predictions equal to the labels, computed from what the model returns:
#
# - scores per class, shape `(N, C)` with `C > 1`: the prediction is the **argmax over the last axis**;
# - a single output per sample, shape `(N,)` or `(N, 1)`: a probability, **thresholded at 0.5**;
# - labels returned by `predict` (shape `(N,)`, flagged by `outputs_are_labels=True`): used **as is**.
#
# **Exercise (Task 19.5):** `accuracy_from_outputs(outputs, labels, outputs_are_labels=False)`. Turn the
# outputs into predicted labels with those rules: used as they are when `outputs_are_labels` is true and
# their shape equals the labels' shape; one output per sample (the labels' shape, or `(N, 1)`) is 1 when
# it is *strictly* above 0.5, else 0; anything else with two or more axes gives the argmax over the last
# axis. If the predictions' shape differs from the labels', raise a `ValueError` whose message shows both
# shapes (e.g. `(4,)` and `(3,)`). Return the fraction of predictions equal to the labels, a Python
# `float`. Outputs and labels may be `Tensor`s: `as_array` (given) reads both.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-accuracy", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.measurement
def accuracy_from_outputs(outputs, labels, outputs_are_labels: bool = False) -> float:
    """Fraction of samples whose prediction equals the label.

    Args:
        outputs: class scores `(N, ..., C)`, single probabilities `(N,)`/`(N, 1)`, or labels `(N,)`.
        labels: true labels, `(N,)` (or `(N, ...)` matching the predictions).
        outputs_are_labels: the outputs are already labels (a `predict` that returns classes).

    Raises:
        ValueError: if there are no samples or the predictions and labels differ in shape.
    """
    scores, truth = as_array(outputs), as_array(labels)
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
    from tinytorch.core.tensor import Tensor
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy_from_outputs(scores, np.array([1, 0, 0, 0])) == 0.75
    assert accuracy_from_outputs(Tensor(scores), np.array([1, 0, 1, 0])) == 1.0, "Tensor outputs work"
    probabilities = np.array([0.9, 0.2, 0.51, 0.5])
    assert accuracy_from_outputs(probabilities, np.array([1, 0, 1, 0])) == 1.0, "0.5 is not above 0.5"
    assert accuracy_from_outputs(probabilities[:, None], np.array([1, 1, 1, 1])) == 0.5
    assert accuracy_from_outputs(np.array([3, 1, 2]), np.array([3, 1, 0]), outputs_are_labels=True) == 2 / 3
    assert type(accuracy_from_outputs(scores, np.array([1, 0, 0, 0]))) is float
    try:
        accuracy_from_outputs(scores, np.array([1, 0, 1]))
    except ValueError as error:
        assert "(3,)" in str(error) and "(4,)" in str(error), f"the message must show both shapes: {error}"
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
#   assuming equal variances.
# - **Verdict:** only when p < alpha *and* the ratio interval excludes 1 do we say "faster"/"slower"
#   (for accuracy: "better"/"worse"); otherwise "no detectable difference". A candidate inside the noise
#   is never ranked ahead of the baseline.
#
# Accuracy measured on a single dataset has one value, too few for Welch; there the counts speak:
# `compare_accuracy_counts` (provided, in `significance`) uses Fisher's exact test on correct/wrong counts.
#
# **Exercise (Task 19.6):** `compare_samples(baseline, candidate, lower_is_better, alpha, words)`. The
# ratio and its interval are given (`ratio_of_means_interval`, in `significance`). Add `p_value` and
# `verdict` to the dict:
#
# 1. With fewer than two values on either side nothing can be tested: `p_value` is NaN and the verdict
#    is `"too few values to test"`.
# 2. If neither sample varies at all (zero spread on both sides), Welch's test is undefined (scipy warns
#    and returns NaN): the samples are then identical (`p_value` 1.0) or certainly different (0.0),
#    according to whether their means are equal.
# 3. Otherwise `p_value` is `scipy.stats.ttest_ind(candidate, baseline, equal_var=False).pvalue`.
# 4. The verdict is `words[0]` (the candidate is better) or `words[1]` (worse) only when `p_value < alpha`,
#    the means differ, and the ratio interval excludes 1 (or the ratio is NaN, for non-positive means);
#    "better" means a lower mean when `lower_is_better`, a higher one otherwise. Else it is
#    `"no detectable difference"`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.statistics
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
    a, b = finite_values(baseline, "baseline"), finite_values(candidate, "candidate")
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
    assert abs(faster["p_value"] - stats.ttest_ind(half, base, equal_var=False).pvalue) < 1e-12
    assert abs(faster["ratio"] - 0.5) < 1e-12 and faster["ratio_ci_lower"] < 0.5 < faster["ratio_ci_upper"]
    assert compare_samples(half, base)["verdict"] == "slower"
    same = compare_samples(base, [10.1, 9.9, 10.0, 10.2, 9.8, 10.0])
    assert same["verdict"] == "no detectable difference" and same["p_value"] > 0.5
    accuracy = compare_samples([0.90, 0.91, 0.92], [0.95, 0.96, 0.97], lower_is_better=False, words=("better", "worse"))
    assert accuracy["verdict"] == "better"
    too_few = compare_samples([1.0], [2.0])
    assert too_few["verdict"] == "too few values to test" and math.isnan(too_few["p_value"])
    assert compare_samples([2.0, 2.0], [1.0, 1.0])["p_value"] == 0.0, "no spread, different means"
    assert compare_samples([2.0, 2.0], [2.0, 2.0])["p_value"] == 1.0, "no spread, equal means"


test_unit_compare_samples()

# %% [markdown]
# ### One comparison, for every metric
#
# The metric registry (`metrics`, provided) says how each metric is compared, and `difference_test`
# applies it. For repeated measurements it runs your `compare_samples` *and* a test of the medians
# (`compare_medians`, provided: Mann-Whitney's U on the values and a bootstrap interval of the ratio of
# medians), and `choose_comparison` lets the registry decide which one gives the verdict: the medians
# for latency (a few preempted blocks widen Welch's spread until it sees "no detectable difference"
# while nearly every block of one model is faster), the means for memory and energy, whose totals add
# up. The row says which test decided and what the other said. For accuracy on fewer than two datasets:
# Fisher's exact test on the counts of correct answers (2 images of 200 is noise; 40 is not).
# `compare_results` builds the table (laid out by `comparison_table`, provided), one row per model
# against the first; `Benchmark.compare_models`, the suite and its report all go through it (the Olympic
# scores through `difference_test`). The latency table also gives the **paired ratio**: the blocks of
# one round run back to back, so the median over rounds of (model block / baseline block) cancels slow
# drift of the machine; `paired_ratio` with its interval (t on the log ratios, `paired_ratio_interval`)
# is the one to quote when two models were measured together.
#
# ```
#  round 1:  A 1.00  B 0.50            B/A = 0.50
#  round 2:  A 3.00  B 1.50   (busy)   B/A = 0.50     means: A 1.67, B 0.83, both widened by round 2
#  round 3:  A 1.00  B 0.50            B/A = 0.50     paired ratios: 0.50 every round, no spread
# ```

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare-results", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.measurement
def difference_test(base: BenchmarkResult, other: BenchmarkResult, metric: str = "latency",
                    alpha: float = 0.05) -> dict:
    """Is `other` different from `base` by more than measurement noise? (the registry says how to test)

    Returns:
        `{"significant": bool, "p_value": float (NaN when untestable), "test": str (the test that
        decided), "verdict": str, "ratio", "ratio_ci_lower", "ratio_ci_upper"}` (ratio = other / base),
        and for repeated values also both tests' p-values and the ratio of medians with its interval.
    """
    info = metric_info(metric)
    counts = correct_counts(base), correct_counts(other)
    with warnings.catch_warnings():
        # scipy warns about precision when a sample is (nearly) constant, as repeated memory peaks are;
        # the verdict also needs the ratio interval to exclude 1, so a shaky p-value alone decides nothing.
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        if info.comparison == "counts" and min(base.count, other.count) < 2 and None not in counts:
            outcome = compare_accuracy_counts(*counts[0], *counts[1], alpha)
        else:
            welch = compare_samples(base.values, other.values, info.lower_is_better, alpha, info.words)
            medians = compare_medians(base.values, other.values, info.lower_is_better, alpha, info.words)
            outcome = choose_comparison(metric, welch, medians)
    return {**outcome, "significant": outcome["verdict"] in info.words}


def within_noise_of(per_model: Mapping[str, BenchmarkResult], best: str, metric: str) -> list[str]:
    """The other models whose difference from `best` is not significant (`difference_test`)."""
    return [name for name, result in per_model.items()
            if name != best and not difference_test(per_model[best], result, metric)["significant"]]


def compare_results(per_model: Mapping[str, BenchmarkResult], metric: str, alpha: float = 0.05) -> pd.DataFrame:
    """One row per model against the first (`comparison_table`, provided), each judged by `difference_test`."""
    return comparison_table(per_model, metric, lambda baseline, result: difference_test(baseline, result, metric, alpha))

# %% [markdown]
# ### The `Benchmark` class
#
# How a run measures is one `BenchmarkSettings` (provided, in `settings`): warm-up calls, measured
# blocks, the shortest block, the timer's share, the seed. It is checked once, when made, and a suite
# passes it whole. What the benchmark is given (settings, models and their names, datasets) is checked
# by `BenchmarkSetup` (provided, in `benchmark_setup`), which also makes the seeded input, measures
# memory and hands measurements to worker processes; the class below builds on it, times latency in this
# process and measures accuracy. Latency: seeded inputs (never the global random state), one checked
# call per model (errors surface outside the timing), warm-up, calibration per model, then interleaved
# blocks; each value is the per-call time of one block, in ms. **Accuracy**: one value per dataset, from
# the outputs, as in Task 19.5.
#
# **Memory** has two meanings, and the benchmark keeps them apart:
#
# - the **peak allocated during one inference**: the activations and temporaries of the forward pass
#   (weights already exist). `tracemalloc` sees every NumPy allocation, even a temporary freed a
#   microsecond later (a process's RSS would miss it); tracing is slow, so memory gets its own pass;
# - the **stored size** of the model, `model_size_mb` in the metadata: the bytes of its parameters,
#   dtype-aware, so an int8 weight counts one byte. It is reported next to the peak, never instead of it.
#
# An int8 model shows why: its stored size is about 4x smaller, but Module 15's forward pass casts the
# codes to float32 on every call, and that temporary copy of the weights lands in the peak, which can
# end up *larger* than the float model's.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-benchmark", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.measurement
class Benchmark(BenchmarkSetup):
    """Latency, accuracy and memory of several models, measured alike and compared with statistics.

    Args:
        models: objects with `forward(x)` or `predict(x)`, or callables; named by `.name` or `model_{i}`.
            A `ModelSource` (a saved file, a reference name, a factory) is loaded here only when a
            measurement runs in this process.
        datasets: labelled data: `(inputs, labels)`, a mapping with inputs and labels, or (x, y) batches.
        warmup_runs, measurement_runs, min_block_ms, max_timer_overhead, seed, processes: see
            `BenchmarkSettings` (processes > 1: latency and memory in that many fresh processes).
        clock: integer-nanosecond clock (injectable for tests).
        settings: a `BenchmarkSettings` instead of the five separate settings (not both).

    `run_memory_benchmark` and `run_in_processes` come from `BenchmarkSetup` (provided).
    """

    result_type = BenchmarkResult  # what the provided measurements (memory, worker processes) return

    def block_runners(self, x: np.ndarray) -> dict[str, Callable[[int], None]]:
        """Per model, `run_block(n)`: n calls on `x`, a failure reported as a `BenchmarkError`."""
        return {name: guarded(name, repeat_calls(function, x)) for name, (function, _) in self._in_process().items()}

    def run_latency_benchmark(self, input_shape: tuple[int, ...] | None = None) -> dict[str, BenchmarkResult]:
        """Per-inference latency in ms: one value per calibrated block, models interleaved (or per process)."""
        if self.settings.processes > 1:
            return self.run_in_processes(["latency"], input_shape)["latency"]
        settings, x, start = self.settings, self.inputs(input_shape), machine_snapshot()
        for name, (function, _) in self._in_process().items():
            call_checked(name, function, x, x.shape[0])  # errors surface here, outside the timing
        run_blocks = self.block_runners(x)
        for run_block in run_blocks.values():
            run_block(settings.warmup_runs)
        overhead_ns = self.system_info["timer_overhead_ns"]
        target_ns = calibration_target_ns(overhead_ns, settings.max_timer_overhead, settings.min_block_ms * 1e6)
        calls = {name: calibrate_calls_per_block(run, target_ns, self.clock) for name, run in run_blocks.items()}
        per_call_ns = interleaved_block_times(run_blocks, calls, settings.measurement_runs, self.clock)
        conditions = in_process_metadata(start, machine_snapshot(), {n: v / 1e6 for n, v in per_call_ns.items()})
        results = {}
        for name, values in per_call_ns.items():
            metadata = {"calls_per_block": calls[name], "warmup_runs": settings.warmup_runs,
                        "timer_overhead_ns": overhead_ns, "block_target_ns": target_ns,
                        "input_shape": x.shape, "seed": settings.seed, "called_as": self.functions[name][1],
                        "method": "per-call time of calibrated blocks, models interleaved round-robin",
                        **conditions[name]}
            results[name] = BenchmarkResult(f"{name}_latency", values / 1e6, metadata, unit="ms")
        self.results["latency"] = results
        return results

    def run_accuracy_benchmark(self, use_evaluate: bool = False) -> dict[str, BenchmarkResult]:
        """Fraction correct per dataset, from each model's outputs against the labels.

        With `use_evaluate=True`, a model offering `evaluate(dataset)` is scored by it instead,
        recorded as such in the metadata.
        """
        datasets = self._labelled_datasets()
        self._in_process()
        results = {}
        for name, model in zip(self.names, self.models):
            values, details = [], []
            for dataset in datasets:
                if use_evaluate and callable(getattr(model, "evaluate", None)):
                    value, detail = self._evaluated_accuracy(name, model, dataset)
                else:
                    value, detail = self._dataset_accuracy(name, dataset)
                values.append(value)
                details.append(detail)
            metadata = {"datasets": details, "called_as": details[0]["method"]}
            results[name] = BenchmarkResult(f"{name}_accuracy", values, metadata, unit="fraction")
        self.results["accuracy"] = results
        return results

    def _dataset_accuracy(self, name: str, dataset: Dataset) -> tuple[float, dict]:
        function, method = self.functions[name]
        correct = 0
        for inputs, labels in dataset.batches:
            outputs = call_checked(name, function, inputs, len(inputs))
            correct += round(accuracy_from_outputs(outputs, labels, method == "predict") * len(labels))
        detail = {"dataset": dataset.name, "samples": dataset.size, "correct": correct, "method": method}
        return correct / dataset.size, detail

    def compare_models(self, metric: str = "latency", alpha: float = 0.05, **run_kwargs) -> pd.DataFrame:
        """`compare_results` of one metric: the last run's results, or a new run (with `run_kwargs`)."""
        metric_info(metric, among=BENCHMARK_METRICS)
        runners = {"latency": self.run_latency_benchmark, "accuracy": self.run_accuracy_benchmark,
                   "memory": self.run_memory_benchmark}
        results = self.results.get(metric) if not run_kwargs else None
        return compare_results(results or runners[metric](**run_kwargs), metric, alpha)

# %% [markdown]
# ### A real measurement
#
# Three models on real TinyDigits test images: a NumPy function doing the reference MLP's arithmetic
# (the baseline, first row), one doing exactly twice that work, and the reference MLP of Module 17 in
# tinytorch. The latency table is measured twice: on the machine as it is, and with one busy process
# per core competing for it (`busy_machine()`, provided in `system`). Read the ratios to the baseline:
# of the means, of the medians, and the paired ratio. Accuracy and memory follow.

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


numpy_mlp.name, numpy_mlp_twice.name = "numpy_mlp", "numpy_mlp_x2"


def latency_table(bench: Benchmark) -> str:
    table = bench.compare_models("latency", input_shape=(1, 8, 8))
    shown = pd.DataFrame({"model": table["model"], "mean_ms": table["mean"], "median_ms": table["median"],
                          "ratio_of_means": table["ratio"], "ratio_of_medians": table["median"] / table["median"][0],
                          "paired_ratio": table["paired_ratio_median"], "verdict": table["verdict"]})
    return shown.round(4).to_string()


demo = Benchmark([numpy_mlp, numpy_mlp_twice, mlp], [digits.test], measurement_runs=20)
print("The machine as it is:")
print(latency_table(demo))
try:
    with busy_machine() as spinners:
        print(f"\nWith {spinners} busy processes, one per core:")
        print(latency_table(Benchmark([numpy_mlp, numpy_mlp_twice, mlp], measurement_runs=20)))
except OSError as error:
    print(f"\nNo busy processes could be started here ({error}); the run above is the only one.")
print()
print(demo.compare_models("accuracy")[["model", "mean", "count", "verdict"]].to_string())
print(demo.compare_models("memory", input_shape=(1, 8, 8))[["model", "mean", "unit", "verdict"]].to_string())

# %% [markdown]
# **Reading the tables.** Your figures will differ from your neighbour's; what to look for does not.
#
# - `numpy_mlp_x2` does exactly twice the work of `numpy_mlp`, so a trustworthy instrument shows its
#   latency about 2x the baseline's. On a quiet machine the three ratios all say about 2; on a busy one
#   the ratio of means can drift far from 2 while the median's and the paired ratio stay closer.
# - `tinytorch_mlp` does the same arithmetic as `numpy_mlp`; the difference is the framework's per-call
#   cost (Python calls per layer, `Tensor` objects, checks), which dominates at batch 1.
# - The three make the same predictions: accuracy is identical, "no detectable difference" (Fisher).
# - Memory: kilobytes of activations; `tinytorch_mlp` adds its own objects. Weights are not counted.
#
# ### Beyond one process: `processes=N`
#
# Every interval above comes from the blocks of *one* process, and consecutive blocks share that
# process's luck (its memory pages, its core, the BLAS threads' state) and the machine's mood of the
# moment. `Benchmark(..., processes=N)` measures in N fresh interpreters, one after another: each loads
# the models, warms up, calibrates with the package's `calibrate_calls_per_block` and times its blocks.
# One value per process (the median of its blocks); the t interval with N - 1 degrees of freedom is
# across processes, and the result keeps every raw value and the variance within and between
# processes. A worker is a new interpreter, so models travel as data (`ModelSource`, provided): a
# tinytorch model is saved for it with `save_model`, or you name a reference model or an importable
# factory. A function defined in this notebook cannot travel, and the error says so.
#
# Measured with `bench/interval_coverage.py` (30 independent runs per mode, on a 2-core virtual
# machine, load 0.5-1.5): the 95% interval of the reference MLP contained the centre of all 30 runs in
# 27-37% of runs in-process, and in 53-80% across 10 processes (2.7-2.8 s a run). Not 95%: this machine's
# own speed changes over seconds and minutes (one long-lived process timed the same matmul at 1.07 or
# 1.8 us, depending on the moment, with nothing else running), and a run of a few seconds cannot see
# what the next minute will be like. What held was the ratio of two models measured together (83-97%):
# the slow moments hit both. So every result states its scope, warns when the machine moved, and the
# comparison table quotes the paired ratio.

# %%
try:
    _spread = Benchmark([load_reference_model("tinydigits_mlp")], processes=5).run_latency_benchmark((1, 8, 8))
    _meta = _spread["tinydigits_mlp"].metadata
    print(f"per-process medians (ms): {np.round(_spread['tinydigits_mlp'].values, 5)}")
    print(f"95% interval across processes: [{_spread['tinydigits_mlp'].ci_lower:.5f}, "
          f"{_spread['tinydigits_mlp'].ci_upper:.5f}] ms; CV between processes {_meta['between_process_cv']:.1%}, "
          f"within a process {_meta['within_process_cv']:.1%}")
    print("warnings:", _meta["warnings"] or "none")
except BenchmarkError as error:  # in a student's package before `tito module complete 19`, the workers say why
    print(error)
try:
    Benchmark([numpy_mlp], processes=2).run_latency_benchmark((1, 8, 8))
except ValueError as error:
    print(str(error)[:200], "...")

# %% [markdown]
# ## 5. Energy: E = P x t
#
# Energy is power integrated over time. For a constant power `P` (watts) drawn for `t` seconds,
# `E = P x t` joules. Per inference: a model that keeps one core busy for 0.2 ms at 10 W uses
# `10 W x 0.0002 s = 2 mJ`. Two ways to get a figure:
#
# 1. **Measured.** Recent Intel and AMD CPUs count the energy of each CPU package in hardware (RAPL):
#    read the counter before and after a block of calls (`energy_meter`, provided) and divide by the
#    calls. The counter includes *every* process on that CPU and its idle power: an upper bound.
# 2. **Estimated.** Where the counter is absent or unreadable (most virtual machines; since 2020 only
#    root may read it), we measure what we *can*, the process CPU time per inference
#    (`time.process_time_ns()` around a block), and multiply it by an *assumed* power per busy core,
#    `watts_per_core`: a visible parameter, recorded with the result, which says `method: estimated`.
#
# The default, `DEFAULT_WATTS_PER_CORE = 10` W, is the order of magnitude of a desktop or server x86
# core under load (a 65-125 W package with 8-16 cores); a phone core is nearer 1 W. Pass your own.
#
# **Exercise (Task 19.7):** `estimate_energy_per_inference(cpu_ns_per_block, calls_per_block,
# watts_per_core)`: for each block, its CPU time in seconds divided by the calls of the block, times the
# watts: `watts_per_core * cpu_ns / 1e9 / calls_per_block` joules per inference. Return one float per
# block, in the blocks' order (a list). The argument checks are given.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-estimate", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.energy
def estimate_energy_per_inference(cpu_ns_per_block: Sequence[int], calls_per_block: int,
                                  watts_per_core: float = DEFAULT_WATTS_PER_CORE) -> list[float]:
    """Estimated joules per inference of each block: `watts_per_core x CPU seconds per call`.

    Args:
        cpu_ns_per_block: process CPU time of each block of calls, in nanoseconds.
        calls_per_block: how many inferences each block ran.
        watts_per_core: the assumed power of one busy core, in watts.

    Returns:
        One energy per block, in joules per inference.

    Raises:
        ValueError: for a non-positive call count or power, or a negative CPU time.
    """
    if calls_per_block < 1:
        raise ValueError(f"calls_per_block={calls_per_block} must be at least 1")
    if not (math.isfinite(watts_per_core) and watts_per_core > 0):
        raise ValueError(f"watts_per_core={watts_per_core} must be a positive number of watts, e.g. 10.0")
    if any(ns < 0 for ns in cpu_ns_per_block):
        raise ValueError(f"CPU times must not be negative, got {list(cpu_ns_per_block)}")
    # Task 19.7: E = P x t for each block, per call.
    ### BEGIN SOLUTION
    joules = []
    for cpu_ns in cpu_ns_per_block:
        seconds_per_call = cpu_ns / 1e9 / calls_per_block
        joules.append(watts_per_core * seconds_per_call)
    return joules
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-energy-estimate-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
def test_unit_energy_estimate():
    # 2 ms of CPU time over 10 calls is 0.2 ms a call; at 10 W that is 2 mJ per inference.
    assert np.allclose(estimate_energy_per_inference([2_000_000], 10, 10.0), [0.002])
    # Doubling the assumed power doubles the estimate: the figure is only as good as the assumption.
    assert np.allclose(estimate_energy_per_inference([2_000_000, 4_000_000], 10, 20.0), [0.004, 0.008])
    for bad in ({"calls_per_block": 0}, {"watts_per_core": -1.0}):
        args = {"cpu_ns_per_block": [1], "calls_per_block": 1, "watts_per_core": 1.0, **bad}
        try:
            estimate_energy_per_inference(**args)
        except ValueError:
            continue
        raise AssertionError(f"{bad} must raise ValueError")


test_unit_energy_estimate()

# %% [markdown]
# ### The energy benchmark
#
# `EnergyMeter` (provided, in `energy_meter`) hides the two ways behind one call:
# `measure_block(run_block, calls)` runs a block of inferences and returns the joules per inference
# measured by RAPL (or `None` when it can only estimate) and the process CPU time of the block;
# `measure_rounds` runs blocks of every model in turn, round-robin. `measure_energy` makes the estimate
# with your `estimate_energy_per_inference` where nothing was measured: one `BenchmarkResult` in joules
# per inference per model, its metadata saying `measured` or `estimated` and on which assumptions.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-meter", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.energy
def measure_energy(run_blocks: Mapping[str, Callable[[int], None]], calls_per_block: Mapping[str, int],
                   blocks: int = 10, meter: EnergyMeter | None = None) -> dict[str, BenchmarkResult]:
    """Energy per inference of each model, in joules, from `blocks` round-robin blocks of calls.

    Args:
        run_blocks: model name -> `run_block(n)` that runs `n` inferences (as the latency benchmark uses).
        calls_per_block: model name -> calls per block (long enough for the counter to tick).
        blocks: how many blocks (samples) per model; the starting model rotates every round.
        meter: the `EnergyMeter` to use; a default one (RAPL if readable, else the estimate).

    Raises:
        BenchmarkError: if a RAPL counter stops being readable during the run (`EnergyMeter.measure_rounds`).
    """
    check_count("blocks", blocks, 1)
    meter = meter or EnergyMeter()
    joules, cpu_ns = meter.measure_rounds(run_blocks, calls_per_block, blocks)
    results = {}
    for name in run_blocks:
        calls = calls_per_block[name]
        values = joules[name] if meter.method == "measured" else \
            estimate_energy_per_inference(cpu_ns[name], calls, meter.watts_per_core)
        metadata = {**meter.describe(), "calls_per_block": calls, "blocks": blocks,
                    "cpu_time_ns_per_block": cpu_ns[name],
                    "cpu_time_ms_per_inference": [ns / 1e6 / calls for ns in cpu_ns[name]]}
        results[name] = BenchmarkResult(f"{name}_energy", values, metadata, unit="J")
    return results

# %% [markdown]
# The reference MLP and the double-work NumPy model of section 4, five blocks of about 10 ms each:

# %%
_x = demo.inputs((1, 8, 8))
_runners = {name: demo.block_runners(_x)[name] for name in ("numpy_mlp_x2", "tinytorch_mlp")}
_energy = measure_energy(_runners, {"numpy_mlp_x2": 500, "tinytorch_mlp": 500}, blocks=5)
for _name, _result in _energy.items():
    print(f"{_name:14s} {_result.mean * 1e6:8.2f} uJ per inference [{_result.ci_lower * 1e6:.2f}, "
          f"{_result.ci_upper * 1e6:.2f}], CPU {np.mean(_result.metadata['cpu_time_ms_per_inference']):.4f} ms, "
          f"{_result.metadata['method']}")
print(_energy["tinytorch_mlp"].metadata["assumptions"])

# %% [markdown]
# ## 6. Pareto frontiers: dominance
#
# With two objectives, say latency (lower is better) and accuracy (higher is better), one model
# **dominates** another when it is at least as good on both and strictly better on at least one. The
# **Pareto frontier** is the set of models that no other model dominates: every one of them is a
# sensible choice for *some* preference, and every model off the frontier is beaten by one on it.
#
# ```
# accuracy ^          C (slow, most accurate)      A dominates D: faster and more accurate.
#          |   B----+                              B and C are both on the frontier:
#          |   |    |                              B is faster, C more accurate.
#          A---+    D
#          +-------------------> latency
# ```
#
# Two details matter. The direction of each metric: flip the sign of a "lower is better" metric and
# every objective becomes "higher is better". And ties: two models with identical figures do not
# dominate each other (neither is *strictly* better), so both stay on the frontier.
#
# **Exercise (Task 19.8):** `dominates(a, b, directions)`: True when point `a` is at least as good as
# `b` in every objective and strictly better in at least one, objective `i` being better when lower if
# `directions[i] == "min"` and when higher if it is `"max"`; equal points do not dominate each other.
# The checks of lengths and directions are given.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-pareto-dominance", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.pareto
def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """True when point `a` is at least as good as `b` in every objective and strictly better in one.

    Args:
        a, b: the two points, one value per objective.
        directions: per objective, `"min"` (lower is better) or `"max"` (higher is better).
    """
    if not (len(a) == len(b) == len(directions)):
        raise ValueError(f"points and directions must have the same length, got {len(a)}, {len(b)}, {len(directions)}")
    if any(d not in ("min", "max") for d in directions):
        raise ValueError(f"directions must be 'min' or 'max', got {list(directions)}")
    # Task 19.8: compare objective by objective, respecting each direction.
    ### BEGIN SOLUTION
    strictly_better = False
    for value_a, value_b, direction in zip(a, b, directions):
        if direction == "min":  # flip the sign: every objective becomes "higher is better"
            value_a, value_b = -value_a, -value_b
        if value_a < value_b:
            return False
        if value_a > value_b:
            strictly_better = True
    return strictly_better
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-pareto-dominance-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
def test_unit_dominates():
    lat_acc = ("min", "max")
    assert dominates((1.0, 0.9), (2.0, 0.8), lat_acc), "faster and more accurate"
    assert dominates((1.0, 0.9), (1.0, 0.8), lat_acc), "as fast, more accurate"
    assert not dominates((1.0, 0.8), (2.0, 0.9), lat_acc), "a trade-off: neither dominates"
    assert not dominates((1.0, 0.9), (1.0, 0.9), lat_acc), "a tie is not domination"
    assert dominates((2.0, 5.0), (1.0, 6.0), ("max", "min")), "directions are respected"


test_unit_dominates()

# %% nbgrader={"grade": false, "grade_id": "benchmarking-pareto-front", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.pareto
def pareto_front(points: Mapping[str, Sequence[float]], directions: Sequence[str]) -> list[str]:
    """The names of the points no other point dominates, in the order given.

    Args:
        points: name -> one value per objective.
        directions: per objective, `"min"` or `"max"`.
    """
    if not points:
        raise ValueError("pareto_front needs at least one point")
    for name, point in points.items():  # NaN compares false both ways: it would "dominate" valid points
        if not all(math.isfinite(value) for value in point):
            raise ValueError(f"point {name!r} = {tuple(point)} holds NaN or an infinite value; measure it again or "
                             "leave it out (a missing measurement cannot be ranked)")
    return [name for name, point in points.items()
            if not any(dominates(other, point, directions) for other_name, other in points.items() if other_name != name)]

# %% [markdown]
# The three models of section 4, median latency against peak memory (both lower is better):

# %%
_points = {name: (demo.results["latency"][name].median, demo.results["memory"][name].mean)
           for name in demo.names}
print({name: (round(latency, 5), round(memory, 6)) for name, (latency, memory) in _points.items()})
print("Pareto frontier:", pareto_front(_points, ("min", "min")))

# %% [markdown]
# ## 7. The suite: every metric, then files a person can read
#
# `BenchmarkSuite` runs the four measurements (latency, accuracy, memory, energy) over the same models,
# with one `BenchmarkSettings`, keeps every raw value, and turns them into three kinds of output, each
# written to `output_dir` only when asked, atomically (`tinytorch.utils.files`: a reader never sees half
# a file):
#
# | output | file | what it shows |
# |---|---|---|
# | `save_results(path)` | JSON | every raw value, the system information, the settings; versioned |
# | `plot_results()` | `benchmark_comparison.png` | per metric: each model's raw values, their spread, the 95% interval of the mean, the best |
# | `plot_pareto_frontier(x, y)` | `pareto_<x>_vs_<y>.png` | the trade-off between two metrics, the frontier drawn as a staircase |
# | `generate_report()` | `benchmark_report.md` | method, system, tables with intervals, significance, Pareto set, recommendations |
#
# The rendering is provided (`report`, `plots`, `results_file`, and `SuiteOutputs` in `suite_outputs`,
# which the suite builds on); the judging in it is yours: `comparison(metric)` is `compare_results`, the
# report and the plots ask `within_noise_of` which models are within noise of the best (so that no
# winner is named on luck), and `pareto_frontier(x, y)` is `pareto_front` on the two metrics' means. Recommendations follow stated `DeploymentConstraints` (minimum accuracy, latency and
# memory budgets), never a model's name. Nothing is written at construction; a failing model stops the
# run with a `BenchmarkError` naming it, and `results` keeps what it held before.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.suite
def render_report(results: Mapping[str, Mapping[str, BenchmarkResult]], system_info: Mapping, config: Mapping,
                  comparisons: Mapping[str, pd.DataFrame | None],
                  constraints: DeploymentConstraints = DeploymentConstraints()) -> str:
    """The Markdown benchmark report (`report.render_markdown`), judged by this module's functions."""
    return render_markdown(results, system_info, config, comparisons, constraints,
                           ties=within_noise_of, front=pareto_front)


def plot_metric_panel(ax, metric: str, per_model: Mapping[str, BenchmarkResult]) -> None:
    """One metric's raw values, quartile boxes and 95% intervals per model, on `ax`."""
    draw_metric_panel(ax, metric, per_model, ties=within_noise_of)


def plot_pareto_panel(ax, x_metric: str, y_metric: str, results: Mapping[str, Mapping[str, BenchmarkResult]]) -> list[str]:
    """Two metrics with their intervals and the Pareto frontier as a staircase, on `ax`; returns the frontier."""
    return draw_pareto_panel(ax, x_metric, y_metric, results, front=pareto_front)


def results_from_json(data, source: str = "results") -> tuple[dict, dict, dict]:
    """Parse `results_to_json` output back into (results, system_info, config), with clear errors."""
    return results_from_document(data, BenchmarkResult.from_dict, source)


class BenchmarkSuite(SuiteOutputs):
    """Latency, accuracy, memory and energy for several models, with plots, a report and saved results.

    Args:
        models: the models, as for `Benchmark` (names from `model.name`, else `model_{i}`).
        datasets: labelled datasets, as for `Benchmark`.
        output_dir: where files go; created only when something is written.
        progress: show a progress display on stderr while measuring.
        watts_per_core, warmup_runs, measurement_runs, input_shape, energy_block_seconds, processes: see
            `BenchmarkSettings` (the input shape defaults to one sample of the first dataset; processes > 1
            measures latency and memory in that many fresh processes).
        energy_meter: the `EnergyMeter` (default: RAPL where readable, else the CPU-time estimate).
        settings: a `BenchmarkSettings` instead of the separate settings (not both).
    """

    # your functions judge what the provided `SuiteOutputs` lays out (comparison, frontier, plots, report)
    ties, front, compare = staticmethod(within_noise_of), staticmethod(pareto_front), staticmethod(compare_results)
    result_from_dict = staticmethod(BenchmarkResult.from_dict)

    def __init__(self, models: Sequence[Any], datasets: Sequence[Any], output_dir: str | Path = "benchmark_results",
                 progress: bool = True, watts_per_core: float = DEFAULT_WATTS_PER_CORE, *, warmup_runs: int = 5,
                 measurement_runs: int = 10, input_shape: tuple[int, ...] | None = None,
                 energy_block_seconds: float = 0.05, energy_meter: EnergyMeter | None = None, processes: int = 1,
                 settings: BenchmarkSettings | None = None):
        settings = settings_from(settings, warmup_runs=warmup_runs, measurement_runs=measurement_runs,
                                 input_shape=input_shape, energy_block_seconds=energy_block_seconds,
                                 watts_per_core=watts_per_core, processes=processes)
        if energy_meter is not None:  # the meter's assumption is the one the results will carry
            settings = settings.replace(watts_per_core=energy_meter.watts_per_core)
        self.models, self.datasets = list(models), list(datasets)
        self.benchmark = Benchmark(self.models, self.datasets, settings=settings)
        if settings.input_shape is None:
            settings = settings.replace(input_shape=self.benchmark.first_sample_shape())
            self.benchmark.settings = settings
        self.settings, self.output_dir, self.progress = settings, Path(output_dir), bool(progress)
        self.energy_meter = energy_meter or EnergyMeter(settings.watts_per_core)
        self.config = settings.to_config()
        self.system_info = dict(self.benchmark.system_info)
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    def run_full_benchmark(self) -> dict[str, dict[str, BenchmarkResult]]:
        """Measure latency, accuracy, memory and energy of every model; return metric -> model -> result."""
        steps = [("latency", lambda done: self.benchmark.run_latency_benchmark()),
                 ("accuracy", lambda done: self.benchmark.run_accuracy_benchmark()),
                 ("memory", lambda done: self.benchmark.run_memory_benchmark()),
                 ("energy", lambda done: self._run_energy(done["latency"]))]
        results: dict[str, dict[str, BenchmarkResult]] = {}
        with progress_display(self.progress, len(steps)) as advance:
            for metric, run in steps:
                advance(f"measuring {metric}")
                results[metric] = dict(run(results))
        self.results = results
        return results

    def _run_energy(self, latency: Mapping[str, BenchmarkResult]) -> dict[str, BenchmarkResult]:
        run_blocks = self.benchmark.block_runners(self.benchmark.inputs())  # the input the latency was timed on
        calls = {name: max(1, math.ceil(self.settings.energy_block_seconds * 1e3 / max(result.mean, 1e-6)))
                 for name, result in latency.items()}
        return measure_energy(run_blocks, calls, blocks=self.settings.measurement_runs, meter=self.energy_meter)



# %% [markdown]
# The suite on the three reference models of Module 17 (baseline, INT8, 50% pruned and fine-tuned), a
# few runs only so that the notebook stays quick: read each line as "mean [95% interval]", then the
# latency verdicts, and the end of the report it would write.

# %%
_demo_suite = BenchmarkSuite([load_reference_model(name) for name in ("tinydigits_mlp", "tinydigits_mlp_int8",
                                                                       "tinydigits_mlp_pruned50")],
                             [digits.test], progress=False, warmup_runs=2, measurement_runs=5,
                             energy_block_seconds=0.01)  # short energy blocks: a quick, noisier estimate
for _metric, _per_model in _demo_suite.run_full_benchmark().items():
    for _name, _result in _per_model.items():
        _low, _high = display_interval(_result, _metric)
        print(f"{_metric:8s} {_name:24s} {_result.mean:.4g} [{_low:.4g}, {_high:.4g}] {_result.unit}")
print(_demo_suite.comparison("latency")[["model", "ratio", "p_value", "verdict"]].to_string())
_report = render_report(_demo_suite.results, _demo_suite.system_info, _demo_suite.config,
                        {metric: _demo_suite.comparison(metric) for metric in _demo_suite.results})
print(_report[_report.index("### Model size"):_report.index("### Energy")])
print(_report[_report.index("## Recommendations"):])

# %% [markdown]
# ## 8. Comparing optimizations
#
# `compare_optimization_techniques(base, optimized, datasets)` benchmarks the base model and its
# optimized versions together (one suite, models interleaved); `summarize_optimizations` then expresses
# every optimized model relative to the base, from the suite's results (so results already measured, or
# loaded from a file, can be summarized without measuring again):
#
# - `latency_speedup = base latency / optimized latency` (above 1 means faster), likewise
#   `memory_speedup` (peak memory) and `energy_speedup`; `accuracy_retention = optimized accuracy /
#   base accuracy`; `accuracy_per_mb` and `accuracy_per_ms`: accuracy bought per unit of resource.
# - Each ratio comes with `<name>_significant` and `<name>_p_value` (`difference_test`). A ratio of
#   1.07 whose p-value is 0.4 is not a speed-up; it is noise, and the recommendation treats it as such.
#
# The recommendations follow stated rules (`recommendations`, provided): among the models keeping at
# least `min_accuracy_retention` of the base accuracy, the largest *significant* improvement; when none
# qualifies, the base model, and the reason says why.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare-optimizations", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.optimization
def compare_optimization_techniques(base_model: Any, optimized_models: Sequence[Any], datasets: Sequence[Any], *,
                                    min_accuracy_retention: float = 0.99, **suite_options: Any) -> dict[str, Any]:
    """Benchmark a base model and its optimized versions together; report ratios, significance, picks.

    Args:
        base_model: the unoptimized model.
        optimized_models: one or more optimized versions (distinct names, none equal to the base's).
        datasets: labelled datasets, as for `Benchmark`.
        min_accuracy_retention: the least fraction of the base accuracy a recommended model may keep.
        **suite_options: passed to `BenchmarkSuite` (e.g. `measurement_runs`, `settings`).

    Returns:
        See `summarize_optimizations`.
    """
    optimized_models = list(optimized_models)
    if not optimized_models:
        raise ValueError("compare_optimization_techniques needs at least one optimized model to compare with the base")
    suite_options.setdefault("progress", False)
    results = BenchmarkSuite([base_model, *optimized_models], datasets, **suite_options).run_full_benchmark()
    return summarize_optimizations(results, min_accuracy_retention=min_accuracy_retention)


def summarize_optimizations(results: Mapping[str, Mapping[str, Any]], base: str | None = None,
                            min_accuracy_retention: float = 0.99) -> dict[str, Any]:
    """Every model of a suite's `results` against the base (default: the first model), judged by `difference_test`.

    Returns:
        Keys `base_model, base_metrics, optimized_results, improvements, efficiency_metrics,
        recommendations` (and `results`, the raw `BenchmarkResult`s).
    """
    return optimization_summary(results, base, min_accuracy_retention, test=difference_test)

# %% [markdown]
# The INT8 and pruned models against the baseline, from the suite's measurements of section 7:

# %%
_summary = summarize_optimizations(_demo_suite.results)
for _name, _improvement in _summary["improvements"].items():
    print(_name, {key: (round(value, 3), _improvement[f"{key}_significant"]) for key, value in _improvement.items()
                  if key.endswith(("speedup", "retention"))})
for _slot, _pick in _summary["recommendations"].items():
    print(f"{_slot}: {_pick['model']} ({_pick['reason']})")

# %% [markdown]
# ## 9. Ablations, and the order of combined optimizations
#
# An **ablation** applies optimizations one at a time and measures after each, so every change in the
# table has one cause. Applied cumulatively, `quantize` then `prune` gives three models: the base,
# base+quantize, base+quantize+prune, each benchmarked in the same run. Each row says, for every metric,
# whether its change from the previous stage is significant (`difference_test`); the stored size is
# counted, not sampled, so its change is exact.
#
# Order matters because each step sees the result of the one before. Pruning by magnitude after int8
# quantization ranks weights by their *rounded* values, so near-ties are broken differently; quantizing
# after pruning computes its scales from the weights that survived. Either order may win; the only way
# to know is to measure both, which `compare_ablation_orders` does (all stages of both orders in one
# suite, so they share the machine's conditions).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-ablation", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.optimization
def run_ablation(base_model: Any, steps: Sequence[tuple[str, Callable]], datasets: Sequence[Any],
                 **suite_options: Any) -> pd.DataFrame:
    """Apply `steps` cumulatively to `base_model`, benchmark every stage together, tabulate metrics and deltas.

    Args:
        base_model: the starting model (not modified, as long as each step returns a new model).
        steps: `(name, function)` pairs; each function takes a model and returns a new one.
        datasets: labelled datasets, as for `Benchmark`.
        **suite_options: passed to `BenchmarkSuite`.

    Returns:
        One row per stage: means, the latency interval, model size, deltas from the previous stage, and
        whether each metric's change is significant.
    """
    return compare_ablation_orders(base_model, steps, datasets, orders=[[name for name, _ in check_steps(steps)]],
                                   **suite_options)


def compare_ablation_orders(base_model: Any, steps: Sequence[tuple[str, Callable]], datasets: Sequence[Any],
                            orders: Sequence[Sequence[str]] | None = None, **suite_options: Any) -> pd.DataFrame:
    """Run the same steps in several orders (default: as given, and reversed), all measured in one suite.

    Returns:
        The ablation rows of every order, with an `order` column such as `"quantize -> prune"`.
    """
    staged = stage_orders(base_model, steps, orders)  # provided: checks the steps and orders, builds each stage
    models = {name: model for _, stages in staged for name, _, model in stages}
    suite_options.setdefault("progress", False)
    results = BenchmarkSuite(list(models.values()), datasets, **suite_options).run_full_benchmark()
    table = pd.DataFrame([row for label, stages in staged
                          for row in ablation_rows(stages, results, label, test=difference_test)])
    table.attrs["results"] = results  # the raw results behind the rows, e.g. to check them against another run
    return table

# %% [markdown]
# Quantize (Module 15) and prune half the weights (Module 16, without fine-tuning) the reference MLP,
# in both orders, five measured blocks per stage:

# %%
from tinytorch.optimization.compression import magnitude_prune
from tinytorch.optimization.quantization import quantize_model

_ablation = compare_ablation_orders(load_reference_model("tinydigits_mlp"),
                                    [("quantize", quantize_model), ("prune", lambda m: magnitude_prune(m, sparsity=0.5))],
                                    [digits.test], warmup_runs=2, measurement_runs=5, energy_block_seconds=0.005)
print(_ablation[["order", "step", "latency_ms", "latency_change_significant", "accuracy", "accuracy_change_significant",
                 "memory_mb", "memory_change_significant", "model_size_mb"]].round(6).to_string())

# %% [markdown]
# ## 10. How many runs? `optimize_benchmark_configuration`
#
# Warm-up and run counts are not magic numbers; they can be read off a measurement of the model itself.
# We time `max_runs` calibrated blocks *without* warm-up, then:
#
# 1. **Steady state**: the median `m` and MAD of the second half of the blocks, when caches are warm.
# 2. **Warm-up**: how many leading blocks lie outside the steady band `|t - m| <= max(tolerance x m,
#    3 x 1.4826 x MAD)` before the values settle into it.
# 3. **Stable median**: after the warm-up, the running median `median(t_1..t_j)`; it *settles* at the
#    first `j` after which it never again leaves `tolerance` of its final value.
# 4. **Interval target**: the smallest `n` with `t(0.975, n-1) x s / sqrt(n) <= ci_target x mean`, so
#    that the 95% interval of the mean is within `ci_target` of it.
#
# The recommendation is that warm-up (in calls, the unit of `warmup_runs`), and
# `max(settle point, n for the interval, 3)` measured blocks. The function returns the figures it used,
# so the recommendation can be checked; the clock is a parameter, so tests run it on a fake clock.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-configuration", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.optimization
def optimize_benchmark_configuration(model: Any, sample: Any = None, *, input_shape: tuple[int, ...] = (1, 8, 8),
                                     max_runs: int = 60, calls_per_block: int | None = None, tolerance: float = 0.05,
                                     ci_target: float = 0.02, clock: Callable[[], int] = time.perf_counter_ns,
                                     seed: int = 0) -> dict:
    """Recommend warm-up and measured run counts for `model`, from a measurement of its own timings.

    Args:
        model: the model (`forward`, `predict` or callable).
        sample: the input; default a seeded standard-normal input of `input_shape`.
        max_runs: blocks to time, without warm-up (at least 10).
        calls_per_block: calls per block; default: calibrated as the latency benchmark does (>= 1 ms, timer < 1%).
        tolerance: relative band for "settled" (0.05 = within 5%).
        ci_target: wanted half-width of the 95% interval, relative to the mean.
        clock: nanosecond clock (a parameter so tests can use a fake one).
        seed: seed of the default input.

    Returns:
        `recommended_warmup_runs`, `recommended_measurement_runs` and the figures behind them.
    """
    if check_count("max_runs", max_runs, 1) < 10:
        raise ValueError(f"max_runs={max_runs} is too few to see a warm-up and a steady state; use at least 10")
    if not (0 < tolerance < 1 and 0 < ci_target < 1):
        raise ValueError(f"tolerance={tolerance} and ci_target={ci_target} must be fractions in (0, 1), e.g. 0.05")
    x = seeded_input(input_shape, seed) if sample is None else sample
    function, _ = inference_function(model)
    run_block = guarded(model_name(model, "model_0"), repeat_calls(function, x))
    if calls_per_block is None:
        target_ns = calibration_target_ns(measure_timer_overhead_ns(clock, samples=200))
        calls_per_block = calibrate_calls_per_block(run_block, target_ns, clock)
    values = interleaved_block_times({"model": run_block}, {"model": calls_per_block}, max_runs, clock)["model"] / 1e6
    return run_count_advice(values, calls_per_block, tolerance, ci_target)  # provided: steps 1-4 above

# %% [markdown]
# On the reference model (a short run of 20 blocks; use the default 60 or more for a real decision):

# %%
_advice = optimize_benchmark_configuration(load_reference_model("tinydigits_mlp"), digits.test[0][:1], max_runs=20)
print({key: _advice[key] for key in ("recommended_warmup_runs", "recommended_measurement_runs", "calls_per_block",
                                     "steady_median_ms", "coefficient_of_variation", "median_settles_after",
                                     "runs_for_ci_target", "note")})

# %% [markdown]
# ## 11. The TorchPerf Olympics: rules as data, and scoring an entry
#
# The capstone is a competition with five events. Each event is *data* (`OlympicEvent`, provided in
# `events`): what it optimizes, in which direction, and which constraints a candidate must meet to be
# ranked at all. Keeping the rules as data (rather than buried in `if` statements) lets the report print
# them and the scoring code apply them uniformly.
#
# | event | objective | constraints | score (1.0 = the baseline, higher is better) |
# |---|---|---|---|
# | Latency Sprint | minimize latency | accuracy >= 0.85 | baseline latency / entry latency |
# | Memory Challenge | minimize peak memory | accuracy >= 0.85 | baseline memory / entry memory |
# | Accuracy Contest | maximize accuracy | latency < 100 ms, memory < 10 MB | entry accuracy / baseline accuracy |
# | All-Around | a balanced score | none | geometric mean of the three ratios |
# | Extreme Push | the reduction of latency and memory | accuracy >= 0.80 | latency ratio x memory ratio |
#
# `score_olympic_event(event, baseline, candidate)` takes two dicts of measurements, metric ->
# `BenchmarkResult`, and returns `(valid, score, reasons)`. An entry that breaks a constraint (judged on
# the measured mean), or lacks a measurement the event needs, is invalid and scores 0. Every ratio goes
# through `difference_test` first: **a difference inside the measurement noise counts as 1.0**, so an
# entry cannot win a medal with a lucky run. "Memory" is the peak memory of one inference (no event
# scores the stored size). The scoring is provided (`olympic_scoring`); its two judgements are yours:
# the constraint check below and `difference_test`.

# %% [markdown]
# **Exercise (Task 19.9):** `check_olympic_constraints(event, candidate)`: one reason per constraint of
# the event that the candidate breaks or cannot show, in the event's order; an empty list means the
# entry is valid. For a constraint whose metric the candidate has no result for, the reason is
# `f"no {metric} measurement, but {event.value} requires {constraint}"`. For one its mean breaks
# (`constraint.is_met(mean)` is False), it is `f"{metric} {mean:.4g} breaks the constraint {constraint}"`,
# for example `"memory 12 breaks the constraint memory < 10 MB"` (`str(constraint)` gives the bound
# with its unit).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-constraints", "locked": false, "schema_version": 3, "solution": true}
#| export benchmarking.olympics
def check_olympic_constraints(event: OlympicEvent | str, candidate: Mapping[str, BenchmarkResult]) -> list[str]:
    """One reason per constraint of `event` that `candidate` breaks or cannot show (empty: all met).

    Each constraint is judged on the candidate's mean (`Constraint.is_met`). A constraint on a metric
    the candidate has no measurement of counts as broken: an entry must show that it complies.
    """
    event = OlympicEvent(event)
    # Task 19.9: check every constraint of the event; say what was measured and what was required.
    ### BEGIN SOLUTION
    reasons = []
    for constraint in event.constraints:
        result = candidate.get(constraint.metric)
        if result is None:
            reasons.append(f"no {constraint.metric} measurement, but {event.value} requires {constraint}")
        elif not constraint.is_met(result.mean):
            reasons.append(f"{constraint.metric} {result.mean:.4g} breaks the constraint {constraint}")
    return reasons
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-olympic-constraints-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
def test_unit_olympic_constraints():
    def entry(accuracy, latency, memory):
        return {"accuracy": BenchmarkResult("a", [accuracy], unit="fraction"),
                "latency": BenchmarkResult("l", [latency], unit="ms"), "memory": BenchmarkResult("m", [memory], unit="MB")}
    assert check_olympic_constraints("latency_sprint", entry(0.90, 500.0, 50.0)) == [], "the sprint only needs accuracy"
    assert check_olympic_constraints(OlympicEvent.LATENCY_SPRINT, entry(0.80, 1.0, 1.0)) == [
        "accuracy 0.8 breaks the constraint accuracy >= 0.85 fraction"]
    assert check_olympic_constraints("latency_sprint", entry(0.85, 1.0, 1.0)) == [], "0.85 meets accuracy >= 0.85"
    assert check_olympic_constraints("accuracy_contest", entry(0.99, 50.0, 12.0)) == [
        "memory 12 breaks the constraint memory < 10 MB"]
    assert len(check_olympic_constraints("accuracy_contest", entry(0.99, 100.0, 10.0))) == 2, "strict ceilings"
    assert check_olympic_constraints("all_around", {}) == [], "the all-around has no constraints"
    missing = check_olympic_constraints("latency_sprint", {"latency": BenchmarkResult("l", [1.0], unit="ms")})
    assert missing == ["no accuracy measurement, but latency_sprint requires accuracy >= 0.85 fraction"]


test_unit_olympic_constraints()

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-score", "locked": false, "schema_version": 3, "solution": false}
#| export benchmarking.olympics
def score_olympic_event(event: OlympicEvent | str, baseline: Mapping[str, BenchmarkResult],
                        candidate: Mapping[str, BenchmarkResult], alpha: float = 0.05) -> tuple[bool, float, list[str]]:
    """Score an entry against the baseline for one event (see the table above).

    Args:
        event: the event (`OlympicEvent` or its value, e.g. "latency_sprint").
        baseline: the baseline model's measurements, metric -> `BenchmarkResult`.
        candidate: the entry's measurements, metric -> `BenchmarkResult`.
        alpha: significance level of `difference_test`.

    Returns:
        `(valid, score, reasons)`: score 1.0 means "no better than the baseline", higher is better;
        an invalid entry scores 0.0. `reasons` explains the verdict and each ratio.
    """
    return score_entry(event, baseline, candidate, broken_constraints=check_olympic_constraints,
                       test=lambda base, entry, metric: difference_test(base, entry, metric, alpha))

# %% [markdown]
# The INT8 and pruned reference models entered in every event, scored against the baseline from the
# suite's measurements of section 7. With only five blocks per model most differences are inside the
# noise, and the scores say so (1.0), rather than handing out medals for luck.

# %%
_baseline = {metric: per_model["tinydigits_mlp"] for metric, per_model in _demo_suite.results.items()}
for _entry in ("tinydigits_mlp_int8", "tinydigits_mlp_pruned50"):
    _candidate = {metric: per_model[_entry] for metric, per_model in _demo_suite.results.items()}
    for _event in OlympicEvent:
        _valid, _score, _reasons = score_olympic_event(_event, _baseline, _candidate)
        print(f"{_entry:24s} {_event.value:17s} valid={_valid} score={_score:.3f}  {_reasons[0]}")

# %% [markdown]
# ## 12. Standard benchmarks: MLPerf and TinyMLPerf
#
# Everything so far compares models on *your* machine under *your* rules. To compare across teams and
# machines, the rules themselves must be agreed: which model and data, which quality counts, how queries
# arrive, what is reported. MLPerf (run by MLCommons) is that agreement for ML systems, and each of its
# principles has a counterpart in this module:
#
# | MLPerf principle | what it prevents | in this module |
# |---|---|---|
# | a fixed task: reference model, data set, pre-processing | comparing a digit classifier with an image classifier | one suite, one labelled data set |
# | a quality target (e.g. 99% of the reference accuracy) | buying speed with a broken model | Olympic constraints, `accuracy_retention` |
# | a load generator (LoadGen) issues and times the queries | a system timing itself generously | `Benchmark` times the model, never the reverse |
# | minimum query counts for a percentile | a "p99" computed from 20 queries | TinyMLPerf flags p90 below 64 queries, p99 below 662 |
# | full disclosure and review | results no one can reproduce | `system_info`, the report's method section, raw values in JSON |
#
# **Divisions.** The *closed* division fixes the model (quantize or compile it, never retrain it):
# results compare *systems*. The *open* division allows any model or recipe with its quality reported:
# results compare *ideas*. Module 15's int8 model is closed-division; the pruned and fine-tuned model is
# open (fine-tuning is retraining). The Olympics are an open competition with quality floors.
#
# **Scenarios.** How queries arrive changes what "fast" means, so MLPerf Inference measures four ways:
#
# ```
#  single-stream  q...q...q...q       next query when the last one answered      -> p90 latency
#  multi-stream   Q...Q...Q           each query holds several samples (8 cameras) -> p99 latency per query
#  server         q.q...qq.q....q.q   random (Poisson) arrivals                   -> most queries/s with tail latency in bound
#  offline        qqqqqqqqqqqqqqqqq   all samples at once                         -> samples/s (throughput)
# ```
#
# `run_latency_benchmark` at batch 1 is close to single-stream, but it times *blocks* of calls: precise
# for the typical call, blind to the tail inside a block, where a single-stream p90 needs every query
# timed on its own. A larger batch, say `input_shape=(64, 8, 8)`, is the offline view.
#
# **TinyMLPerf** (MLPerf Tiny) applies these rules to microcontrollers: four tasks, single-stream, batch
# 1, a quality target per task. Module 18 built its harness (each query timed on its own, on offline
# stand-ins for its data sets with real labels); `tinytorch.benchmarking.benchmark` offers it as `TinyMLPerf`.
#
# The reference MLP on the image-classification task, 100 single-stream queries. Compare its p50 with
# the block median `Benchmark` gave in section 4, and read the reasons: with 100 queries the p90 is
# backed by enough data, the p99 is not, and the harness says so instead of reporting it as a result.

# %%
_tiny = TinyMLPerf(random_seed=42).run_standard_benchmark(mlp, "image_classification", num_runs=100)
print({key: _tiny[key] for key in ("accuracy", "p50_latency_ms", "p90_latency_ms", "compliant")})
print("\n".join(_tiny["reasons"]))

# %% [markdown]
# ## 13. A class Olympics, end to end
#
# `score_olympic_event` judges one entry against one baseline. A class needs more: every team's entry
# measured on one machine under the same conditions, a record of each run, and a ranking that does not
# call a 0.3 % gap a win. `tito olympics` (course tooling, beside the library) does that, and this cell
# runs it for three teams: `baseline` (the reference MLP itself), `int8` and `pruned`.
#
# 1. **Submit.** A team hands in a model saved with `save_model`: data only, checked (it loads, maps a
#    `(1, 8, 8)` batch to `(1, 10)`, fits the size cap) and filed with its hash.
# 2. **Run.** Every submission is checked again in a worker process, scored for accuracy on the real
#    TinyDigits test set, then measured with `Benchmark(..., processes=N)` beside the reference MLP:
#    all entries interleaved, in N fresh processes one after another.
# 3. **Rank.** Entries are compared pairwise (tests on the per-process scores, Holm-corrected), and
#    rank = 1 + the number of entries *significantly* better: ties share a place, and "places 1-3"
#    says how sure a place is. The runs go into a database (a SQLite file here, PostgreSQL for a course
#    server); the board shows each team's latest valid entry.
#
# Read the result against the plain ranking (by score alone) in the last column: the `baseline` team
# submitted the very model it is compared with, so any score other than 1.00 is noise, and the ranks
# say so. This cell starts worker processes, which the grader's sandbox does not allow: there it only
# says so. Run it in your own Jupyter. For a class: `tito olympics submit`, `run` and `leaderboard`.

# %%
import tempfile

from tinytorch.models.zoo import save_model
from tito.olympics.board import build_board
from tito.olympics.database import Database
from tito.olympics.measure import MeasureSettings
from tito.olympics.runner import run_event
from tito.olympics.submission import submit

with tempfile.TemporaryDirectory(prefix="olympics-") as _olympics:
    _olympics = Path(_olympics)
    for _team, _model in {"baseline": "tinydigits_mlp", "int8": "tinydigits_mlp_int8",
                          "pruned": "tinydigits_mlp_pruned50"}.items():
        save_model(load_reference_model(_model), _olympics / "models" / _team)  # what a team hands in
        submit("latency_sprint", _olympics / "models" / _team, _team, _olympics / "submissions")
    try:
        with Database(str(_olympics / "olympics.db")) as _db:
            _settings = MeasureSettings(processes=4, runs=5, warmup=2)  # small for a lesson; the CLI uses 10
            _run = run_event("latency_sprint", _olympics / "submissions", _db, _settings).run
            _board = build_board(_db, "latency_sprint")
    except (OSError, RuntimeError, BenchmarkError) as error:  # no processes in the sandbox; stubs cannot measure
        _board = None
        print(f"not run here: {error}\n(worker processes import your tinytorch package: in your own Jupyter, "
              "after `tito module complete 19`, this cell runs the event)")
if _board is not None:
    print(", ".join(f"{entry.team}: {entry.status}" for entry in _run.entries))
    for _row in _board.rows:
        print(f"rank {_row.placement.rank} (places {_row.placement.places:>4})  {_row.label:<36} "
              f"score {_row.score:.2f} [{_row.score_low:.2f}, {_row.score_high:.2f}]  "
              f"plain rank {_row.placement.plain_rank}")
    print(*(_board.warnings or ["no warnings"]), sep="\n")

# %% [markdown]
# ## 14. Systems-thinking questions
#
# Answer each question in the cell below it, in a few sentences, with figures from *your* run of this
# notebook (copy the numbers, and say what machine and load they come from). Every figure a question
# asks for is printed by a cell above. There is no single right answer; a good answer names the
# mechanism and the evidence. Each is worth 2 points and is graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "benchmarking-q1-question", "locked": true, "schema_version": 3, "solution": false}
# **Q1. Mean, median and the paired ratio under load.** In section 4, `numpy_mlp_x2` does exactly twice
# the work of `numpy_mlp`, the baseline in the first row of the latency tables. The cell printed each
# table twice: on the machine as it was, and with one busy process per core competing for it
# (`busy_machine()`). For `numpy_mlp_x2`, quote its three ratios to the baseline (`ratio_of_means`,
# `ratio_of_medians`, `paired_ratio`) in both runs. Which stayed near 2 in each run, and why does the way
# each is computed make it robust or fragile under load? (If the cell could not start the busy
# processes, it says so: then answer from the first run, and say what you expect under load and why.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "benchmarking-q1-median-under-load", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "benchmarking-q2-question", "locked": true, "schema_version": 3, "solution": false}
# **Q2. How many runs?** Section 10 ran `optimize_benchmark_configuration` on the reference MLP. How many
# warm-up calls and measured blocks did it recommend on your machine, and which of its criteria decided
# (`median_settles_after` or `runs_for_ci_target`)? It can ask for thousands of blocks when the spread is
# large (its `coefficient_of_variation` is printed beside it): explain from $t \cdot s / \sqrt{n}$ why,
# what its `note` suggests instead, and why even a very long run in one process does not remove the
# variation between processes.

# %% [markdown] nbgrader={"grade": true, "grade_id": "benchmarking-q2-how-many-runs", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "benchmarking-q3-question", "locked": true, "schema_version": 3, "solution": false}
# **Q3. Why is the INT8 model not faster here?** The suite of section 7 printed the latency and peak
# memory of `tinydigits_mlp_int8` and its stored size (the "Model size" table of the report excerpt).
# Quote them against the baseline's: how much smaller is it stored, was it faster, and how did its peak
# memory during one inference compare? Explain each from what Module 15's `QuantizedLinear.forward` does
# with NumPy. What would have to change (in the kernel or the hardware) for int8 to pay off in latency
# and in peak memory? In section 11, what did the INT8 entry score in the Memory Challenge, which scores
# peak memory, and what would an event that rewards its smaller storage have to measure instead?

# %% [markdown] nbgrader={"grade": true, "grade_id": "benchmarking-q3-int8-not-faster", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "benchmarking-q4-question", "locked": true, "schema_version": 3, "solution": false}
# **Q4. Prune then quantize, or quantize then prune?** Compare the two orders in the ablation table of
# section 9: accuracy, stored size and latency at each stage, and which changes were significant (its
# `*_change_significant` columns; stored size is counted, so its changes are exact). Explain, from what
# each step computes, why the order can change the result. Why did pruning not shrink the stored size
# of this model, and what would it take for pruning to save memory, or time?

# %% [markdown] nbgrader={"grade": true, "grade_id": "benchmarking-q4-optimization-order", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "benchmarking-q5-question", "locked": true, "schema_version": 3, "solution": false}
# **Q5. What can an energy estimate tell you?** Section 5 printed how its energy figures were obtained
# (`measured` or `estimated`, and the assumptions). If it was an estimate, it is CPU time x an assumed
# `watts_per_core`: if model A's estimate is half of model B's, what does that show, and under which
# conditions is A really using half the energy? Name at least two things the estimate cannot see, and
# say how you would measure energy for real, on a laptop and on a microcontroller.

# %% [markdown] nbgrader={"grade": true, "grade_id": "benchmarking-q5-energy-estimate", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# YOUR ANSWER HERE

# %% [markdown]
# ## 15. Summary
#
# You built an instrument, and the habits that make its readings believable: statistics that fit the
# data (t intervals that widen honestly for small n, the median and its interval for skewed timings,
# percentiles for deadlines, outliers counted, never dropped); timing that measures the model, not the
# clock (a monotonic clock, warm-up, calibrated blocks, interleaving, the machine recorded); every
# metric from a measurement, an estimate saying that it is one; decisions with their uncertainty
# (ratios with intervals, verdicts that say "no detectable difference" when that is the truth, Pareto
# frontiers, reports that state their method, Olympic scores that count noise as 1.0); optimizations
# judged by measurement, in both orders, and standard benchmarks whose rules make results comparable.
#
# The numbers here were measured on a small model on a shared machine, and most differences between
# its optimized variants are inside the noise. That is a finding, not a failure.
#
# **Next: the TorchPerf Olympics.** Pick an event, optimize the reference model with Modules 14-18, save
# it with `save_model` and enter it (`tito olympics submit EVENT MODEL --team NAME`); measure it first
# with `BenchmarkSuite` and `score_olympic_event` against the baseline. Before you run
# `tito module complete 19`, answer the five questions above.
