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
# # Module 19: Benchmarking (TorchPerf Olympics)
#
# STAND-IN: the measurement core is being written on branch `core`; these cells are a minimal
# stand-in so that the analysis sections can be developed and exported. They are replaced on merge.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp benchmarking.benchmark
#| export
from __future__ import annotations

import copy
import json
import math
import os
import platform
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats

# %% nbgrader={"grade": false, "grade_id": "benchmarking-core-standin", "locked": false, "schema_version": 3, "solution": false}
#| export
class OlympicEvent(Enum):
    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

class BenchmarkError(RuntimeError):
    pass

@dataclass
class BenchmarkResult:
    metric_name: str
    values: list
    metadata: dict = field(default_factory=dict)
    unit: str = ""
    def __post_init__(self):
        self.values = [float(v) for v in self.values]
        self.metadata = dict(self.metadata or {})
        if not self.values: raise ValueError("empty")
    @property
    def mean(self): return float(np.mean(self.values))
    @property
    def std(self): return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0
    @property
    def median(self): return float(np.median(self.values))
    @property
    def count(self): return len(self.values)
    def _half(self):
        if self.count < 2: return 0.0
        return float(stats.t.ppf(0.975, self.count - 1) * self.std / math.sqrt(self.count))
    @property
    def ci_lower(self): return self.mean - self._half()
    @property
    def ci_upper(self): return self.mean + self._half()
    def to_dict(self): return {"metric_name": self.metric_name, "values": self.values, "metadata": self.metadata, "unit": self.unit}
    @classmethod
    def from_dict(cls, d): return cls(d["metric_name"], d["values"], d.get("metadata"), d.get("unit", ""))

def _call(model, x):
    if hasattr(model, "forward"): out = model.forward(x)
    elif hasattr(model, "predict"): out = model.predict(x)
    else: out = model(x)
    return np.asarray(getattr(out, "data", out))

class Benchmark:
    def __init__(self, models, datasets, warmup_runs=5, measurement_runs=10):
        self.models = list(models); self.datasets = list(datasets)
        self.warmup_runs = warmup_runs; self.measurement_runs = measurement_runs
        self.names = [getattr(m, "name", f"model_{i}") for i, m in enumerate(self.models)]
        self.system_info = {"platform": platform.platform(), "python_version": platform.python_version(), "cpu_count": os.cpu_count()}
        self.results = {}
    def run_latency_benchmark(self, input_shape=(1, 28, 28)):
        x = np.random.default_rng(0).random(input_shape).astype(np.float32)
        out = {}
        for name, m in zip(self.names, self.models):
            for _ in range(self.warmup_runs): _call(m, x)
            vals = []
            for _ in range(self.measurement_runs):
                t = time.perf_counter_ns()
                for _ in range(20): _call(m, x)
                vals.append((time.perf_counter_ns() - t) / 20 / 1e6)
            out[name] = BenchmarkResult(f"{name}_latency", vals, {"calls_per_block": 20, "warmup_runs": self.warmup_runs}, unit="ms")
        self.results["latency"] = out
        return out
    def run_accuracy_benchmark(self):
        out = {}
        for name, m in zip(self.names, self.models):
            vals = []
            for x, y in self.datasets:
                try:
                    pred = _call(m, x)
                except Exception as e:
                    raise BenchmarkError(f"model {name} failed: {e}") from e
                vals.append(float((pred.argmax(-1) == y).mean()))
            out[name] = BenchmarkResult(f"{name}_accuracy", vals, {"samples": [len(d[1]) for d in self.datasets]}, unit="fraction")
        self.results["accuracy"] = out
        return out
    def run_memory_benchmark(self, input_shape=(1, 28, 28)):
        x = np.random.default_rng(0).random(input_shape).astype(np.float32)
        out = {}
        for name, m in zip(self.names, self.models):
            vals = []
            for _ in range(3):
                tracemalloc.start(); tracemalloc.reset_peak(); _call(m, x); peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
                vals.append(peak / 1e6)
            size = sum(p.nbytes for p in m.parameters()) / 1e6 if hasattr(m, "parameters") else None
            out[name] = BenchmarkResult(f"{name}_memory", vals, {"model_size_mb": size}, unit="MB")
        self.results["memory"] = out
        return out
    def compare_models(self, metric="latency"):
        if metric not in self.results: raise ValueError(f"unknown metric {metric}")
        res = self.results[metric]; names = list(res); first = res[names[0]]
        rows = []
        for n in names:
            r = res[n]
            p = float(stats.ttest_ind(r.values, first.values, equal_var=False).pvalue) if n != names[0] else float("nan")
            verdict = "baseline" if n == names[0] else ("no detectable difference" if not p < 0.05 else ("slower" if r.mean > first.mean else "faster"))
            rows.append(dict(model=n, metric=metric, mean=r.mean, std=r.std, ci_lower=r.ci_lower, ci_upper=r.ci_upper, count=r.count, median=r.median, unit=r.unit, ratio=r.mean / first.mean, p_value=p, verdict=verdict))
        return pd.DataFrame(rows)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-core-glue", "locked": false, "schema_version": 3, "solution": false}
#| export
def _invoke(model, x):
    return _call(model, x)


def _make_result(metric_name, values, unit, metadata) -> BenchmarkResult:
    return BenchmarkResult(metric_name, list(values), metadata=metadata, unit=unit)


def _compare_results(benchmark, metric, per_model):
    benchmark.results[metric] = dict(per_model)
    return benchmark.compare_models(metric)

# %% [markdown]
# # Part 2: from measurements to decisions
#
# The measurement core gives one `BenchmarkResult` per model and metric. The rest of the module turns
# those into things an engineer can act on: an energy figure, a suite that runs every metric, plots
# and a report, the Pareto frontier, a comparison of optimizations, ablations, and the scoring of the
# TorchPerf Olympics. Everything below only *reads* measurements; it never invents one.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-analysis-imports", "locked": false, "schema_version": 3, "solution": false}
#| export
import copy
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# %% [markdown]
# ## Energy: E = P x t
#
# Energy is power integrated over time. For a constant power `P` (watts) drawn for `t` seconds,
# `E = P x t` joules. Per inference: a model that keeps one core busy for 0.2 ms at 10 W uses
# `10 W x 0.0002 s = 2 mJ`. Two ways to get a figure:
#
# 1. **Measured.** Recent Intel and AMD CPUs count the energy of each CPU package in hardware (RAPL,
#    Running Average Power Limit). Linux exposes the counter, in microjoules, as
#    `/sys/class/powercap/intel-rapl:N/energy_uj`. Read it before and after a block of calls; the
#    difference divided by the number of calls is the energy per inference. Two caveats travel with
#    the figure: the package counter includes *every* process running on that CPU (and its idle
#    power), and the counter wraps around at `max_energy_range_uj`, so a reading smaller than the one
#    before means it passed its maximum once: `delta = after + max_range - before`.
# 2. **Estimated.** Where the counter is absent or unreadable (most virtual machines; since 2020 Linux
#    only lets root read it), we measure what we *can*: the CPU time the process spent per inference,
#    `time.process_time_ns()` around a block of calls, and multiply it by an *assumed* power per busy
#    core, `watts_per_core`. That assumption is a visible parameter, recorded with the result, and the
#    result says `method: estimated`. Change the assumption and the figure scales with it, which is the
#    honest way to show that it is an assumption.
#
# The default, `DEFAULT_WATTS_PER_CORE = 10` W, is the order of magnitude of a desktop or server x86
# core under load (a 65-125 W package with 8-16 cores); a phone core is nearer 1 W. Pass your own.
#
# **Exercise (Task 19.A):** implement `estimate_energy_per_inference`: given the CPU time of each
# block (nanoseconds), the calls per block and the watts per core, return the joules per inference
# of each block.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-estimate", "locked": false, "schema_version": 3, "solution": true}
#| export
DEFAULT_WATTS_PER_CORE = 10.0


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
    # Task 19.A: E = P x t for each block, per call.
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
# ### Reading RAPL, and wrapping counters
#
# `find_rapl_packages` looks for the package domains (`intel-rapl:0`, `intel-rapl:1`, ...). Their
# sub-domains (`intel-rapl:0:0` for the cores, ...) are already part of the package figure, so adding
# them would count energy twice. If any package counter exists but cannot be read, the machine is
# treated as having no readable RAPL: a sum over some of the packages would be too small.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-rapl", "locked": false, "schema_version": 3, "solution": false}
#| export
RAPL_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class RaplPackage:
    """One RAPL package counter: its folder name, its `energy_uj` file and where it wraps."""

    name: str
    energy_file: Path
    max_energy_range_uj: int

    def read_uj(self) -> int:
        """The counter's current value in microjoules."""
        return int(self.energy_file.read_text().strip())


def find_rapl_packages(root: str | Path = RAPL_ROOT) -> list[RaplPackage]:
    """The RAPL package counters under `root`, or `[]` when there are none or any is unreadable."""
    packages = []
    for folder in sorted(Path(root).glob("intel-rapl:*")):
        if not re.fullmatch(r"intel-rapl:\d+", folder.name):
            continue  # a sub-domain: already inside its package's figure
        try:
            package = RaplPackage(folder.name, folder / "energy_uj",
                                  int((folder / "max_energy_range_uj").read_text().strip()))
            package.read_uj()
        except (OSError, ValueError):
            return []
        packages.append(package)
    return packages


def rapl_delta_uj(before: int, after: int, max_energy_range_uj: int) -> int:
    """Energy counted between two readings of one counter, allowing for one wrap-around."""
    if after >= before:
        return after - before
    return after + max_energy_range_uj - before

# %% nbgrader={"grade": false, "grade_id": "benchmarking-rapl-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_rapl_delta():
    assert rapl_delta_uj(100, 350, 1000) == 250
    assert rapl_delta_uj(900, 50, 1000) == 150, "the counter passed its maximum once"


test_unit_rapl_delta()

