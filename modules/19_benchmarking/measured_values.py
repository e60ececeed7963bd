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
# # Measured values: what a result stores, and the statistics that need no judgement
#
# Provided code for Module 19 (no exercises). `MeasuredValues` keeps the raw values of one metric with
# their unit and metadata, refuses a failed measurement (empty, NaN or infinite values), derives the
# descriptive statistics (mean, spread, percentiles) on demand and round-trips through JSON. The
# inferential statistics (the intervals, the coefficient of variation, the outlier count) are the
# lesson's: its `BenchmarkResult` adds them to this class from the functions students write, and lists
# in `SUMMARY_NAMES` everything its `summary()` reports.

# %%
#| default_exp benchmarking.measured_values
#| export
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.benchmarking.results_file import jsonable
from tinytorch.utils.checks import finite_values

# %%
#| export
@dataclass
class MeasuredValues:
    """Raw measurements of one metric, with the statistics derived from them on demand.

    Nothing derived is stored, so nothing can go stale or disagree with the values.

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
    # what summary() reports, in order; a subclass that adds statistics lists them here too
    SUMMARY_NAMES = ("count", "mean", "std", "median", "min_val", "max_val", "p50", "p90", "p99", "iqr", "mad",
                     "single_value")

    def __post_init__(self):
        if not isinstance(self.metric_name, str) or not self.metric_name:
            raise ValueError(f"metric_name={self.metric_name!r} must be a non-empty string")
        self.values = finite_values(self.values, f"{self.metric_name} values").tolist()
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

    def summary(self) -> dict[str, Any]:
        """Every statistic of `SUMMARY_NAMES` by name; undefined ones (CV of a zero mean) are None."""
        values = {name: getattr(self, name) for name in self.SUMMARY_NAMES}
        return {name: (None if isinstance(v, float) and not math.isfinite(v) else v) for name, v in values.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the raw values, unit, metadata and (for readers) the summary, whole under `summary`
        and its main figures also flat (`mean`, `std`, `median`, `min`, `max`, `count`, and `ci_lower`,
        `ci_upper` when the summary has them)."""
        summary = self.summary()
        flat = {key: summary[name] for key, name in (("mean", "mean"), ("std", "std"), ("median", "median"),
                                                     ("min", "min_val"), ("max", "max_val"), ("count", "count"),
                                                     ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper"))
                if name in summary}
        return {"metric_name": self.metric_name, "unit": self.unit, "values": list(self.values), **flat,
                "metadata": jsonable(self.metadata), "summary": summary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeasuredValues:
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
