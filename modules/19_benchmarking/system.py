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
# Provided code for Module 19 (no exercises). The same code can run 2x faster or slower on another
# machine, or on the same machine with other settings: `OPENBLAS_CORETYPE` selects OpenBLAS kernels and
# changes a small matmul by about 2x, and the number of BLAS threads matters as much. So every result
# records the machine (`collect_system_info`): hardware, software, the BLAS libraries and their threads
# (threadpoolctl), the BLAS/OpenMP variables in force, the load, and the timer's resolution and cost.
#
# `busy_machine()` is the opposite: it loads the machine on purpose, one busy process per core, so a
# notebook can show what a measurement looks like when the machine is not quiet.

# %%
#| default_exp benchmarking.system
#| export
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import contextmanager
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
