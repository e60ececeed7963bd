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
# # The machine: what decides a timing
#
# Provided code of Module 18, used by the TinyMLPerf harness and by Module 19 (no exercises). The same code can run 2x faster or slower on another
# machine, or on the same machine with other settings: `OPENBLAS_CORETYPE` selects OpenBLAS kernels and
# changes a small matmul by about 2x, and the number of BLAS threads matters as much. So every result
# records the machine (`collect_system_info`): hardware, software, the BLAS libraries and their threads
# (threadpoolctl), the BLAS/OpenMP variables in force, the load, and the timer's resolution and cost.
#
# Whether the machine was quiet is measured too, as pyperf's `system` checks do: `machine_snapshot`
# reads the load average, the CPU time the whole machine and this process (with its finished worker
# processes) have used, and the CPU frequency and governor where `/sys` shows
# them. Two snapshots, taken at the start and the end of a run, say what competed with it;
# `machine_warnings` puts that in words, naming the busiest other processes, and `value_warnings` adds
# the instability of the values themselves.
#
# `busy_machine()` is the opposite: it loads the machine on purpose, one busy process per core, so a
# notebook can show what a measurement looks like when the machine is not quiet.

# %%
#| default_exp benchmarking.system
#| export
from __future__ import annotations

import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psutil
from threadpoolctl import threadpool_info

# %%
#| export
# Variables read by BLAS and OpenMP runtimes (OpenBLAS, MKL, BLIS, Accelerate, NVPL, GNU and Intel OpenMP):
# each can change a timing, and some machines set them system-wide.
_TIMING_ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_", "VECLIB_", "NUMEXPR_", "NVPL_", "KMP_",
                        "GOMP_")


def measure_timer_overhead_ns(clock: Callable[[], int] = time.perf_counter_ns, samples: int = 2000) -> float:
    """Median cost of one clock reading, from back-to-back pairs of readings (nanoseconds)."""
    gaps = np.empty(samples, dtype=np.float64)
    for i in range(samples):
        first = clock()
        gaps[i] = clock() - first
    return float(np.median(gaps))


def timing_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The BLAS/OpenMP variables in force (of `environ`, default `os.environ`), sorted by name."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in sorted(environ.items()) if k.startswith(_TIMING_ENV_PREFIXES)}


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
        "timing_env": timing_environment(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "timer": "time.perf_counter_ns",
        "timer_implementation": clock_info.implementation,
        "timer_resolution_ns": clock_info.resolution * 1e9,
        "timer_overhead_ns": measure_timer_overhead_ns(clock),
    }

# %% [markdown]
# ## Was the machine quiet?
#
# The thresholds, and why:
#
# | reading | warned when | why |
# |---|---|---|
# | load average (1 min), start and end | at least the number of cores | this run counts for about one; the rest is other work waiting for a core |
# | CPU used by other processes during the run | half a core or more | the machine's busy time minus this process's and its workers' |
# | this run's share of its wall time on the CPU | under 90% | it was runnable but waiting: preempted |
# | CPU frequency, start and end (where `/sys` shows it) | changed by more than 10% | the clock speed moved under the measurement |
# | the values of one model | CV above 10% (pyperf warns at the same point), or the halves' medians 10% apart | unstable, or drifting |
#
# A reading that cannot be taken here (no `/sys/.../cpufreq` in most virtual machines) is recorded as
# absent and judged by nothing.

# %%
#| export
_CPU_LINE_BUSY = (0, 1, 2, 5, 6, 7)  # user, nice, system, irq, softirq, steal (steal: another VM had the core)
SHARE_FLOOR, OTHERS_CORES, FREQUENCY_CHANGE, VALUE_CV, DRIFT = 0.9, 0.5, 0.10, 0.10, 0.10


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _machine_busy_seconds(proc: Path) -> float | None:
    """CPU seconds all processors spent busy since boot (/proc/stat), steal time included."""
    text = _read(proc / "stat")
    if not text or not text.startswith("cpu "):
        return None
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    return sum(fields[i] for i in _CPU_LINE_BUSY if i < len(fields)) / os.sysconf("SC_CLK_TCK")


def _frequencies(sys_root: Path) -> tuple[list[str], list[float]]:
    """(governors, current MHz per CPU) from cpufreq; empty lists where it is not exposed."""
    governors, mhz = set(), []
    for folder in sorted(sys_root.glob("devices/system/cpu/cpu[0-9]*/cpufreq")):
        governor, current = _read(folder / "scaling_governor"), _read(folder / "scaling_cur_freq")
        if governor:
            governors.add(governor.strip())
        if current and current.strip().isdigit():
            mhz.append(int(current) / 1000)
    return sorted(governors), mhz


def busiest_processes(exclude: set[int], limit: int = 3) -> list[str]:
    """The processes that used the most CPU over their lifetime, at least 10% of a core, as "name (pid) 95%".

    Read only when a warning needs names (listing every process costs milliseconds, more than a short
    measurement), so the share is over each process's life, not just over the run.
    """
    now, found = time.time(), []
    for process in psutil.process_iter(["name", "cpu_times", "create_time"]):
        info = process.info
        if process.pid in exclude or info.get("cpu_times") is None or not info.get("create_time"):
            continue
        share = (info["cpu_times"].user + info["cpu_times"].system) / max(now - info["create_time"], 1e-3)
        if share >= 0.1:
            found.append((share, process.pid, info.get("name") or "?"))
    return [f"{name} (pid {pid}) {share:.0%}" for share, pid, name in sorted(found, reverse=True)[:limit]]


