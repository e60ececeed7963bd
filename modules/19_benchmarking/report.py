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
# # The benchmark report (Markdown)
#
# Provided code for Module 19 (no exercises): it renders, it does not judge. A report is for a reader
# who was not there when the numbers were taken. So it states the method first (warm-up, measured
# blocks, calibration, how energy was obtained, what the intervals cover: one process or several),
# then the warnings (a busy machine, unstable values: results to distrust), then the machine, then one
# table per metric with the
# 95% interval of each mean, the significance verdict of every model against the first one, the Pareto
# set, and recommendations, each naming the constraint it satisfies.
#
# The judging is the lesson's, passed in as two functions: `ties(per_model, best, metric)` (which models
# are within noise of the best, by the lesson's significance test) and `front(points, directions)` (the
# Pareto frontier). The comparison tables come in ready made (`compare_results`), and each result's
# interval is `significance.display_interval`. So the same results always give the same text, which a
# golden-text test checks.

# %%
#| default_exp benchmarking.report
#| export
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from tinytorch.benchmarking.metrics import METRICS, SUITE_METRICS, best_model
from tinytorch.benchmarking.significance import display_interval

# %%
#| export
@dataclass(frozen=True)
class DeploymentConstraints:
    """What a deployment requires; recommendations honour these numbers (never a model's name).

    Attributes:
        min_accuracy: lowest acceptable accuracy (fraction).
        max_latency_ms: latency budget per inference.
        max_memory_mb: peak-memory budget per inference.
    """

    min_accuracy: float = 0.85
    max_latency_ms: float = 100.0
    max_memory_mb: float = 10.0


Ties = Callable[[Mapping[str, Any], str, str], list[str]]
Front = Callable[[Mapping[str, Sequence[float]], Sequence[str]], list[str]]


def _fmt(value: Any) -> str:
    """A value as a report shows it: 4 significant digits, n/a for a missing or undefined one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _metric_table(metric: str, per_model: Mapping[str, Any], ties: Ties) -> list[str]:
    info = METRICS[metric]
    lines = [f"### {metric.capitalize()} ({info.describe_direction()})", "",
             "| model | mean | 95% CI | median | std | n |", "|---|---|---|---|---|---|"]
    for name, result in per_model.items():
        low, high = display_interval(result, metric)
        lines.append(f"| {name} | {_fmt(result.mean)} | [{_fmt(low)}, {_fmt(high)}] | "
                     f"{_fmt(result.median)} | {_fmt(result.std)} | {result.count} |")
    best = best_model(per_model, metric)
    tied = ties(per_model, best, metric)
    note = f" (no significant difference from {', '.join(tied)})" if tied else ""
    return lines + ["", f"Best mean: **{best}**{note}.", ""]


def _comparison_lines(table: Any) -> list[str]:
    if table is None:
        return ["Only one model: there is nothing to compare it with.", ""]
    paired = "paired_ratio" in table and table["paired_ratio"].notna().any()
    lines = ["| model | ratio to first [95% CI] | " + ("paired ratio [95% CI] | " if paired else "") +
             "p-value | decided by | verdict |", "|---|---|" + ("---|" if paired else "") + "---|---|---|"]
    for row in table.to_dict("records"):
        prefix = "median_" if "median" in str(row.get("test", "")) else ""
        ratio = f"{_fmt(row[prefix + 'ratio'])} [{_fmt(row[prefix + 'ratio_ci_lower'])}, " \
                f"{_fmt(row[prefix + 'ratio_ci_upper'])}]"
        if paired:
            ratio += f" | {_fmt(row['paired_ratio'])} [{_fmt(row['paired_ratio_ci_lower'])}, " \
                     f"{_fmt(row['paired_ratio_ci_upper'])}]"
        test = row.get("test") or "-"
        if row.get("other_test"):
            test += f" ({row['other_test']})"
        lines.append(f"| {row['model']} | {ratio} | {_fmt(row['p_value'])} | {test} | {row['verdict']} |")
    note = "A ratio is of medians where Mann-Whitney U decided, else of means."
    if paired:
        note += (" The paired ratio takes the models' values pair by pair (the same round of blocks, or the same "
                 "process): a slow moment of the machine hits both and cancels, so it is the ratio to quote.")
    return lines + ["", note, ""]


def _scope_line(latency: Mapping[str, Any]) -> str:
    """What the latency intervals cover: one process, or several fresh ones."""
    first = next(iter(latency.values()), None)
    note = first.metadata.get("scope_note") if first is not None else None
    return f"- Latency intervals: {note or 'from the blocks of one process (no scope was recorded with them)'}."


def _warning_lines(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every distinct warning the results carry (busy machine, unstable values), or why there are none."""
    found, checked = [], False
    for per_model in results.values():
        for result in per_model.values():
            checked = checked or "machine" in result.metadata
            found += [w for w in result.metadata.get("warnings", []) if w not in found]
    if found:
        return ["These results may not hold: " + ("; ".join(found)) + ".", ""]
    if checked:
        return ["None: the load, the other processes, the CPU frequency and the stability of the values gave no "
                "reason for doubt.", ""]
    return ["Not checked: these results carry no readings of the machine.", ""]


def _model_sizes(results: Mapping) -> dict[str, float]:
    """Stored parameter size per model (MB), as the memory benchmark recorded it beside the peak."""
    memory = results.get("memory", {})
    return {name: r.metadata["model_size_mb"] for name, r in memory.items() if r.metadata.get("model_size_mb") is not None}