# %% [markdown]
# ### An energy meter, and the energy benchmark
#
# `EnergyMeter` hides the two methods behind one call: `measure_block(run, calls)` runs a block of
# inferences and returns the joules per inference (measured, or `None` when it can only estimate) and
# the process CPU time of the block. `measure_energy` runs blocks of every model in turn, round-robin,
# so that drift in the machine's state hits all models alike, and returns one `BenchmarkResult` in
# joules per inference for each. The clocks are parameters, so tests use fake ones.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-meter", "locked": false, "schema_version": 3, "solution": false}
#| export
class EnergyMeter:
    """Measures package energy with RAPL where readable, else estimates it from process CPU time.

    Args:
        watts_per_core: assumed power of one busy core for the estimate, in watts.
        rapl_root: where to look for RAPL counters (a parameter so tests can use a fake folder).
        cpu_clock: process CPU clock in nanoseconds (a parameter so tests can use a fake one).
    """

    def __init__(self, watts_per_core: float = DEFAULT_WATTS_PER_CORE, rapl_root: str | Path = RAPL_ROOT,
                 cpu_clock: Callable[[], int] = time.process_time_ns):
        if not (isinstance(watts_per_core, (int, float)) and math.isfinite(watts_per_core) and watts_per_core > 0):
            raise ValueError(f"watts_per_core={watts_per_core!r} must be a positive number of watts, e.g. 10.0")
        self.watts_per_core = float(watts_per_core)
        self.rapl_root = Path(rapl_root)
        self.cpu_clock = cpu_clock
        self.packages = find_rapl_packages(self.rapl_root)

    @property
    def method(self) -> str:
        """`measured` when RAPL counters are readable, else `estimated`."""
        return "measured" if self.packages else "estimated"

    def measure_block(self, run: Callable[[], Any], calls: int) -> tuple[float | None, int]:
        """Run `run()` `calls` times; return (measured joules per call or None, CPU nanoseconds)."""
        before = [p.read_uj() for p in self.packages]
        cpu_start = self.cpu_clock()
        for _ in range(calls):
            run()
        cpu_ns = self.cpu_clock() - cpu_start
        if not self.packages:
            return None, cpu_ns
        after = [p.read_uj() for p in self.packages]
        total_uj = sum(rapl_delta_uj(b, a, p.max_energy_range_uj) for b, a, p in zip(before, after, self.packages))
        return total_uj * 1e-6 / calls, cpu_ns

    def describe(self) -> dict:
        """How the energy figure is obtained, and on which assumptions: goes into result metadata."""
        if self.packages:
            return {"method": "measured", "source": f"RAPL package counters {[p.name for p in self.packages]} "
                                                    f"under {self.rapl_root}",
                    "assumptions": "package energy over each block divided by its calls; it includes every "
                                   "other process on the CPU and idle power, so it is an upper bound"}
        return {"method": "estimated", "watts_per_core": self.watts_per_core,
                "formula": "energy per inference = watts_per_core x process CPU time per inference",
                "assumptions": f"RAPL counters not readable under {self.rapl_root}; every CPU second of this "
                               f"process is assumed to draw {self.watts_per_core} W (one busy core); memory, "
                               f"idle and other components are not counted"}

# %% nbgrader={"grade": false, "grade_id": "benchmarking-measure-energy", "locked": false, "schema_version": 3, "solution": false}
#| export
def measure_energy(runs: Mapping[str, Callable[[], Any]], calls_per_block: Mapping[str, int], blocks: int = 10,
                   meter: EnergyMeter | None = None) -> dict[str, BenchmarkResult]:
    """Energy per inference of each model, in joules, from `blocks` round-robin blocks of calls.

    Args:
        runs: model name -> a function that runs one inference.
        calls_per_block: model name -> calls per block (long enough for the counter to tick).
        blocks: how many blocks (samples) per model.
        meter: the `EnergyMeter` to use; a default one (RAPL if readable, else the estimate).

    Returns:
        model name -> `BenchmarkResult` in J per inference; its metadata says `method` and how.

    Raises:
        BenchmarkError: if a model raises during a block.
    """
    if blocks < 1:
        raise ValueError(f"blocks={blocks} must be at least 1")
    meter = meter or EnergyMeter()
    measured = {name: [] for name in runs}
    cpu_ns = {name: [] for name in runs}
    for _ in range(blocks):
        for name, run in runs.items():
            try:
                joules, cpu = meter.measure_block(run, calls_per_block[name])
            except (OSError, ValueError) as error:
                if isinstance(error, OSError) and meter.packages:
                    raise BenchmarkError(f"reading the RAPL counters failed while measuring {name!r}: {error}") from error
                raise BenchmarkError(f"model {name!r} failed during the energy benchmark: {error}") from error
            except Exception as error:
                raise BenchmarkError(f"model {name!r} failed during the energy benchmark: {error}") from error
            measured[name].append(joules)
            cpu_ns[name].append(cpu)
    results = {}
    for name in runs:
        calls = calls_per_block[name]
        if meter.method == "measured":
            values = measured[name]
        else:
            values = estimate_energy_per_inference(cpu_ns[name], calls, meter.watts_per_core)
        metadata = {**meter.describe(), "calls_per_block": calls, "blocks": blocks,
                    "cpu_time_ns_per_block": cpu_ns[name],
                    "cpu_time_ms_per_inference": [ns / 1e6 / calls for ns in cpu_ns[name]]}
        results[name] = _make_result(f"{name}_energy", values, "J", metadata)
    return results

# %% nbgrader={"grade": false, "grade_id": "benchmarking-energy-tests", "locked": false, "schema_version": 3, "solution": false}
class _FakeCpuClock:
    """A process clock that advances by a fixed number of nanoseconds every time the model runs."""

    def __init__(self):
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_unit_measure_energy_estimate():
    clock = _FakeCpuClock()

    def model_run():  # each inference costs exactly 0.5 ms of CPU on the fake clock
        clock.now += 500_000

    meter = EnergyMeter(watts_per_core=4.0, rapl_root=Path("/nonexistent/powercap"), cpu_clock=clock)
    results = measure_energy({"m": model_run}, {"m": 20}, blocks=3, meter=meter)
    result = results["m"]
    assert result.metadata["method"] == "estimated" and result.metadata["watts_per_core"] == 4.0
    assert np.allclose(result.values, [4.0 * 0.0005] * 3), "4 W x 0.5 ms = 2 mJ per inference"
    assert result.metadata["cpu_time_ns_per_block"] == [10_000_000] * 3


test_unit_measure_energy_estimate()

# %% [markdown]
# ## Pareto frontiers: dominance
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
# dominate each other (neither is *strictly* better), so both stay on the frontier. A single model is
# its own frontier.
#
# **Exercise (Task 19.B):** implement `dominates(a, b, directions)`.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-pareto-dominance", "locked": false, "schema_version": 3, "solution": true}
#| export
METRIC_DIRECTIONS = {"latency": "min", "accuracy": "max", "memory": "min", "energy": "min"}
METRIC_UNITS = {"latency": "ms", "accuracy": "fraction", "memory": "MB", "energy": "J"}


def check_metric(metric: str) -> str:
    """Return `metric` if the suite knows it, else raise a `ValueError` listing the known ones."""
    if metric not in METRIC_DIRECTIONS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_DIRECTIONS)}")
    return metric


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
    # Task 19.B: compare objective by objective, respecting each direction.
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
#| export
def pareto_front(points: Mapping[str, Sequence[float]], directions: Sequence[str]) -> list[str]:
    """The names of the points no other point dominates, in the order given.

    Args:
        points: name -> one value per objective.
        directions: per objective, `"min"` or `"max"`.
    """
    if not points:
        raise ValueError("pareto_front needs at least one point")
    return [name for name, point in points.items()
            if not any(dominates(other, point, directions) for other_name, other in points.items() if other_name != name)]

# %% nbgrader={"grade": false, "grade_id": "benchmarking-pareto-front-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_pareto_front():
    points = {"A": (1.0, 0.80), "B": (2.0, 0.90), "C": (4.0, 0.95), "D": (3.0, 0.85), "E": (2.0, 0.90)}
    assert pareto_front(points, ("min", "max")) == ["A", "B", "C", "E"], "D is dominated by B; B and E tie"
    assert pareto_front({"only": (5.0, 0.5)}, ("min", "max")) == ["only"]


test_unit_pareto_front()

# %% [markdown]
# ## The suite: every metric, then files a person can read
#
# `BenchmarkSuite` runs the four measurements (latency, accuracy, memory, energy) over the same
# models, keeps every raw value, and turns them into three kinds of output, each written to
# `output_dir` only when asked, and atomically (to a temporary file in the same folder, then renamed
# over the target, so a reader never sees half a file):
#
# | output | file | what it shows |
# |---|---|---|
# | `save_results(path)` | JSON | every raw value, system information, the configuration; versioned |
# | `plot_results()` | `benchmark_comparison.png` | per metric: each model's raw values, their spread, the 95% interval of the mean, the best |
# | `plot_pareto_frontier(x, y)` | `pareto_<x>_vs_<y>.png` | the trade-off between two metrics, frontier drawn as a staircase |
# | `generate_report()` | `benchmark_report.md` | method, system, tables with intervals, significance, Pareto set, recommendations |
#
# The results file carries `"schema": "tinytorch.benchmark_suite"` and a `schema_version`. Reading a
# file of another version, a foreign JSON file or a damaged one fails with a message that says which.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite-files", "locked": false, "schema_version": 3, "solution": false}
#| export
RESULTS_SCHEMA = "tinytorch.benchmark_suite"
RESULTS_SCHEMA_VERSION = 1
SUITE_METRICS = ("latency", "accuracy", "memory", "energy")


def _ensure_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create the output folder {folder}: {error}; choose an output_dir you can write to") from error
    return folder


