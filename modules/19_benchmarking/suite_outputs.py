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
# # What a suite shows and writes: comparisons, plots, the report and the results file
#
# Provided code for Module 19 (no exercises). `SuiteOutputs` turns the results a suite holds into the
# files a person reads: the comparison table of a metric, the Pareto frontier of two, the comparison
# figure, a Pareto figure, the Markdown report and the versioned results file, each written atomically
# into `output_dir` only when asked, and reads a results file back. It lays out; it does not judge. The
# judging comes from the lesson's `BenchmarkSuite`, which measures the results, builds on this class and
# gives it the students' functions: `ties` (which models are within noise of the best), `front` (the
# Pareto frontier of points), `compare` (the comparison table, `compare_results`) and `result_from_dict`
# to rebuild a saved result.

# %%
#| default_exp benchmarking.suite_outputs
#| export
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tinytorch.benchmarking.metrics import METRICS, check_metric
from tinytorch.benchmarking.plots import comparison_figure, pareto_figure, save_png
from tinytorch.benchmarking.report import DeploymentConstraints, render_markdown
from tinytorch.benchmarking.results_file import (
    read_results_file, results_from_document, results_to_json, write_results_file)
from tinytorch.utils.files import write_atomic, write_text_atomic

# %%
#| export
class SuiteOutputs:
    """Comparisons, plots, report and results file of a suite's `results`; see the lesson's `BenchmarkSuite`.

    A subclass sets `results`, `system_info`, `config` and `output_dir`, and the judges `ties`, `front`,
    `compare` and `result_from_dict` (static methods).
    """

    results: dict[str, dict[str, Any]]
    system_info: dict
    config: dict
    output_dir: Path

    def _require_results(self) -> dict[str, dict[str, Any]]:
        if not self.results:
            raise ValueError("no results yet: call run_full_benchmark() or load_results(path) first")
        return self.results

    def _require_metric(self, metric: str) -> dict[str, Any]:
        check_metric(metric)
        results = self._require_results()
        if metric not in results:
            raise ValueError(f"no {metric} results; this suite holds {', '.join(results)}")
        return results[metric]

    def comparison(self, metric: str) -> pd.DataFrame | None:
        """`compare(per_model, metric)` for one metric of these results (None for a single model)."""
        per_model = self._require_metric(metric)
        return self.compare(per_model, metric) if len(per_model) > 1 else None

    def pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> list[str]:
        """The models no other model beats on both metrics (by their means), each metric's direction respected."""
        xs, ys = self._require_metric(x_metric), self._require_metric(y_metric)
        if x_metric == y_metric:
            raise ValueError(f"x_metric and y_metric are both {x_metric!r}; a trade-off needs two different metrics")
        points = {name: (xs[name].mean, ys[name].mean) for name in xs if name in ys}
        return self.front(points, (METRICS[x_metric].direction, METRICS[y_metric].direction))

    def plot_results(self, save_plots: bool = True) -> Figure:
        """One panel per metric; saves `benchmark_comparison.png` in `output_dir` if `save_plots`."""
        figure = comparison_figure(self._require_results(), ties=self.ties)
        if save_plots:
            write_atomic(self.output_dir / "benchmark_comparison.png", lambda path: save_png(figure, path))
        return figure

    def plot_pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> Figure:
        """Plot two metrics with 95% intervals and the frontier; save `pareto_<x>_vs_<y>.png`."""
        self.pareto_frontier(x_metric, y_metric)  # validates both metrics
        figure = pareto_figure(x_metric, y_metric, self.results, front=self.front)
        write_atomic(self.output_dir / f"pareto_{x_metric}_vs_{y_metric}.png", lambda path: save_png(figure, path))
        return figure

    def generate_report(self, constraints: DeploymentConstraints = DeploymentConstraints()) -> str:
        """The Markdown report (`report.render_markdown`), also written atomically to `benchmark_report.md`."""
        results = self._require_results()
        comparisons = {metric: self.comparison(metric) for metric in results}
        report = render_markdown(results, self.system_info, self.config, comparisons, constraints,
                                 ties=self.ties, front=self.front)
        write_text_atomic(self.output_dir / "benchmark_report.md", report)
        return report

    def save_results(self, path: str | Path | None = None) -> Path:
        """Write every raw value, the system information and the settings as versioned JSON (atomically)."""
        document = results_to_json(self._require_results(), self.system_info, self.config)
        return write_results_file(Path(path) if path is not None else self.output_dir / "benchmark_results.json",
                                  document)

    def load_results(self, path: str | Path) -> dict[str, dict[str, Any]]:
        """Replace `results` (and the system information) by those saved in `path`."""
        results, system_info, config = results_from_document(read_results_file(path), self.result_from_dict,
                                                             source=f"results file {path}")
        self.results, self.system_info, self.config = results, system_info, {**self.config, **config}
        return results
