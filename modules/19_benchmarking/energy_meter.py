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
# # The energy meter: RAPL counters where readable, else process CPU time
#
# Provided code for Module 19 (no exercises). Recent Intel and AMD CPUs count the energy of each CPU
# package in hardware (RAPL, Running Average Power Limit); Linux exposes each counter, in microjoules,
# as `/sys/class/powercap/intel-rapl:N/energy_uj`. `find_rapl_packages` finds the package domains
# (`intel-rapl:0`, `intel-rapl:1`, ...). Their sub-domains (`intel-rapl:0:0` for the cores, ...) are
# already part of the package figure, so adding them would count energy twice. If any package counter
# exists but cannot be read (since 2020 Linux lets only root read them), the machine is treated as having
# no readable RAPL: a sum over some of the packages would be too small. A counter wraps around at its
# `max_energy_range_uj`, so a reading smaller than the one before means it passed its maximum once.

# %%
#| default_exp benchmarking.energy_meter
#| export
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

from tinytorch.benchmarking.calls import BenchmarkError
from tinytorch.benchmarking.settings import DEFAULT_WATTS_PER_CORE
from tinytorch.utils.checks import check_positive

# %%
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

# %% [markdown]
# `EnergyMeter` hides the two ways of getting a figure behind one call: `measure_block(run_block,
# calls)` runs a block of inferences and returns the joules per inference measured by RAPL (or `None`
# when it can only estimate) and the process CPU time of the block, from which the lesson's
# `estimate_energy_per_inference` makes the estimate. `describe()` says which way and on which
# assumptions, for the results' metadata. The RAPL folder and the CPU clock are parameters, so tests
# use fake ones.

# %%
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
        self.watts_per_core = check_positive("watts_per_core", watts_per_core, "10.0 (watts)")
        self.rapl_root = Path(rapl_root)
        self.cpu_clock = cpu_clock
        self.packages = find_rapl_packages(self.rapl_root)

    @property
    def method(self) -> str:
        """`measured` when RAPL counters are readable, else `estimated`."""
        return "measured" if self.packages else "estimated"

    def measure_block(self, run_block: Callable[[int], None], calls: int) -> tuple[float | None, int]:
        """Run `run_block(calls)`; return (measured joules per call or None, CPU nanoseconds of the block)."""
        before = [p.read_uj() for p in self.packages]
        cpu_start = self.cpu_clock()
        run_block(calls)
        cpu_ns = self.cpu_clock() - cpu_start
        if not self.packages:
            return None, cpu_ns
        after = [p.read_uj() for p in self.packages]
        total_uj = sum(rapl_delta_uj(b, a, p.max_energy_range_uj) for b, a, p in zip(before, after, self.packages))
        return total_uj * 1e-6 / calls, cpu_ns

    def measure_rounds(self, run_blocks: Mapping[str, Callable[[int], None]], calls_per_block: Mapping[str, int],
                       blocks: int) -> tuple[dict[str, list], dict[str, list[int]]]:
        """`blocks` rounds of one block per model, the first model rotating every round; per model, the
        joules per call of each block (None when estimating) and its CPU nanoseconds.

        Raises:
            BenchmarkError: if a RAPL counter stops being readable during the run (model failures raised by
                a guarded `run_block` propagate as they are).
        """
        names = list(run_blocks)
        joules: dict[str, list] = {name: [] for name in names}
        cpu_ns: dict[str, list[int]] = {name: [] for name in names}
        for round_index in range(blocks):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                try:
                    measured, cpu = self.measure_block(run_blocks[name], calls_per_block[name])
                except (OSError, ValueError) as error:
                    if not self.packages:
                        raise
                    raise BenchmarkError(f"reading the RAPL counters failed while measuring {name!r}: {error}") \
                        from error
                joules[name].append(measured)
                cpu_ns[name].append(cpu)
        return joules, cpu_ns

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
