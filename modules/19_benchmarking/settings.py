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
# # The settings of a benchmark run
#
# Provided code for Module 19 (no exercises). How a run measures (warm-up, measured blocks, the block
# length, the seed of the inputs, the input shape, the energy blocks and the assumed watts) is one
# frozen object, checked once when it is made. So is *where* it measures: in this process, or in
# `processes` fresh worker processes one after another (see `latency_workers`). `tito bench` makes it from its flags, `BenchmarkSuite`
# passes it whole to `Benchmark`, and it is written into every results file as its `config`, so a
# saved result says exactly how it was measured.

# %%
#| default_exp benchmarking.settings
#| export
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

from tinytorch.utils.checks import check_count, check_input_shape, check_positive

# %%
#| export
DEFAULT_WATTS_PER_CORE = 10.0
# Processes for a measurement across processes (`tito bench demo`, the Olympics), chosen by measurement
# (bench/interval_coverage.py): 10 workers answer in about 2.5 s for the reference MLP (a worker starts
# in ~0.2 s), and 20 did not cover the centre of other runs more often on a machine whose speed drifts.
DEFAULT_PROCESSES = 10


@dataclass(frozen=True)
class BenchmarkSettings:
    """How one benchmark run measures; every field is checked when the object is made.

    Attributes:
        warmup_runs: untimed calls per model before calibration.
        measurement_runs: timed blocks per model (at least 2, so that a spread and an interval exist);
            also the number of energy blocks.
        min_block_ms: shortest timed block; calibration also keeps the timer under `max_timer_overhead`.
        max_timer_overhead: largest fraction of a block the clock readings may take (0.01 = 1%).
        seed: seed of the generated inputs (`np.random.default_rng(seed)`).
        input_shape: the input of latency, memory and energy, batch first; None: one sample of the
            first data set.
        energy_block_seconds: target duration of one energy block.
        watts_per_core: assumed power of one busy core, for the energy estimate where RAPL is unreadable.
        processes: 1 measures latency and memory in this process (the interval then covers this
            process only); N >= 2 measures them in N fresh worker processes, one after another, and the
            interval is computed across the processes (`latency_workers`).
        worker_timeout_s: the longest one worker process may take.
        worker_memory_mb: an address-space limit for each worker (None: no limit), for models that
            must not be trusted with the machine's memory.
    """

    warmup_runs: int = 5
    measurement_runs: int = 10
    min_block_ms: float = 1.0
    max_timer_overhead: float = 0.01
    seed: int = 0
    input_shape: tuple[int, ...] | None = None
    energy_block_seconds: float = 0.05
    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    processes: int = 1
    worker_timeout_s: float = 600.0
    worker_memory_mb: int | None = None

    def __post_init__(self):
        runs = self.measurement_runs
        if isinstance(runs, numbers.Integral) and not isinstance(runs, bool) and runs < 2:
            raise ValueError(f"measurement_runs={runs!r}: at least 2 are needed for a spread and an interval; "
                             "use 10 or more")
        block = self.min_block_ms
        if isinstance(block, bool) or not isinstance(block, numbers.Real) or not (math.isfinite(block) and block >= 0):
            raise ValueError(f"min_block_ms={block!r} must be >= 0 (milliseconds), e.g. 1.0")
        overhead = self.max_timer_overhead
        if isinstance(overhead, bool) or not isinstance(overhead, numbers.Real) or not 0 < overhead < 1:
            raise ValueError(f"max_timer_overhead={overhead!r} must be a fraction in (0, 1), e.g. 0.01 (the "
                             "largest share of a block the clock readings may take)")
        checked = {
            "warmup_runs": check_count("warmup_runs", self.warmup_runs, 0),
            "measurement_runs": check_count("measurement_runs", runs, 2),
            "min_block_ms": float(block), "max_timer_overhead": float(overhead),
            "seed": check_count("seed", self.seed, 0),
            "input_shape": None if self.input_shape is None else check_input_shape(self.input_shape),
            "energy_block_seconds": check_positive("energy_block_seconds", self.energy_block_seconds, "0.05"),
            "watts_per_core": check_positive("watts_per_core", self.watts_per_core, "10.0 (watts)"),
            "processes": check_count("processes", self.processes, 1),
            "worker_timeout_s": check_positive("worker_timeout_s", self.worker_timeout_s, "600 (seconds)"),
            "worker_memory_mb": None if self.worker_memory_mb is None else
            check_count("worker_memory_mb", self.worker_memory_mb, 256),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> BenchmarkSettings:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_config(self) -> dict[str, Any]:
        """The settings as JSON-ready data: the `config` of a results file."""
        config = dataclasses.asdict(self)
        config["input_shape"] = None if self.input_shape is None else list(self.input_shape)
        return config


def settings_from(settings: BenchmarkSettings | None, **given: Any) -> BenchmarkSettings:
    """`settings` when given (each separate setting in `given` must then keep its default), else new
    settings made from `given`: a caller passes one or the other, never both."""
    if settings is None:
        return BenchmarkSettings(**given)
    if not isinstance(settings, BenchmarkSettings):
        raise TypeError(f"settings must be a BenchmarkSettings, got {type(settings).__name__}")
    defaults = {field.name: field.default for field in dataclasses.fields(BenchmarkSettings)}
    changed = sorted(name for name, value in given.items() if value != defaults[name])
    if changed:
        raise ValueError(f"pass either settings=BenchmarkSettings(...) or the separate settings {changed}, not both")
    return settings
