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
# # The plots
#
# Provided code for Module 19 (no exercises). A bar of means hides the two things a reader most needs:
# how much the values scatter, and how sure we are of the mean. `draw_metric_panel` draws, for each
# model, every raw value as a dot (spread sideways a little so they do not hide each other), a box for
# the quartiles, and beside it the mean with its 95% interval as an error bar. The best model (by mean,
# in the metric's direction) is drawn in green and named in the panel; when its difference from another
# model is not significant, the panel says so. `draw_pareto_panel` draws two metrics against each other
# with both intervals, and the frontier as a staircase: the boundary of the region its points dominate.
#
# As in the report, the judging is passed in (`ties`, `front`). The figures are made with
# matplotlib's object API on the Agg canvas: no window, no global state, so they work on a server.

# %%
#| default_exp benchmarking.plots
#| export
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinytorch.benchmarking.metrics import METRICS, SUITE_METRICS, best_model
from tinytorch.benchmarking.report import Front, Ties
from tinytorch.benchmarking.significance import display_interval

# %%
#| export
_BEST_COLOR, _OTHER_COLOR = "#2e7d32", "#5c6bc0"


def draw_metric_panel(ax, metric: str, per_model: Mapping[str, Any], *, ties: Ties) -> None:
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
        low, high = display_interval(result, metric)
        ax.errorbar([position + 0.3], [result.mean], yerr=[[result.mean - low], [high - result.mean]],
                    fmt="D", color="black", markersize=4, capsize=4, zorder=4,
                    label="mean and 95% CI" if position == 0 else None)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n(best)" if n == best else n for n in names], fontsize=8)
    method = per_model[best].metadata.get("method") if metric == "energy" else None  # measured or estimated
    title = f"{metric.capitalize()} ({METRICS[metric].describe_direction()})"
    ax.set_title(f"{title}, {method}" if method else title, fontsize=10)
    tied = ties(per_model, best, metric)
    ax.set_xlabel(f"best: {best}" + (f"; no significant difference from {', '.join(tied)}" if tied else ""), fontsize=8)
    everything = np.concatenate([np.asarray(r.values, dtype=float) for r in per_model.values()])
    if everything.min() > 0 and everything.max() / everything.min() > 10:
        ax.set_yscale("log")  # a few slow outliers would otherwise squash every box into a line
        ax.set_title(ax.get_title() + ", log scale", fontsize=10)
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


def draw_pareto_panel(ax, x_metric: str, y_metric: str, results: Mapping[str, Mapping[str, Any]], *,
                      front: Front) -> list[str]:
    """Draw every model with its intervals, and the Pareto frontier as a staircase; return the frontier."""
    xs, ys = results[x_metric], results[y_metric]
    names = [n for n in xs if n in ys]
    directions = (METRICS[x_metric].direction, METRICS[y_metric].direction)
    on_frontier = front({n: (xs[n].mean, ys[n].mean) for n in names}, directions)
    for index, name in enumerate(names):
        on_front = name in on_frontier
        (x_low, x_high), (y_low, y_high) = display_interval(xs[name], x_metric), display_interval(ys[name], y_metric)
        ax.errorbar([xs[name].mean], [ys[name].mean],
                    xerr=[[xs[name].mean - x_low], [x_high - xs[name].mean]],
                    yerr=[[ys[name].mean - y_low], [y_high - ys[name].mean]],
                    fmt="o", markersize=8 if on_front else 6, capsize=4, zorder=3,
                    color=_BEST_COLOR if on_front else "grey")
        ax.annotate(name, (xs[name].mean, ys[name].mean), xytext=(6, 6 + 11 * (index % 3)),  # staggered: no overlap
                    textcoords="offset points", fontsize=8)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    path = frontier_staircase([(xs[n].mean, ys[n].mean) for n in on_frontier], directions, xlim, ylim)
    ax.plot(*zip(*path), color=_BEST_COLOR, linewidth=2, linestyle="--", alpha=0.7, label="Pareto frontier",
            zorder=2)  # dashed, so it is not mistaken for an error bar
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    for axis_label, metric in ((ax.set_xlabel, x_metric), (ax.set_ylabel, y_metric)):
        axis_label(f"{metric} ({METRICS[metric].describe_direction()})")
    ax.set_title(f"Pareto frontier: {x_metric} vs {y_metric} (error bars: 95% intervals)", fontsize=10)
    ax.text(0.01, 0.01, "frontier from the means; where intervals overlap, the order is not certain",
            transform=ax.transAxes, fontsize=7, color="dimgrey")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return on_frontier


def comparison_figure(results: Mapping[str, Mapping[str, Any]], *, ties: Ties) -> Figure:
    """One panel per metric (see `draw_metric_panel`), laid out two per row."""
    metrics = [m for m in SUITE_METRICS if m in results]
    columns = 2 if len(metrics) > 1 else 1
    rows = math.ceil(len(metrics) / columns)
    figure = Figure(figsize=(6.5 * columns, 4.5 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics):
        draw_metric_panel(ax, metric, results[metric], ties=ties)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    figure.suptitle("Benchmark results: every raw value, its spread, and the 95% interval of the mean")
    return figure


def pareto_figure(x_metric: str, y_metric: str, results: Mapping[str, Mapping[str, Any]], *,
                  front: Front) -> Figure:
    """The Pareto plot of two metrics (see `draw_pareto_panel`)."""
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    FigureCanvasAgg(figure)
    draw_pareto_panel(figure.subplots(), x_metric, y_metric, results, front=front)
    return figure


def save_png(figure: Figure, path) -> None:
    """Write the figure as a PNG to `path` (the suite passes a temporary file of an atomic write)."""
    figure.savefig(path, format="png", dpi=110)
