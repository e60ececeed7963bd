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
# # Recommending an optimization
#
# Provided code for Module 19 (no exercises): the rules `summarize_optimizations` (the lesson's
# `optimization` room) applies to the measured improvements of each optimized model over the base
# (`latency_speedup`, `memory_speedup`, `energy_speedup`, `accuracy_retention`, each with
# `<name>_significant`):
#
# - for a latency-critical or a memory-constrained deployment: the model with the largest significant
#   improvement among those keeping at least `min_retention` of the base accuracy;
# - for accuracy preservation: the highest accuracy retention;
# - for a balanced deployment: the highest geometric mean of the three speed-ups, a speed-up inside the
#   noise counting as 1.0.
#
# When no optimized model qualifies, the pick is the base model, and the reason says why. The
# improvements come from `measured_improvements`, each ratio judged significant or not by the test it is
# given (the lesson's `difference_test`); `optimization_summary` puts ratios, efficiency and picks together
# for the lesson's `summarize_optimizations`.

# %%
#| default_exp benchmarking.recommendations
#| export
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable

from tinytorch.benchmarking.metrics import METRICS

# %%
#| export
USE_CASES = {
    "for_latency_critical": "real-time inference with a strict per-request deadline",
    "for_memory_constrained": "microcontrollers, phones and other devices with little memory",
    "for_accuracy_preservation": "applications where quality cannot drop",
    "for_balanced_deployment": "general deployment with several constraints at once",
}


# each improvement: the metric it is computed from, and its name
IMPROVEMENTS = (("latency", "latency_speedup"), ("memory", "memory_speedup"), ("energy", "energy_speedup"),
                ("accuracy", "accuracy_retention"))


def measured_improvements(results: Mapping, base: str, name: str, test: Callable[..., Mapping]) -> dict[str, Any]:
    """Model `name` against `base`: each ratio (oriented so that above 1 is better), whether it is
    significant and its p-value, by `test(base_result, result, metric)`; a ratio is None where a mean is 0."""
    out: dict[str, Any] = {}
    for metric, key in IMPROVEMENTS:
        base_result, result = results[metric][base], results[metric][name]
        verdict = test(base_result, result, metric)
        if min(base_result.mean, result.mean) <= 0:  # e.g. an identity model's peak memory: 0 MB has no ratio
            out[key], out[f"{key}_significant"] = None, False
        else:
            out[key] = METRICS[metric].improvement(base_result.mean, result.mean)
            out[f"{key}_significant"] = verdict["significant"]
        out[f"{key}_p_value"] = verdict["p_value"]
    return out


def _per_unit(amount: float, resource: float) -> float | None:
    """amount per unit of resource; None when the resource measured zero (no ratio exists)."""
    return amount / resource if resource > 0 else None


def optimization_summary(results: Mapping[str, Mapping[str, Any]], base: str | None, min_retention: float,
                         test: Callable[..., Mapping]) -> dict[str, Any]:
    """Every model of a suite's `results` against the base (default: the first model), each improvement
    judged by `test` (see `measured_improvements`), with the recommendations of `recommend_optimizations`.

    Returns:
        Keys `base_model, base_metrics, optimized_results, improvements, efficiency_metrics,
        recommendations` (and `results`, the raw results).
    """
    names = list(results["latency"])  # exact names, in the order measured
    base_name = names[0] if base is None else base
    optimized_names = [name for name in names if name != base_name]
    means = {name: {metric: results[metric][name].mean for metric in results} for name in names}
    improvements = {name: measured_improvements(results, base_name, name, test) for name in optimized_names}
    efficiency = {name: {"accuracy_per_mb": _per_unit(means[name]["accuracy"], means[name]["memory"]),
                         "accuracy_per_ms": _per_unit(means[name]["accuracy"], means[name]["latency"])} for name in names}
    return {"base_model": base_name, "base_metrics": means[base_name],
            "optimized_results": {name: means[name] for name in optimized_names},
            "improvements": improvements, "efficiency_metrics": efficiency,
            "recommendations": recommend_optimizations(base_name, improvements, min_retention),
            "results": results}

def recommend_optimizations(base: str, improvements: Mapping[str, Mapping], min_retention: float) -> dict[str, dict]:
    """Per use case, the model to pick (`{model, reason, use_case}`), by the rules above; the base when none qualifies."""
    # a ratio is None where a measured mean was 0 (no ratio exists): it qualifies for nothing
    keep = {n: i for n, i in improvements.items()
            if i["accuracy_retention"] is not None and i["accuracy_retention"] >= min_retention}
    floor = f"keeps >= {min_retention:.0%} of the base accuracy"

    def effective(i: Mapping, key: str) -> float:  # a ratio inside the noise counts as no change
        return i[key] if i[f"{key}_significant"] else 1.0

    picks = {}
    for slot, key, what in (("for_latency_critical", "latency_speedup", "faster"),
                            ("for_memory_constrained", "memory_speedup", "smaller in peak memory")):
        better = {n: i for n, i in keep.items() if i[f"{key}_significant"] and i[key] is not None and i[key] > 1}
        if better:
            name = max(better, key=lambda n: better[n][key])
            reason = f"{better[name][key]:.2f}x {what} than the base (significant) and {floor}"
        else:
            name, reason = base, f"no optimized model that {floor} is significantly {what} than the base"
        picks[slot] = {"model": name, "reason": reason, "use_case": USE_CASES[slot]}
    known = {n: i for n, i in improvements.items() if i["accuracy_retention"] is not None}
    if known:
        name = max(known, key=lambda n: known[n]["accuracy_retention"])
        change = "a significant change" if known[name]["accuracy_retention_significant"] else "within noise of the base"
        reason = f"highest accuracy retention, {known[name]['accuracy_retention']:.1%} of the base ({change})"
    else:
        name, reason = base, "no accuracy retention can be computed (the base accuracy measured 0)"
    picks["for_accuracy_preservation"] = {"model": name, "use_case": USE_CASES["for_accuracy_preservation"],
                                          "reason": reason}
    scores = {n: math.prod(effective(i, k) for k in ("latency_speedup", "memory_speedup", "energy_speedup")) ** (1 / 3)
              for n, i in keep.items()}
    if scores and max(scores.values()) > 1:
        name = max(scores, key=scores.get)
        reason = f"highest geometric mean of significant speed-ups ({scores[name]:.2f}) among models that {floor}"
    else:
        name, reason = base, f"no optimized model that {floor} improves anything significantly"
    picks["for_balanced_deployment"] = {"model": name, "reason": reason, "use_case": USE_CASES["for_balanced_deployment"]}
    return picks