def _model_size_lines(results: Mapping) -> list[str]:
    sizes = _model_sizes(results)
    if not sizes:
        return []
    smallest = min(sizes.values())
    lines = ["### Model size (MB of stored parameters, dtype-aware; not the peak above)", "",
             "| model | size | relative to the smallest |", "|---|---|---|"]
    lines += [f"| {name} | {_fmt(size)} | {_fmt(size / smallest) if smallest > 0 else 'n/a'}x |"
              for name, size in sizes.items()]
    return lines + ["", "A stored size is counted, not sampled: it has no noise.", ""]


def _qualifying(results: Mapping, constraints: DeploymentConstraints) -> dict[str, list[str]]:
    """Per constraint, the models whose mean satisfies it."""
    accuracy, latency, memory = (results.get(m, {}) for m in ("accuracy", "latency", "memory"))
    names = list(next(iter(results.values())))
    return {"accuracy": [n for n in names if n in accuracy and accuracy[n].mean >= constraints.min_accuracy],
            "latency": [n for n in names if n in latency and latency[n].mean < constraints.max_latency_ms],
            "memory": [n for n in names if n in memory and memory[n].mean < constraints.max_memory_mb]}


def _recommendation_lines(results: Mapping, constraints: DeploymentConstraints, ties: Ties) -> list[str]:
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
        tied = ties(pool, best, metric)
        tie_note = f"; within noise of {', '.join(tied)}" if tied else ""
        lines.append(f"- {goal} with {floor}: **{best}** ({_fmt(pool[best].mean)} {METRICS[metric].unit}{tie_note}).")
    sizes = {n: size for n, size in _model_sizes(results).items() if n in ok["accuracy"]}
    if sizes:
        smallest = min(sizes, key=sizes.get)
        lines.append(f"- Smallest stored model with {floor}: **{smallest}** ({_fmt(sizes[smallest])} MB of parameters).")
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


def render_markdown(results: Mapping[str, Mapping[str, Any]], system_info: Mapping, config: Mapping,
                    comparisons: Mapping[str, Any], constraints: DeploymentConstraints, *, ties: Ties,
                    front: Front) -> str:
    """The Markdown benchmark report: method, system, tables, significance, Pareto set, recommendations.

    Args:
        results: metric -> model -> result (an object with `mean`, `median`, `std`, `count`, `metadata`).
        system_info: the machine description recorded with the results.
        config: the run's settings (`warmup_runs`, `measurement_runs`, ...).
        comparisons: metric -> comparison table (`compare_results`), None when there is only one model.
        constraints: the deployment constraints the recommendations must satisfy.
        ties, front: the judging functions (see the top of this file).
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
    lines.append("- Intervals: 95% confidence interval of the mean (Student's t, n-1 degrees of freedom); for "
                 "accuracy on one dataset, the Wilson 95% interval of the proportion of correct answers. "
                 "Verdicts: each model against the first model, as in Benchmark.compare_models: latency by "
                 "Mann-Whitney's U test with a bootstrap interval of the ratio of medians (Welch's t-test on the "
                 "means shown beside it), memory and energy by Welch's t-test and the ratio of means, accuracy by "
                 "Fisher's exact test on the counts of correct answers.")
    if "latency" in results:
        lines.append(_scope_line(results["latency"]))
    lines += ["", "## Warnings", ""]
    lines += _warning_lines(results)
    lines += ["## System Information", ""]
    lines += [f"- {key}: {_fmt(value)}" for key, value in sorted(system_info.items())]
    lines += ["", "## Results", ""]
    for metric in SUITE_METRICS:
        if metric in results:
            lines += _metric_table(metric, results[metric], ties)
            lines += _comparison_lines(comparisons.get(metric))
            if metric == "memory":
                lines += _model_size_lines(results)
    lines += ["## Pareto Set", ""]
    for x_metric in ("latency", "memory", "energy"):
        if x_metric in results and "accuracy" in results:
            points = {n: (results[x_metric][n].mean, results["accuracy"][n].mean) for n in models}
            lines.append(f"- {x_metric} vs accuracy (means): "
                         f"{', '.join(front(points, (METRICS[x_metric].direction, 'max')))}")
    sizes = _model_sizes(results)
    if "accuracy" in results and len(sizes) == len(models):
        points = {n: (sizes[n], results["accuracy"][n].mean) for n in models}
        lines.append(f"- model size vs accuracy (stored MB, mean accuracy): {', '.join(front(points, ('min', 'max')))}")
    lines += ["", "## Recommendations", ""]
    lines += _recommendation_lines(results, constraints, ties)
    return "\n".join(lines).rstrip() + "\n"


def _calls_per_block(per_model: Mapping[str, Any]) -> str:
    found = {n: r.metadata.get("calls_per_block") for n, r in per_model.items()}
    return ", ".join(f"{n} {_fmt(c)}" for n, c in found.items()) or "n/a"


def _energy_method(per_model: Mapping[str, Any]) -> str:
    first = next(iter(per_model.values())).metadata
    if first.get("method") == "measured":
        return f"measured, {first.get('source')}; {first.get('assumptions')}"
    return (f"estimated, not measured: {first.get('formula')}, with watts_per_core = "
            f"{_fmt(first.get('watts_per_core'))} W (an assumption); {first.get('assumptions')}")