def _write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write `path` through `write(temporary_path)`, then rename: readers see the old or the new file."""
    path = Path(path)
    _ensure_folder(path.parent)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OSError(f"cannot write to the output folder {path.parent}: {error}; "
                      f"choose an output_dir you can write to") from error
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def results_to_json(results: Mapping[str, Mapping[str, BenchmarkResult]], system_info: Mapping,
                    config: Mapping) -> dict:
    """The versioned, JSON-ready form of suite results (raw values included)."""
    return {"schema": RESULTS_SCHEMA, "schema_version": RESULTS_SCHEMA_VERSION,
            "system_info": dict(system_info), "config": dict(config),
            "results": {metric: {name: result.to_dict() for name, result in per_model.items()}
                        for metric, per_model in results.items()}}


def results_from_json(data: Any, source: str = "results") -> tuple[dict, dict, dict]:
    """Parse `results_to_json` output back into (results, system_info, config), with clear errors."""
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        raise ValueError(f"{source} is not a TinyTorch benchmark results file: it lacks "
                         f"\"schema\": \"{RESULTS_SCHEMA}\"; load a file written by BenchmarkSuite.save_results")
    version = data.get("schema_version")
    if version != RESULTS_SCHEMA_VERSION:
        raise ValueError(f"{source} has schema_version {version!r}, but this TinyTorch reads version "
                         f"{RESULTS_SCHEMA_VERSION}; re-run the benchmark and save it again")
    results = {}
    for metric, per_model in dict(data.get("results") or {}).items():
        check_metric(metric)
        results[metric] = {}
        for name, entry in per_model.items():
            try:
                results[metric][name] = BenchmarkResult.from_dict(entry)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{source}: the {metric} result of model {name!r} is malformed ({error}); "
                                 f"re-run the benchmark and save it again") from error
    return results, dict(data.get("system_info") or {}), dict(data.get("config") or {})

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite-files-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_results_json():
    results = {"latency": {"a": _make_result("a_latency", [1.0, 1.2, 1.1], "ms", {})}}
    data = json.loads(json.dumps(results_to_json(results, {"platform": "test"}, {"warmup_runs": 1})))
    loaded, system, config = results_from_json(data)
    assert loaded["latency"]["a"].values == [1.0, 1.2, 1.1] and system == {"platform": "test"}
    for foreign in ({"hello": 1}, [1, 2], {**data, "schema_version": 99}):
        try:
            results_from_json(foreign)
        except ValueError:
            continue
        raise AssertionError(f"{str(foreign)[:40]} must raise ValueError")


test_unit_results_json()

# %% [markdown]
# ### Reading intervals at a glance, and recommending by constraints
#
# Two helpers feed the plots and the report. `intervals_overlap` says whether two 95% intervals of the
# mean overlap: when they do, the report says the two models are *within noise* of each other rather
# than calling one the winner. `DeploymentConstraints` states what a deployment needs (a minimum
# accuracy, a latency budget, a memory budget); recommendations are chosen by those stated numbers
# and the measurements only, never by what a model is called.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-constraints", "locked": false, "schema_version": 3, "solution": false}
#| export
@dataclass(frozen=True)
class DeploymentConstraints:
    """What a deployment requires; recommendations honour these numbers.

    Attributes:
        min_accuracy: lowest acceptable accuracy (fraction).
        max_latency_ms: latency budget per inference.
        max_memory_mb: peak-memory budget per inference.
    """

    min_accuracy: float = 0.85
    max_latency_ms: float = 100.0
    max_memory_mb: float = 10.0


def intervals_overlap(a: BenchmarkResult, b: BenchmarkResult) -> bool:
    """True when the 95% confidence intervals of the two means overlap (a difference within noise)."""
    return a.ci_lower <= b.ci_upper and b.ci_lower <= a.ci_upper


def best_model(per_model: Mapping[str, BenchmarkResult], metric: str) -> str:
    """The model with the best mean for `metric` (first one on an exact tie)."""
    sign = 1 if METRIC_DIRECTIONS[check_metric(metric)] == "min" else -1
    return min(per_model, key=lambda name: sign * per_model[name].mean)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-constraints-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_intervals_and_best():
    fast = _make_result("fast", [1.0, 1.1, 0.9], "ms", {})
    slow = _make_result("slow", [2.0, 2.1, 1.9], "ms", {})
    close = _make_result("close", [1.05, 1.15, 0.95], "ms", {})
    assert not intervals_overlap(fast, slow) and intervals_overlap(fast, close)
    assert best_model({"slow": slow, "fast": fast}, "latency") == "fast"
    accuracy = {"a": _make_result("a", [0.9], "fraction", {}), "b": _make_result("b", [0.95], "fraction", {})}
    assert best_model(accuracy, "accuracy") == "b", "accuracy: higher is better"


test_unit_intervals_and_best()

# %% [markdown]
# ### The report
#
# A report is for a reader who was not there when the numbers were taken. So it states the method
# first (how many warm-up calls and measured blocks, how blocks were calibrated, how energy was
# obtained), then the machine, then one table per metric with the 95% interval of each mean, then the
# significance verdict of every model against the first one (from `Benchmark.compare_models`: ratio,
# p-value, faster/slower/no detectable difference), the Pareto set, and recommendations, each of which
# names the constraint it satisfies. `render_report` is a pure function of the results, so the same
# results always give the same text (which is what the golden-text test checks).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-report", "locked": false, "schema_version": 3, "solution": false}
#| export
def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _metric_table(metric: str, per_model: Mapping[str, BenchmarkResult]) -> list[str]:
    unit = METRIC_UNITS[metric]
    direction = "lower" if METRIC_DIRECTIONS[metric] == "min" else "higher"
    lines = [f"### {metric.capitalize()} ({unit}, {direction} is better)", "",
             "| model | mean | 95% CI | median | std | n |", "|---|---|---|---|---|---|"]
    for name, result in per_model.items():
        lines.append(f"| {name} | {_fmt(result.mean)} | [{_fmt(result.ci_lower)}, {_fmt(result.ci_upper)}] | "
                     f"{_fmt(result.median)} | {_fmt(result.std)} | {result.count} |")
    best = best_model(per_model, metric)
    ties = [name for name, result in per_model.items() if name != best and intervals_overlap(result, per_model[best])]
    note = f" (within noise of {', '.join(ties)}: the intervals overlap)" if ties else ""
    return lines + ["", f"Best mean: **{best}**{note}.", ""]


def _comparison_lines(table: pd.DataFrame | None) -> list[str]:
    if table is None:
        return ["Only one model: there is nothing to compare it with.", ""]
    lines = ["| model | ratio to first | p-value | verdict |", "|---|---|---|---|"]
    for row in table.to_dict("records"):
        lines.append(f"| {row['model']} | {_fmt(row.get('ratio'))} | {_fmt(row.get('p_value'))} | {row.get('verdict')} |")
    return lines + [""]


def _qualifying(results: Mapping, constraints: DeploymentConstraints) -> dict[str, list[str]]:
    """Per constraint, the models whose mean satisfies it."""
    accuracy, latency, memory = (results.get(m, {}) for m in ("accuracy", "latency", "memory"))
    names = list(next(iter(results.values())))
    return {"accuracy": [n for n in names if n in accuracy and accuracy[n].mean >= constraints.min_accuracy],
            "latency": [n for n in names if n in latency and latency[n].mean < constraints.max_latency_ms],
            "memory": [n for n in names if n in memory and memory[n].mean < constraints.max_memory_mb]}


def _recommendation_lines(results: Mapping, constraints: DeploymentConstraints) -> list[str]:
    ok = _qualifying(results, constraints)
    floor = f"accuracy >= {constraints.min_accuracy:g}"
    lines = [f"Constraints: {floor}, latency < {constraints.max_latency_ms:g} ms, "
             f"peak memory < {constraints.max_memory_mb:g} MB.", ""]
    for metric, goal in (("latency", "Lowest latency"), ("memory", "Smallest peak memory"), ("energy", "Lowest energy")):
        if metric not in results:
            continue
        pool = {n: results[metric][n] for n in ok["accuracy"] if n in results[metric]}
        if not pool:
            lines.append(f"- {goal} with {floor}: no model meets {floor}.")
            continue
        best = best_model(pool, metric)
        ties = [n for n in pool if n != best and intervals_overlap(pool[n], pool[best])]
        tie_note = f"; within noise of {', '.join(ties)}" if ties else ""
        lines.append(f"- {goal} with {floor}: **{best}** ({_fmt(pool[best].mean)} {METRIC_UNITS[metric]}{tie_note}).")
    budget = [n for n in ok["latency"] if n in ok["memory"]]
    if "accuracy" in results:
        pool = {n: results["accuracy"][n] for n in budget}
        if pool:
            best = best_model(pool, "accuracy")
            lines.append(f"- Highest accuracy within latency < {constraints.max_latency_ms:g} ms and memory < "
                         f"{constraints.max_memory_mb:g} MB: **{best}** ({_fmt(pool[best].mean)}).")
        else:
            lines.append("- Highest accuracy within the latency and memory budgets: no model fits both budgets.")
    every = [n for n in budget if n in ok["accuracy"]]
    lines.append(f"- Models meeting every constraint: {', '.join(every) if every else 'none'}.")
    return lines + [""]


def render_report(results: Mapping[str, Mapping[str, BenchmarkResult]], system_info: Mapping, config: Mapping,
                  comparisons: Mapping[str, pd.DataFrame | None],
                  constraints: DeploymentConstraints = DeploymentConstraints()) -> str:
    """The Markdown benchmark report: method, system, tables, significance, Pareto set, recommendations.

    Args:
        results: metric -> model -> result, as `BenchmarkSuite.results`.
        system_info: the machine description recorded with the results.
        config: the run's settings (`warmup_runs`, `measurement_runs`, ...).
        comparisons: metric -> `compare_models` table (None when there is only one model).
        constraints: the deployment constraints the recommendations must satisfy.
    """
    if not results:
        raise ValueError("no results to report: run run_full_benchmark() or load_results() first")
    models = list(next(iter(results.values())))
    lines = ["# Benchmark Report", "", f"Models: {', '.join(models)}.", "", "## Method", ""]
    lines.append(f"- Latency: {config.get('warmup_runs', 'n/a')} warm-up calls per model, then "
                 f"{config.get('measurement_runs', 'n/a')} measured blocks per model, interleaved round-robin; "
                 f"each block repeats the inference enough times that timer overhead stays under 1% "
                 f"(calls per block: {_calls_per_block(results.get('latency', {}))}); values are ms per inference.")
    lines.append("- Accuracy: fraction of correct predictions, one value per dataset.")
    lines.append("- Memory: peak bytes allocated during one inference (tracemalloc), in its own pass.")
    if "energy" in results:
        lines.append(f"- Energy: {_energy_method(results['energy'])}.")
    lines.append("- Intervals: 95% confidence interval of the mean (Student's t, n-1 degrees of freedom). "
                 "Verdicts: each model against the first, from Benchmark.compare_models.")
    lines += ["", "## System Information", ""]
    lines += [f"- {key}: {_fmt(value)}" for key, value in sorted(system_info.items())]
    lines += ["", "## Results", ""]
    for metric in SUITE_METRICS:
        if metric in results:
            lines += _metric_table(metric, results[metric])
            lines += _comparison_lines(comparisons.get(metric))
    lines += ["## Pareto Set", ""]
    for x_metric in ("latency", "memory", "energy"):
        if x_metric in results and "accuracy" in results:
            front = pareto_front({n: (results[x_metric][n].mean, results["accuracy"][n].mean) for n in models},
                                 (METRIC_DIRECTIONS[x_metric], "max"))
            lines.append(f"- {x_metric} vs accuracy (means): {', '.join(front)}")
    lines += ["", "## Recommendations", ""]
    lines += _recommendation_lines(results, constraints)
    return "\n".join(lines).rstrip() + "\n"


def _calls_per_block(per_model: Mapping[str, BenchmarkResult]) -> str:
    found = {n: r.metadata.get("calls_per_block") for n, r in per_model.items()}
    return ", ".join(f"{n} {_fmt(c)}" for n, c in found.items()) or "n/a"


def _energy_method(per_model: Mapping[str, BenchmarkResult]) -> str:
    first = next(iter(per_model.values())).metadata
    if first.get("method") == "measured":
        return f"measured, {first.get('source')}; {first.get('assumptions')}"
    return (f"estimated, not measured: {first.get('formula')}, with watts_per_core = "
            f"{_fmt(first.get('watts_per_core'))} W (an assumption); {first.get('assumptions')}")

# %% [markdown]
# ### The plots
#
# A bar of means hides the two things a reader most needs: how much the values scatter, and how sure
# we are of the mean. `plot_metric_panel` draws, for each model, every raw value as a dot (spread
# sideways a little so they do not hide each other), a box for the quartiles, and beside it the mean
# with its 95% interval as an error bar. The best model (by mean, in the metric's direction) is drawn
# in green and named in the panel; when its interval overlaps another model's, the panel says so.
# The figures are made with matplotlib's object API on the Agg canvas: no window, no global state,
# so they work on a server.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-plots", "locked": false, "schema_version": 3, "solution": false}
#| export
_BEST_COLOR, _OTHER_COLOR = "#2e7d32", "#5c6bc0"


def plot_metric_panel(ax, metric: str, per_model: Mapping[str, BenchmarkResult]) -> None:
    """Draw one metric's raw values, quartile boxes and 95% intervals per model on `ax`."""
    names = list(per_model)
    best = best_model(per_model, metric)
    jitter = np.random.default_rng(0)  # only spreads the dots sideways; fixed so the figure is reproducible
    for position, name in enumerate(names):
        values = np.asarray(per_model[name].values, dtype=float)
        color = _BEST_COLOR if name == best else _OTHER_COLOR
        ax.boxplot(values, positions=[position], widths=0.35, showfliers=False, patch_artist=True,
                   boxprops={"facecolor": color, "alpha": 0.25, "edgecolor": color},
                   medianprops={"color": color}, whiskerprops={"color": color}, capprops={"color": color})
        ax.scatter(position + jitter.uniform(-0.12, 0.12, values.size), values, s=12, color=color, alpha=0.7,
                   zorder=3, label="raw values" if position == 0 else None)
        result = per_model[name]
        ax.errorbar([position + 0.3], [result.mean], yerr=[[result.mean - result.ci_lower], [result.ci_upper - result.mean]],
                    fmt="D", color="black", markersize=4, capsize=4, zorder=4,
                    label="mean and 95% CI" if position == 0 else None)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n(best)" if n == best else n for n in names], fontsize=8)
    direction = "lower" if METRIC_DIRECTIONS[metric] == "min" else "higher"
    method = per_model[best].metadata.get("method")
    title = f"{metric.capitalize()} ({METRIC_UNITS[metric]}, {direction} is better)"
    ax.set_title(f"{title}, {method}" if method else title, fontsize=10)
    ties = [n for n in names if n != best and intervals_overlap(per_model[n], per_model[best])]
    verdict = f"best: {best}" + (f"\nwithin noise of {', '.join(ties)}" if ties else "")
    ax.text(0.02, 0.97, verdict, transform=ax.transAxes, va="top", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    ax.grid(axis="y", alpha=0.3)


def frontier_staircase(front: Sequence[tuple[float, float]], directions: Sequence[str],
                       xlim: tuple[float, float], ylim: tuple[float, float]) -> list[tuple[float, float]]:
    """The boundary of the region the frontier points dominate, as a staircase from axis edge to axis edge.

    Between two neighbouring frontier points, the boundary keeps the y of the point that dominates that
    stretch of x: the left one when x is minimised (its region extends to the right), the right one when
    x is maximised. The ends run to the plot edges on the worse side of each axis.
    """
    points = sorted(front)
    x_edge = xlim[1] if directions[0] == "min" else xlim[0]
    y_edge = ylim[0] if directions[1] == "max" else ylim[1]
    if directions[0] == "min":
        path = [(points[0][0], y_edge)]
        for (x, y), (next_x, _) in zip(points, points[1:]):
            path += [(x, y), (next_x, y)]
        return path + [points[-1], (x_edge, points[-1][1])]
    path = [(x_edge, points[0][1])]
    for (x, y), (_, next_y) in zip(points, points[1:]):
        path += [(x, y), (x, next_y)]
    return path + [points[-1], (points[-1][0], y_edge)]


def plot_pareto_panel(ax, x_metric: str, y_metric: str, results: Mapping[str, Mapping[str, BenchmarkResult]]) -> list[str]:
    """Draw every model with its intervals, and the Pareto frontier as a staircase; return the frontier."""
    xs, ys = results[x_metric], results[y_metric]
    names = [n for n in xs if n in ys]
    directions = (METRIC_DIRECTIONS[x_metric], METRIC_DIRECTIONS[y_metric])
    front = pareto_front({n: (xs[n].mean, ys[n].mean) for n in names}, directions)
    for name in names:
        on_front = name in front
        ax.errorbar([xs[name].mean], [ys[name].mean],
                    xerr=[[xs[name].mean - xs[name].ci_lower], [xs[name].ci_upper - xs[name].mean]],
                    yerr=[[ys[name].mean - ys[name].ci_lower], [ys[name].ci_upper - ys[name].mean]],
                    fmt="o", markersize=8 if on_front else 6, capsize=4, zorder=3,
                    color=_BEST_COLOR if on_front else "grey")
        ax.annotate(name, (xs[name].mean, ys[name].mean), xytext=(6, 6), textcoords="offset points", fontsize=8)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    path = frontier_staircase([(xs[n].mean, ys[n].mean) for n in front], directions, xlim, ylim)
    ax.plot(*zip(*path), color=_BEST_COLOR, linewidth=2, alpha=0.8, label="Pareto frontier", zorder=2)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    for axis_label, metric in ((ax.set_xlabel, x_metric), (ax.set_ylabel, y_metric)):
        direction = "lower" if METRIC_DIRECTIONS[metric] == "min" else "higher"
        axis_label(f"{metric} ({METRIC_UNITS[metric]}, {direction} is better)")
    ax.set_title(f"Pareto frontier: {x_metric} vs {y_metric} (error bars: 95% CI)", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return front

# %% [markdown]
# ### `BenchmarkSuite`
#
# The suite puts the pieces together. Nothing is written at construction: the output folder appears
# the first time a file is saved. A model that fails stops the run with a `BenchmarkError` naming it,
# and `results` keeps what it held before (never half a run). Energy blocks are sized from the measured
# latency so that each lasts about `energy_block_seconds` (long enough for a RAPL counter to tick many
# times, and for the CPU clock to resolve it).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite", "locked": false, "schema_version": 3, "solution": false}
#| export
class BenchmarkSuite:
    """Latency, accuracy, memory and energy for several models, with plots, a report and saved results.

    Args:
        models: the models, as for `Benchmark` (names from `model.name`, else `model_{i}`).
        datasets: labelled datasets, as for `Benchmark`.
        output_dir: where files go; created only when something is written.
        progress: show a progress display on stderr while measuring.
        watts_per_core: assumed power of one busy core, used only when energy cannot be measured.
        warmup_runs: warm-up calls per model before timing.
        measurement_runs: measured latency blocks per model (also the energy blocks).
        input_shape: shape of the latency/memory/energy input; default: one sample of the first dataset.
        energy_block_seconds: target duration of one energy block.
        energy_meter: the `EnergyMeter` (default: RAPL where readable, else the CPU-time estimate).
    """

    def __init__(self, models: Sequence[Any], datasets: Sequence[Any], output_dir: str | Path = "benchmark_results",
                 progress: bool = True, watts_per_core: float = DEFAULT_WATTS_PER_CORE, *, warmup_runs: int = 5,
                 measurement_runs: int = 10, input_shape: tuple[int, ...] | None = None,
                 energy_block_seconds: float = 0.05, energy_meter: EnergyMeter | None = None):
        self.benchmark = Benchmark(models, datasets, warmup_runs=warmup_runs, measurement_runs=measurement_runs)
        self.models, self.datasets = list(models), list(datasets)
        self.output_dir = Path(output_dir)
        self.progress = bool(progress)
        self.energy_meter = energy_meter or EnergyMeter(watts_per_core)
        self.input_shape = tuple(input_shape) if input_shape is not None else _input_shape_of(self.datasets)
        self.energy_block_seconds = float(energy_block_seconds)
        self.config = {"warmup_runs": warmup_runs, "measurement_runs": measurement_runs,
                       "input_shape": list(self.input_shape), "energy_block_seconds": self.energy_block_seconds,
                       "watts_per_core": self.energy_meter.watts_per_core}
        self.system_info = dict(self.benchmark.system_info)
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    def run_full_benchmark(self) -> dict[str, dict[str, BenchmarkResult]]:
        """Measure latency, accuracy, memory and energy of every model; return metric -> model -> result."""
        steps = [("latency", lambda done: self.benchmark.run_latency_benchmark(input_shape=self.input_shape)),
                 ("accuracy", lambda done: self.benchmark.run_accuracy_benchmark()),
                 ("memory", lambda done: self.benchmark.run_memory_benchmark(input_shape=self.input_shape)),
                 ("energy", lambda done: self._run_energy(done["latency"]))]
        results: dict[str, dict[str, BenchmarkResult]] = {}
        with _progress_display(self.progress, len(steps)) as advance:
            for metric, run in steps:
                advance(f"measuring {metric}")
                results[metric] = dict(run(results))
        self.results = results
        return results

    def _run_energy(self, latency: Mapping[str, BenchmarkResult]) -> dict[str, BenchmarkResult]:
        sample = _sample_input(self.input_shape)
        runs = {name: (lambda model=model: _invoke(model, sample)) for name, model in zip(latency, self.models)}
        calls = {name: max(1, math.ceil(self.energy_block_seconds * 1e3 / max(result.mean, 1e-6)))
                 for name, result in latency.items()}
        return measure_energy(runs, calls, blocks=self.benchmark.measurement_runs, meter=self.energy_meter)

    def _require_results(self) -> dict[str, dict[str, BenchmarkResult]]:
        if not self.results:
            raise ValueError("no results yet: call run_full_benchmark() or load_results(path) first")
        return self.results

    def _require_metric(self, metric: str) -> dict[str, BenchmarkResult]:
        check_metric(metric)
        results = self._require_results()
        if metric not in results:
            raise ValueError(f"no {metric} results; this suite holds {', '.join(results)}")
        return results[metric]

    def plot_results(self, save_plots: bool = True) -> Figure:
        """One panel per metric: raw values, spread and 95% interval per model, the best highlighted.

        Saves `benchmark_comparison.png` in `output_dir` when `save_plots` is true. Returns the figure.
        """
        results = self._require_results()
        metrics = [m for m in SUITE_METRICS if m in results]
        columns = 2 if len(metrics) > 1 else 1
        rows = math.ceil(len(metrics) / columns)
        figure = Figure(figsize=(6.5 * columns, 4.5 * rows), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for ax, metric in zip(axes, metrics):
            plot_metric_panel(ax, metric, results[metric])
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
        figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
        figure.suptitle("Benchmark results: every raw value, its spread, and the 95% interval of the mean")
        if save_plots:
            _write_atomic(self.output_dir / "benchmark_comparison.png",
                          lambda path: figure.savefig(path, format="png", dpi=110))
        return figure

    def pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> list[str]:
        """The models no other model beats on both metrics (by their means), each metric's direction respected."""
        xs, ys = self._require_metric(x_metric), self._require_metric(y_metric)
        if x_metric == y_metric:
            raise ValueError(f"x_metric and y_metric are both {x_metric!r}; a trade-off needs two different metrics")
        points = {name: (xs[name].mean, ys[name].mean) for name in xs if name in ys}
        return pareto_front(points, (METRIC_DIRECTIONS[x_metric], METRIC_DIRECTIONS[y_metric]))

    def plot_pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> Figure:
        """Plot the two metrics with 95% intervals and the frontier as a staircase; save `pareto_<x>_vs_<y>.png`."""
        self.pareto_frontier(x_metric, y_metric)  # validates both metrics
        figure = Figure(figsize=(7, 5.5), layout="constrained")
        FigureCanvasAgg(figure)
        plot_pareto_panel(figure.subplots(), x_metric, y_metric, self.results)
        _write_atomic(self.output_dir / f"pareto_{x_metric}_vs_{y_metric}.png",
                      lambda path: figure.savefig(path, format="png", dpi=110))
        return figure

    def comparison(self, metric: str) -> pd.DataFrame | None:
        """`Benchmark.compare_models` for one metric of these results (None for a single model)."""
        per_model = self._require_metric(metric)
        if len(per_model) < 2:
            return None
        return _compare_results(self.benchmark, metric, per_model)

    def generate_report(self, constraints: DeploymentConstraints = DeploymentConstraints()) -> str:
        """The Markdown report (see `render_report`), also written atomically to `benchmark_report.md`."""
        results = self._require_results()
        comparisons = {metric: self.comparison(metric) for metric in results}
        report = render_report(results, self.system_info, self.config, comparisons, constraints)
        _write_atomic(self.output_dir / "benchmark_report.md", lambda path: path.write_text(report, encoding="utf-8"))
        return report

    def save_results(self, path: str | Path | None = None) -> Path:
        """Write every raw value, the system information and the settings as versioned JSON (atomically)."""
        data = results_to_json(self._require_results(), self.system_info, self.config)
        text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
        target = Path(path) if path is not None else self.output_dir / "benchmark_results.json"
        return _write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def load_results(self, path: str | Path) -> dict[str, dict[str, BenchmarkResult]]:
        """Replace `results` (and the system information) by those saved in `path`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise FileNotFoundError(f"results file {path} does not exist; write one with save_results()") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"results file {path} is corrupt (not valid JSON: {error}); "
                             f"re-run the benchmark and save it again") from error
        results, system_info, config = results_from_json(data, source=f"results file {path}")
        self.results, self.system_info, self.config = results, system_info, {**self.config, **config}
        return results

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite-helpers", "locked": false, "schema_version": 3, "solution": false}
#| export
@contextmanager
def _progress_display(enabled: bool, total: int):
    """Yield `advance(description)`; shows a rich progress bar on stderr when enabled."""
    if not enabled:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("starting", total=total)
        state = {"started": False}

        def advance(description: str) -> None:
            if state["started"]:
                progress.advance(task)
            state["started"] = True
            progress.update(task, description=description)

        yield advance
        progress.advance(task)


def _input_shape_of(datasets: Sequence[Any]) -> tuple[int, ...]:
    """Batch-of-one shape of the first dataset's inputs."""
    inputs = _dataset_inputs(datasets[0]) if datasets else None
    if inputs is None:
        raise ValueError("cannot tell the input shape from the datasets; pass input_shape=(1, ...)")
    return (1, *np.asarray(inputs).shape[1:])


def _dataset_inputs(dataset: Any):
    if isinstance(dataset, Mapping):
        for key in ("inputs", "x", "X", "images", "data"):
            if key in dataset:
                return dataset[key]
        return None
    if isinstance(dataset, tuple) and len(dataset) == 2:
        return dataset[0]
    return None


def _sample_input(input_shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Seeded, deterministic input of `input_shape` (as the latency benchmark uses)."""
    return np.random.default_rng(seed).random(input_shape).astype(np.float32)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-suite-tests", "locked": false, "schema_version": 3, "solution": false}
class _TinyLinearModel:
    """A seeded linear classifier on flattened 8x8 inputs: small, real, and fast to benchmark."""

    def __init__(self, name: str, hidden: int, seed: int):
        rng = np.random.default_rng(seed)
        self.name = name
        self.w1 = rng.standard_normal((64, hidden)).astype(np.float32)
        self.w2 = rng.standard_normal((hidden, 10)).astype(np.float32)

    def forward(self, x):
        flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        return np.maximum(flat @ self.w1, 0) @ self.w2

    def parameters(self) -> list[np.ndarray]:
        return [self.w1, self.w2]


def test_unit_benchmark_suite():
    import tempfile as _tempfile
    rng = np.random.default_rng(1)
    data = (rng.random((40, 8, 8)).astype(np.float32), rng.integers(0, 10, 40))
    models = [_TinyLinearModel("small", 8, 0), _TinyLinearModel("wide", 64, 1)]
    with _tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results"
        suite = BenchmarkSuite(models, [data], output_dir=out, progress=False, warmup_runs=1,
                               measurement_runs=3, energy_block_seconds=0.001)
        assert not out.exists(), "nothing is written at construction"
        results = suite.run_full_benchmark()
        assert set(results) == {"latency", "accuracy", "memory", "energy"}
        assert all(set(per_model) == {"small", "wide"} for per_model in results.values())
        assert results["energy"]["small"].metadata["method"] in ("measured", "estimated")
        report = suite.generate_report()
        for heading in ("Benchmark Report", "System Information", "Recommendations", "Pareto Set"):
            assert heading in report
        assert (out / "benchmark_report.md").read_text() == report
        suite.plot_results()
        suite.plot_pareto_frontier()
        assert (out / "benchmark_comparison.png").stat().st_size > 10_000
        assert (out / "pareto_latency_vs_accuracy.png").exists()
        try:
            suite.pareto_frontier("speed", "accuracy")
        except ValueError as error:
            assert "speed" in str(error)
        else:
            raise AssertionError("an unknown metric must raise ValueError")


test_unit_benchmark_suite()

# %% [markdown]
# ## Comparing optimizations
#
# `compare_optimization_techniques(base, optimized, datasets)` benchmarks the base model and its
# optimized versions together (one suite, models interleaved), then expresses every optimized model
# relative to the base:
#
# - `latency_speedup = base latency / optimized latency` (above 1 means faster), likewise
#   `memory_speedup` (peak memory) and `energy_speedup`; `accuracy_retention = optimized accuracy /
#   base accuracy`.
# - `accuracy_per_mb` and `accuracy_per_ms`: accuracy bought per unit of resource.
# - Each ratio comes with `<name>_significant` and `<name>_p_value`. A ratio of 1.07 whose p-value is
#   0.4 is not a speed-up; it is noise, and the recommendation treats it as such.
#
# Recommendations are chosen by stated rules over those measurements: the fastest (or smallest)
# model among those with a significant improvement that keep at least `min_accuracy_retention` of the
# base accuracy; the best accuracy retention; and for balance the highest geometric mean of the
# significant improvements. When no optimized model qualifies, the recommendation is the base model,
# and the reason says why.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-noise", "locked": false, "schema_version": 3, "solution": false}
#| export
def difference_test(base: BenchmarkResult, other: BenchmarkResult, alpha: float = 0.05) -> dict:
    """Is the difference between two results more than measurement noise?

    A difference counts only when the two 95% intervals of the mean do not overlap *and* Welch's t-test
    (where both have at least two values and some spread) gives p < alpha. Results without any spread
    (memory is often exactly repeatable) differ exactly when their values differ.

    Returns:
        `{"significant": bool, "p_value": float | None, "test": str}`.
    """
    spread = base.std > 0 or other.std > 0
    if base.count >= 2 and other.count >= 2 and spread:
        p_value = float(stats.ttest_ind(base.values, other.values, equal_var=False).pvalue)
        significant = p_value < alpha and not intervals_overlap(base, other)
        return {"significant": bool(significant), "p_value": p_value, "test": "Welch t-test and 95% CI overlap"}
    if not spread:
        return {"significant": base.mean != other.mean, "p_value": None, "test": "no spread: exact comparison"}
    return {"significant": not intervals_overlap(base, other), "p_value": None,
            "test": "95% CI overlap (too few values for a test)"}

# %% nbgrader={"grade": false, "grade_id": "benchmarking-noise-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_difference_test():
    base = _make_result("b", [10.0, 10.4, 9.6, 10.2, 9.8], "ms", {})
    noisy = _make_result("n", [9.9, 10.5, 9.5, 10.1, 9.7], "ms", {})
    faster = _make_result("f", [5.0, 5.2, 4.8, 5.1, 4.9], "ms", {})
    assert not difference_test(base, noisy)["significant"], "a 1% change inside the noise is not a speed-up"
    assert difference_test(base, faster)["significant"] and difference_test(base, faster)["p_value"] < 0.05
    exact = difference_test(_make_result("m", [2.0, 2.0], "MB", {}), _make_result("m", [1.0, 1.0], "MB", {}))
    assert exact["significant"] and exact["p_value"] is None


test_unit_difference_test()

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare-optimizations", "locked": false, "schema_version": 3, "solution": false}
#| export
_USE_CASES = {
    "for_latency_critical": "real-time inference with a strict per-request deadline",
    "for_memory_constrained": "microcontrollers, phones and other devices with little memory",
    "for_accuracy_preservation": "applications where quality cannot drop",
    "for_balanced_deployment": "general deployment with several constraints at once",
}


def compare_optimization_techniques(base_model: Any, optimized_models: Sequence[Any], datasets: Sequence[Any], *,
                                    min_accuracy_retention: float = 0.99, **suite_options: Any) -> dict[str, Any]:
    """Benchmark a base model and its optimized versions together; report ratios, significance, picks.

    Args:
        base_model: the unoptimized model.
        optimized_models: one or more optimized versions (distinct names, none equal to the base's).
        datasets: labelled datasets, as for `Benchmark`.
        min_accuracy_retention: the least fraction of the base accuracy a recommended model may keep.
        **suite_options: passed to `BenchmarkSuite` (e.g. `measurement_runs`, `input_shape`).

    Returns:
        Keys `base_model, base_metrics, optimized_results, improvements, efficiency_metrics,
        recommendations` (and `results`, the raw `BenchmarkResult`s).
    """
    optimized_models = list(optimized_models)
    if not optimized_models:
        raise ValueError("compare_optimization_techniques needs at least one optimized model to compare with the base")
    suite_options.setdefault("progress", False)
    suite = BenchmarkSuite([base_model, *optimized_models], datasets, **suite_options)
    results = suite.run_full_benchmark()
    names = list(results["latency"])  # exact names, in the order given: the base first
    base_name, optimized_names = names[0], names[1:]
    means = {name: {metric: results[metric][name].mean for metric in results} for name in names}
    improvements = {name: _improvements(results, base_name, name) for name in optimized_names}
    efficiency = {name: {"accuracy_per_mb": means[name]["accuracy"] / means[name]["memory"],
                         "accuracy_per_ms": means[name]["accuracy"] / means[name]["latency"]} for name in names}
    return {"base_model": base_name, "base_metrics": means[base_name],
            "optimized_results": {name: means[name] for name in optimized_names},
            "improvements": improvements, "efficiency_metrics": efficiency,
            "recommendations": _recommend(base_name, improvements, min_accuracy_retention),
            "results": results}


def _improvements(results: Mapping, base: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric, key in (("latency", "latency_speedup"), ("memory", "memory_speedup"), ("energy", "energy_speedup"),
                        ("accuracy", "accuracy_retention")):
        base_result, result = results[metric][base], results[metric][name]
        ratio = result.mean / base_result.mean if metric == "accuracy" else base_result.mean / result.mean
        test = difference_test(base_result, result)
        out[key], out[f"{key}_significant"], out[f"{key}_p_value"] = ratio, test["significant"], test["p_value"]
    return out


def _recommend(base: str, improvements: Mapping[str, Mapping], min_retention: float) -> dict[str, dict]:
    keep = {n: i for n, i in improvements.items() if i["accuracy_retention"] >= min_retention}
    floor = f"keeps >= {min_retention:.0%} of the base accuracy"

    def effective(i: Mapping, key: str) -> float:  # a ratio inside the noise counts as no change
        return i[key] if i[f"{key}_significant"] else 1.0

    picks = {}
    for slot, key, what in (("for_latency_critical", "latency_speedup", "faster"),
                            ("for_memory_constrained", "memory_speedup", "smaller in peak memory")):
        better = {n: i for n, i in keep.items() if i[f"{key}_significant"] and i[key] > 1}
        if better:
            name = max(better, key=lambda n: better[n][key])
            reason = f"{better[name][key]:.2f}x {what} than the base (significant) and {floor}"
        else:
            name, reason = base, f"no optimized model that {floor} is significantly {what} than the base"
        picks[slot] = {"model": name, "reason": reason, "use_case": _USE_CASES[slot]}
    name = max(improvements, key=lambda n: improvements[n]["accuracy_retention"])
    retention = improvements[name]
    change = "a significant change" if retention["accuracy_retention_significant"] else "within noise of the base"
    picks["for_accuracy_preservation"] = {"model": name, "use_case": _USE_CASES["for_accuracy_preservation"],
                                          "reason": f"highest accuracy retention, {retention['accuracy_retention']:.1%} of the base ({change})"}
    scores = {n: math.prod(effective(i, k) for k in ("latency_speedup", "memory_speedup", "energy_speedup")) ** (1 / 3)
              for n, i in keep.items()}
    if scores and max(scores.values()) > 1:
        name = max(scores, key=scores.get)
        reason = f"highest geometric mean of significant speed-ups ({scores[name]:.2f}) among models that {floor}"
    else:
        name, reason = base, f"no optimized model that {floor} improves anything significantly"
    picks["for_balanced_deployment"] = {"model": name, "reason": reason, "use_case": _USE_CASES["for_balanced_deployment"]}
    return picks

# %% nbgrader={"grade": false, "grade_id": "benchmarking-compare-optimizations-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_recommend_respects_noise():
    improvements = {
        "noisy": {"latency_speedup": 1.05, "latency_speedup_significant": False, "memory_speedup": 1.0,
                  "memory_speedup_significant": False, "energy_speedup": 1.0, "energy_speedup_significant": False,
                  "accuracy_retention": 1.0, "accuracy_retention_significant": False},
        "int8": {"latency_speedup": 0.9, "latency_speedup_significant": True, "memory_speedup": 3.5,
                 "memory_speedup_significant": True, "energy_speedup": 0.9, "energy_speedup_significant": True,
                 "accuracy_retention": 0.995, "accuracy_retention_significant": False},
    }
    picks = _recommend("base", improvements, 0.99)
    assert picks["for_latency_critical"]["model"] == "base", "a speed-up inside the noise wins nothing"
    assert picks["for_memory_constrained"]["model"] == "int8"
    assert set(picks["for_balanced_deployment"]) == {"model", "reason", "use_case"}


test_unit_recommend_respects_noise()

# %% [markdown]
# ## Ablations, and the order of combined optimizations
#
# An **ablation** applies optimizations one at a time and measures after each, so every change in the
# table has one cause. Applied cumulatively, `quantize` then `prune` gives three models: the base,
# base+quantize, base+quantize+prune, each benchmarked in the same run.
#
# Order matters because each step sees the result of the one before. Pruning by magnitude after int8
# quantization ranks weights by their *rounded* values, so near-ties are broken differently; quantizing
# after pruning computes its scales from the weights that survived. Either order may win; the
# only way to know is to measure both, which `compare_ablation_orders` does (all stages of both
# orders in one suite, so they share the machine's conditions).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-ablation", "locked": false, "schema_version": 3, "solution": false}
#| export
_ABLATION_COLUMNS = [("latency", "latency_ms"), ("accuracy", "accuracy"), ("memory", "memory_mb"), ("energy", "energy_j")]


def _check_steps(steps: Sequence[tuple[str, Callable]]) -> list[tuple[str, Callable]]:
    steps = list(steps)
    if not steps:
        raise ValueError("an ablation needs at least one (name, function) step, e.g. [('quantize', quantize_model)]")
    for step in steps:
        if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str) and callable(step[1])):
            raise TypeError(f"each step must be a (name, function) pair, got {step!r}")
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"step names must be unique, got {names}")
    return steps


def _model_size_mb(model: Any) -> float | None:
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return None
    return sum(int(np.asarray(getattr(p, "data", p)).nbytes) for p in parameters()) / 1e6


def _build_stages(base_model: Any, base_name: str, steps: Sequence[tuple[str, Callable]]) -> list[tuple[str, str, Any]]:
    """(stage name, step name, model) for the base and each cumulative step."""
    stages, model, name = [(base_name, "base", base_model)], base_model, base_name
    for step_name, apply in steps:
        new_model = apply(model)
        if new_model is model or new_model is None:
            raise ValueError(f"step {step_name!r} must return a new model (it returned "
                             f"{'None' if new_model is None else 'its input'}); copy the model before changing it")
        name = f"{name}+{step_name}"
        new_model.name = name
        stages.append((name, step_name, new_model))
        model = new_model
    return stages


def _ablation_rows(stages: Sequence[tuple[str, str, Any]], results: Mapping, order: str) -> list[dict]:
    rows, previous = [], None
    for index, (name, step, model) in enumerate(stages):
        row = {"order": order, "stage": index, "step": step, "model": name}
        for metric, column in _ABLATION_COLUMNS:
            row[column] = results[metric][name].mean
        row["latency_ci_low"], row["latency_ci_high"] = results["latency"][name].ci_lower, results["latency"][name].ci_upper
        row["model_size_mb"] = _model_size_mb(model)
        for column in [c for _, c in _ABLATION_COLUMNS] + ["model_size_mb"]:
            before = previous[column] if previous else None
            row[f"delta_{column}"] = None if before is None or row[column] is None else row[column] - before
        row["latency_change_significant"] = (None if previous is None else
                                             difference_test(results["latency"][previous["model"]], results["latency"][name])["significant"])
        rows.append(row)
        previous = row
    return rows


def run_ablation(base_model: Any, steps: Sequence[tuple[str, Callable]], datasets: Sequence[Any],
                 **suite_options: Any) -> pd.DataFrame:
    """Apply `steps` cumulatively to `base_model`, benchmark every stage together, tabulate metrics and deltas.

    Args:
        base_model: the starting model (not modified, as long as each step returns a new model).
        steps: `(name, function)` pairs; each function takes a model and returns a new one.
        datasets: labelled datasets, as for `Benchmark`.
        **suite_options: passed to `BenchmarkSuite`.

    Returns:
        One row per stage: means, the latency interval, model size, and deltas from the previous stage.
    """
    return compare_ablation_orders(base_model, steps, datasets, orders=[[name for name, _ in _check_steps(steps)]],
                                   **suite_options)


def compare_ablation_orders(base_model: Any, steps: Sequence[tuple[str, Callable]], datasets: Sequence[Any],
                            orders: Sequence[Sequence[str]] | None = None, **suite_options: Any) -> pd.DataFrame:
    """Run the same steps in several orders (default: as given, and reversed), all measured in one suite.

    Returns:
        The ablation rows of every order, with an `order` column such as `"quantize -> prune"`.
    """
    steps = _check_steps(steps)
    by_name = dict(steps)
    orders = [list(o) for o in (orders or [list(by_name), list(reversed(list(by_name)))])]
    for order in orders:
        if sorted(order) != sorted(by_name):
            raise ValueError(f"order {order} must use each step of {list(by_name)} exactly once")
    if not getattr(base_model, "name", None):  # stage names derive from the base's name; do not touch the caller's model
        base_model = copy.deepcopy(base_model)
        base_model.name = "base"
    base_name = base_model.name
    staged = [(" -> ".join(order), _build_stages(base_model, base_name, [(n, by_name[n]) for n in order]))
              for order in orders]
    models = {name: model for _, stages in staged for name, _, model in stages}
    suite_options.setdefault("progress", False)
    results = BenchmarkSuite(list(models.values()), datasets, **suite_options).run_full_benchmark()
    rows = [row for label, stages in staged for row in _ablation_rows(stages, results, label)]
    return pd.DataFrame(rows)

# %% nbgrader={"grade": false, "grade_id": "benchmarking-ablation-tests", "locked": false, "schema_version": 3, "solution": false}
def _halve_precision(model: _TinyLinearModel) -> _TinyLinearModel:
    smaller = copy.deepcopy(model)
    smaller.w1, smaller.w2 = model.w1.astype(np.float16), model.w2.astype(np.float16)
    return smaller


def _drop_small_weights(model: _TinyLinearModel) -> _TinyLinearModel:
    pruned = copy.deepcopy(model)
    pruned.w1 = np.where(np.abs(model.w1) < np.median(np.abs(model.w1)), 0, model.w1).astype(model.w1.dtype)
    return pruned


def test_unit_ablation_orders():
    rng = np.random.default_rng(2)
    data = (rng.random((30, 8, 8)).astype(np.float32), rng.integers(0, 10, 30))
    table = compare_ablation_orders(_TinyLinearModel("tiny", 16, 3), [("half", _halve_precision), ("drop", _drop_small_weights)],
                                    [data], warmup_runs=1, measurement_runs=3, energy_block_seconds=0.001)
    assert list(table["order"].unique()) == ["half -> drop", "drop -> half"]
    assert list(table["model"][:3]) == ["tiny", "tiny+half", "tiny+half+drop"]
    assert table["delta_latency_ms"].isna().sum() == 2, "the base row of each order has no delta"
    sizes = table["model_size_mb"].tolist()
    assert np.isclose(sizes[0], (64 * 16 + 16 * 10) * 4 / 1e6) and np.isclose(sizes[1], sizes[0] / 2), "float16 halves it"


test_unit_ablation_orders()

# %% [markdown]
# ## How many runs? `optimize_benchmark_configuration`
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
# The recommendation is that warm-up, and `max(settle point, n for the interval)` measured runs. The
# function returns the figures it used, so the recommendation can be checked. The clock is a
# parameter: tests run it on a fake clock.

# %% nbgrader={"grade": false, "grade_id": "benchmarking-configuration", "locked": false, "schema_version": 3, "solution": false}
#| export
def _runs_for_ci_target(values: np.ndarray, ci_target: float, limit: int = 100_000) -> int:
    mean, spread = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if spread == 0:
        return 2
    for n in range(2, limit + 1):
        if stats.t.ppf(0.975, n - 1) * spread / math.sqrt(n) <= ci_target * mean:
            return n
    return limit


def _settle_index(values: np.ndarray, tolerance: float) -> int:
    """1-based count after which the running median stays within `tolerance` of its final value."""
    running = np.array([np.median(values[: j + 1]) for j in range(len(values))])
    outside = np.abs(running - running[-1]) > tolerance * abs(running[-1])
    return int(np.nonzero(outside)[0][-1] + 2) if outside.any() else 1


def optimize_benchmark_configuration(model: Any, sample: Any = None, *, input_shape: tuple[int, ...] = (1, 8, 8),
                                     max_runs: int = 60, calls_per_block: int | None = None, tolerance: float = 0.05,
                                     ci_target: float = 0.02, clock: Callable[[], int] = time.perf_counter_ns) -> dict:
    """Recommend warm-up and measured run counts for `model`, from a measurement of its own timings.

    Args:
        model: the model (`forward`, `predict` or callable).
        sample: the input; default a seeded input of `input_shape`.
        max_runs: blocks to time (at least 10).
        calls_per_block: calls per block; default: doubled until a block lasts at least 1 ms.
        tolerance: relative band for "settled" (0.05 = within 5%).
        ci_target: wanted half-width of the 95% interval, relative to the mean.
        clock: nanosecond clock (a parameter so tests can use a fake one).

    Returns:
        `recommended_warmup_runs`, `recommended_measurement_runs` and the figures behind them.
    """
    if max_runs < 10:
        raise ValueError(f"max_runs={max_runs} is too few to see a warm-up and a steady state; use at least 10")
    if not (0 < tolerance < 1 and 0 < ci_target < 1):
        raise ValueError(f"tolerance={tolerance} and ci_target={ci_target} must be fractions in (0, 1), e.g. 0.05")
    sample = _sample_input(tuple(input_shape)) if sample is None else sample
    calls = calls_per_block or _calibrate_calls(model, sample, clock)
    values = np.array([_time_block(model, sample, calls, clock) for _ in range(max_runs)])
    steady = values[max_runs // 2:]
    median, mad = float(np.median(steady)), float(stats.median_abs_deviation(steady))
    band = max(tolerance * median, 3 * 1.4826 * mad)
    inside = np.abs(values - median) <= band
    warmup = int(np.argmax(inside)) if inside.any() else max_runs // 2
    settled = _settle_index(values[warmup:], tolerance)
    runs_ci = _runs_for_ci_target(values[warmup:], ci_target)
    return {"recommended_warmup_runs": warmup, "recommended_measurement_runs": max(settled, runs_ci, 3),
            "calls_per_block": calls, "values_ms": values.tolist(), "steady_median_ms": median, "steady_mad_ms": mad,
            "steady_band_ms": band, "median_settles_after": settled, "runs_for_ci_target": runs_ci,
            "coefficient_of_variation": float(np.std(values[warmup:], ddof=1) / np.mean(values[warmup:])),
            "tolerance": tolerance, "ci_target": ci_target}


def _time_block(model: Any, sample: Any, calls: int, clock: Callable[[], int]) -> float:
    start = clock()
    for _ in range(calls):
        _invoke(model, sample)
    return (clock() - start) / calls / 1e6


def _calibrate_calls(model: Any, sample: Any, clock: Callable[[], int], min_block_ns: int = 1_000_000) -> int:
    calls = 1
    while calls < 1_000_000 and _time_block(model, sample, calls, clock) * 1e6 * calls < min_block_ns:
        calls *= 2
    return calls

# %% nbgrader={"grade": false, "grade_id": "benchmarking-configuration-tests", "locked": false, "schema_version": 3, "solution": false}
class _FakeModelClock:
    """A fake nanosecond clock; the model advances it by a scripted cost per call."""

    def __init__(self, costs_ns: list[int]):
        self.now, self.costs, self.calls = 0, costs_ns, 0

    def __call__(self) -> int:
        return self.now

    def model(self, x):
        self.now += self.costs[min(self.calls, len(self.costs) - 1)]
        self.calls += 1
        return np.zeros((1, 10))


def test_unit_optimize_configuration():
    # Four slow (cold) blocks of 10 calls, then a steady 100 us per call with a little alternation.
    costs = [300_000] * 40 + [100_000 + (i % 2) * 2_000 for i in range(1000)]
    fake = _FakeModelClock(costs)
    config = optimize_benchmark_configuration(fake.model, np.zeros((1, 8, 8)), max_runs=30, calls_per_block=10,
                                              clock=fake)
    assert config["recommended_warmup_runs"] == 4, config["values_ms"][:6]
    assert abs(config["steady_median_ms"] - 0.101) < 1e-9
    assert config["recommended_measurement_runs"] >= 3


test_unit_optimize_configuration()

# %% [markdown]
# ## The TorchPerf Olympics: scoring an entry
#
# Each event has an objective and constraints, kept as data in `OLYMPIC_RULES`:
#
# | event | objective | constraints | score (1.0 = the baseline) |
# |---|---|---|---|
# | latency sprint | minimize latency | accuracy >= 0.85 | baseline latency / entry latency |
# | memory challenge | minimize peak memory | accuracy >= 0.85 | baseline memory / entry memory |
# | accuracy contest | maximize accuracy | latency < 100 ms, memory < 10 MB | entry accuracy / baseline accuracy |
# | all-around | balance | none | geometric mean of the latency, memory, energy and accuracy ratios |
# | extreme push | most aggressive reduction | accuracy >= 0.80 | latency ratio x memory ratio |
#
# `score_olympic_event(event, baseline, candidate)` takes two dicts of measurements
# (`{"latency": BenchmarkResult, "accuracy": ..., ...}`) and returns `(valid, score, reasons)`.
# An entry that breaks a constraint, or lacks a measurement the event needs, is invalid and scores 0.
# Every ratio goes through `difference_test` first: **a difference inside the measurement noise
# counts as 1.0**, so an entry cannot win a medal with a lucky run. Constraints are judged on the
# measured mean, and the reasons say by how much each was met or missed.
#
# **Exercise (Task 19.C):** implement `check_olympic_constraints(rules, candidate)`: return one reason
# per broken or unmeasurable constraint (an empty list means the entry is valid).

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-rules", "locked": false, "schema_version": 3, "solution": false}
#| export
@dataclass(frozen=True)
class OlympicRules:
    """An event's objective and constraints, as data.

    Attributes:
        event: the event.
        objective: what is optimized, in words.
        metrics: the measurements the score uses (ratios against the baseline).
        min_accuracy: accuracy floor, or None.
        max_latency_ms: latency ceiling (strict), or None.
        max_memory_mb: peak-memory ceiling (strict), or None.
    """

    event: OlympicEvent
    objective: str
    metrics: tuple[str, ...]
    min_accuracy: float | None = None
    max_latency_ms: float | None = None
    max_memory_mb: float | None = None


OLYMPIC_RULES = {
    OlympicEvent.LATENCY_SPRINT: OlympicRules(OlympicEvent.LATENCY_SPRINT, "minimize latency", ("latency",), min_accuracy=0.85),
    OlympicEvent.MEMORY_CHALLENGE: OlympicRules(OlympicEvent.MEMORY_CHALLENGE, "minimize peak memory", ("memory",), min_accuracy=0.85),
    OlympicEvent.ACCURACY_CONTEST: OlympicRules(OlympicEvent.ACCURACY_CONTEST, "maximize accuracy", ("accuracy",),
                                                max_latency_ms=100.0, max_memory_mb=10.0),
    OlympicEvent.ALL_AROUND: OlympicRules(OlympicEvent.ALL_AROUND, "best balance: geometric mean of all ratios",
                                          ("latency", "memory", "energy", "accuracy")),
    OlympicEvent.EXTREME_PUSH: OlympicRules(OlympicEvent.EXTREME_PUSH, "most aggressive reduction: latency ratio x memory ratio",
                                            ("latency", "memory"), min_accuracy=0.80),
}


def olympic_rules(event: OlympicEvent | str) -> OlympicRules:
    """The rules of an event, given as an `OlympicEvent` or its value such as `"latency_sprint"`."""
    try:
        return OLYMPIC_RULES[OlympicEvent(event)]
    except ValueError as error:
        raise ValueError(f"unknown Olympic event {event!r}; choose one of {[e.value for e in OlympicEvent]}") from error

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-constraints", "locked": false, "schema_version": 3, "solution": true}
#| export
def check_olympic_constraints(rules: OlympicRules, candidate: Mapping[str, BenchmarkResult]) -> list[str]:
    """One reason per constraint of `rules` that `candidate` breaks or cannot show (empty: all met).

    Constraints are judged on the mean: accuracy must be >= `min_accuracy`, latency < `max_latency_ms`,
    memory < `max_memory_mb`. A constraint on a metric the candidate lacks is a broken constraint.
    """
    # Task 19.C: check each constraint that is set; say what was measured and what was needed.
    ### BEGIN SOLUTION
    checks = [("accuracy", rules.min_accuracy, lambda value, limit: value >= limit, ">="),
              ("latency", rules.max_latency_ms, lambda value, limit: value < limit, "<"),
              ("memory", rules.max_memory_mb, lambda value, limit: value < limit, "<")]
    reasons = []
    for metric, limit, holds, sign in checks:
        if limit is None:
            continue
        if metric not in candidate:
            reasons.append(f"no {metric} measurement, but the event needs {metric} {sign} {limit:g}")
        elif not holds(candidate[metric].mean, limit):
            reasons.append(f"{metric} {candidate[metric].mean:.4g} breaks the constraint {metric} {sign} {limit:g}")
    return reasons
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "benchmarking-olympic-constraints-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
def test_unit_olympic_constraints():
    def entry(accuracy, latency, memory):
        return {"accuracy": _make_result("a", [accuracy], "fraction", {}), "latency": _make_result("l", [latency], "ms", {}),
                "memory": _make_result("m", [memory], "MB", {})}
    sprint, contest = olympic_rules("latency_sprint"), olympic_rules(OlympicEvent.ACCURACY_CONTEST)
    assert check_olympic_constraints(sprint, entry(0.90, 500.0, 50.0)) == [], "the sprint only needs accuracy"
    assert len(check_olympic_constraints(sprint, entry(0.80, 1.0, 1.0))) == 1
    assert check_olympic_constraints(sprint, entry(0.85, 1.0, 1.0)) == [], "0.85 meets accuracy >= 0.85"
    assert len(check_olympic_constraints(contest, entry(0.99, 100.0, 10.0))) == 2, "both ceilings are strict"
    missing = check_olympic_constraints(sprint, {"latency": _make_result("l", [1.0], "ms", {})})
    assert len(missing) == 1 and "accuracy" in missing[0]


test_unit_olympic_constraints()

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-score", "locked": false, "schema_version": 3, "solution": false}
#| export
def score_olympic_event(event: OlympicEvent | str, baseline: Mapping[str, BenchmarkResult],
                        candidate: Mapping[str, BenchmarkResult], alpha: float = 0.05) -> tuple[bool, float, list[str]]:
    """Score an entry against the baseline for one event (see the table above).

    Args:
        event: the event (`OlympicEvent` or its value).
        baseline: the baseline model's measurements, metric -> `BenchmarkResult`.
        candidate: the entry's measurements, metric -> `BenchmarkResult`.
        alpha: significance level of `difference_test`.

    Returns:
        `(valid, score, reasons)`: score 1.0 means "no better than the baseline", higher is better;
        an invalid entry scores 0.0. `reasons` explains the verdict and each ratio.
    """
    rules = olympic_rules(event)
    reasons = check_olympic_constraints(rules, candidate)
    missing = [m for m in rules.metrics if m not in candidate or m not in baseline]
    reasons += [f"no {m} measurement for {'the entry' if m not in candidate else 'the baseline'}; the score needs it"
                for m in missing]
    if reasons:
        return False, 0.0, reasons
    ratios = {}
    for metric in rules.metrics:
        base, entry = baseline[metric], candidate[metric]
        ratio = base.mean / entry.mean if METRIC_DIRECTIONS[metric] == "min" else entry.mean / base.mean
        test = difference_test(base, entry, alpha)
        if test["significant"]:
            ratios[metric] = ratio
            reasons.append(f"{metric}: ratio {ratio:.3f} against the baseline (significant; {test['test']})")
        else:
            ratios[metric] = 1.0
            p_note = f", p = {test['p_value']:.3g}" if test["p_value"] is not None else ""
            reasons.append(f"{metric}: ratio {ratio:.3f} is within measurement noise{p_note}; counted as 1.0")
    if rules.event == OlympicEvent.ALL_AROUND:
        score = math.prod(ratios.values()) ** (1 / len(ratios))
    else:
        score = math.prod(ratios.values())
    return True, float(score), reasons

# %% nbgrader={"grade": false, "grade_id": "benchmarking-olympic-score-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_score_olympic_event():
    baseline = {"latency": _make_result("l", [10.0, 10.3, 9.7, 10.1, 9.9], "ms", {}),
                "accuracy": _make_result("a", [0.95], "fraction", {})}
    lucky = {"latency": _make_result("l", [9.8, 10.2, 9.6, 10.0, 9.7], "ms", {}),
             "accuracy": _make_result("a", [0.95], "fraction", {})}
    fast = {"latency": _make_result("l", [5.0, 5.1, 4.9, 5.05, 4.95], "ms", {}),
            "accuracy": _make_result("a", [0.90], "fraction", {})}
    valid, score, reasons = score_olympic_event("latency_sprint", baseline, lucky)
    assert valid and score == 1.0 and "noise" in reasons[0], "a lucky run does not rank ahead"
    valid, score, _ = score_olympic_event(OlympicEvent.LATENCY_SPRINT, baseline, fast)
    assert valid and abs(score - 2.0) < 0.01
    valid, score, reasons = score_olympic_event("memory_challenge", baseline, fast)
    assert not valid and score == 0.0 and any("memory" in r for r in reasons)


test_unit_score_olympic_event()