def machine_snapshot(proc_root: str | Path = "/proc", sys_root: str | Path = "/sys") -> dict[str, Any]:
    """The machine's state now: load, CPU time used (all, this process and its finished children), frequency.

    `proc_root` and `sys_root` are parameters so tests can give a machine of their own. It costs well
    under a millisecond: nothing here lists the processes.
    """
    proc = Path(proc_root)
    load = _read(proc / "loadavg")
    own = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    governors, mhz = _frequencies(Path(sys_root))
    return {"monotonic_s": time.monotonic(), "pid": os.getpid(), "cpu_count": os.cpu_count() or 1,
            "load_average": [float(v) for v in load.split()[:3]] if load else None,
            "machine_busy_s": _machine_busy_seconds(proc),
            "own_cpu_s": sum(usage.ru_utime + usage.ru_stime for usage in own),
            "governors": governors, "frequency_mhz": mhz}


def machine_warnings(start: Mapping[str, Any], end: Mapping[str, Any],
                     busiest: Callable[[set[int]], list[str]] = busiest_processes) -> list[str]:
    """What competed with a run, in words, from snapshots at its start and end (empty: nothing seen).

    `busiest(exclude)` names the busiest other processes when others were busy (a parameter for tests).
    """
    warnings, cores = [], start["cpu_count"]
    loads = [s["load_average"][0] for s in (start, end) if s.get("load_average")]
    if loads and max(loads) >= cores:
        warnings.append(f"the machine was busy: load average {loads[0]:.2f} at the start and {loads[-1]:.2f} at the "
                        f"end on {cores} core(s) (this run counts for about 1); repeat on a quiet machine")
    seconds = end["monotonic_s"] - start["monotonic_s"]
    own = end["own_cpu_s"] - start["own_cpu_s"]
    if seconds > 0.05 and start.get("machine_busy_s") is not None and end.get("machine_busy_s") is not None:
        others = (end["machine_busy_s"] - start["machine_busy_s"] - own) / seconds
        if others >= OTHERS_CORES:
            names = busiest({start.get("pid"), os.getpid()})
            warnings.append(f"other processes used {others:.1f} core(s) on average while this ran"
                            + (f" (busiest over their lifetime: {', '.join(names)})" if names else ""))
        if own / seconds < SHARE_FLOOR:
            warnings.append(f"this run was on the CPU only {own / seconds:.0%} of its {seconds:.2f} s: it waited "
                            "for a core (preempted), so its times include waiting")
    before, after = start.get("frequency_mhz") or [], end.get("frequency_mhz") or []
    if before and after and abs(np.mean(after) / np.mean(before) - 1) > FREQUENCY_CHANGE:
        governors = ", ".join(end.get("governors") or []) or "unknown"
        warnings.append(f"the CPU frequency changed from {np.mean(before):.0f} to {np.mean(after):.0f} MHz during the "
                        f"run (governor {governors}): the clock speed moved under the measurement")
    return warnings


def value_warnings(name: str, values: Sequence[float], what: str = "blocks") -> list[str]:
    """Instability of one model's values: a CV above 10%, or the two halves' medians 10% apart."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 2 or not data.mean() > 0:
        return []
    warnings, cv = [], float(data.std(ddof=1) / data.mean())
    if cv > VALUE_CV:
        warnings.append(f"{name}: its {what} varied by CV {cv:.0%} (above {VALUE_CV:.0%}): the result is unstable")
    half = data.size // 2
    if half >= 2:
        first, second = float(np.median(data[:half])), float(np.median(data[half:]))
        if not math.isclose(first, second, rel_tol=DRIFT):
            warnings.append(f"{name}: the median of its first {half} {what} ({first:.4g}) and of the rest "
                            f"({second:.4g}) differ by more than {DRIFT:.0%}: the machine's speed drifted")
    return warnings

# %% [markdown]
# ## A busy machine, on purpose
#
# Each helper process spins in a loop until the block ends, so with one per core every core has a
# competitor. A helper also stops by itself when its parent is gone or after `max_seconds`, so a
# notebook that crashes never leaves a machine busy.

# %%
#| export
_SPIN = ("import os, sys, time\n"
         "parent, deadline = os.getppid(), time.monotonic() + {seconds}\n"
         "sys.stdout.write('spinning'); sys.stdout.flush()\n"
         "while os.getppid() == parent and time.monotonic() < deadline:\n"
         "    pass\n")


@contextmanager
def busy_machine(processes: int | None = None, max_seconds: float = 60.0):
    """Keep `processes` cores busy (default: one per core) while the `with` block runs.

    The block starts once every helper is spinning. Yields the number of busy processes. Raises
    `OSError` if processes cannot be started (some sandboxes refuse them).
    """
    count = (os.cpu_count() or 1) if processes is None else int(processes)
    spinners = []
    try:
        for _ in range(count):
            spinners.append(subprocess.Popen([sys.executable, "-c", _SPIN.format(seconds=float(max_seconds))],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL))
        for spinner in spinners:
            spinner.stdout.read(len("spinning"))  # it is spinning (or gone: then the read ends at once)
        yield count
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
            spinner.stdout.close()
