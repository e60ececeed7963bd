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
# # The stages of an ablation, and its table
#
# Provided code for Module 19 (no exercises). An ablation applies steps (functions from a model to a new
# model) one after the other. `check_steps` checks the `(name, function)` pairs, `stage_orders` builds
# the stages of every order asked for (refusing a step that changes its input in place, or an order that
# does not use each step once), and `ablation_rows` tabulates the measured stages: means, the latency
# interval, the stored size, the change from the previous stage and whether it is significant, by the
# test it is given (the lesson's `difference_test`). Measuring the stages is the lesson's
# `compare_ablation_orders`.

# %%
#| default_exp benchmarking.ablation
#| export
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from tinytorch.benchmarking.calls import model_size_mb
from tinytorch.benchmarking.metrics import METRICS

# %%
#| export
def check_steps(steps: Sequence[tuple[str, Callable]]) -> list[tuple[str, Callable]]:
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


def build_stages(base_model: Any, base_name: str, steps: Sequence[tuple[str, Callable]]) -> list[tuple[str, str, Any]]:
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


def stage_orders(base_model: Any, steps: Sequence[tuple[str, Callable]],
                 orders: Sequence[Sequence[str]] | None = None) -> list[tuple[str, list[tuple[str, str, Any]]]]:
    """`(order label, stages)` for each order (default: the steps as given, and reversed), e.g. the label
    `"quantize -> prune"`; stage names derive from the base model's name ("base" when it has none)."""
    by_name = dict(check_steps(steps))
    orders = [list(o) for o in (orders or [list(by_name), list(reversed(list(by_name)))])]
    for order in orders:
        if sorted(order) != sorted(by_name):
            raise ValueError(f"order {order} must use each step of {list(by_name)} exactly once")
    if not getattr(base_model, "name", None):  # stage names derive from the base's name; do not touch the caller's model
        base_model = copy.deepcopy(base_model)
        base_model.name = "base"
    return [(" -> ".join(order), build_stages(base_model, base_model.name, [(n, by_name[n]) for n in order]))
            for order in orders]


def ablation_rows(stages: Sequence[tuple[str, str, Any]], results: Mapping, order: str,
                  test: Callable[..., Mapping]) -> list[dict]:
    """One row per stage of one order: each metric's mean, the latency interval, the stored size, the deltas
    from the previous stage and, by `test(before, after, metric)["significant"]`, whether each changed."""
    rows, previous = [], None
    for index, (name, step, model) in enumerate(stages):
        row = {"order": order, "stage": index, "step": step, "model": name}
        for metric, info in METRICS.items():
            row[info.column] = results[metric][name].mean
        row["latency_ci_low"], row["latency_ci_high"] = results["latency"][name].ci_lower, results["latency"][name].ci_upper
        row["model_size_mb"] = model_size_mb(model)[0]
        for column in [info.column for info in METRICS.values()] + ["model_size_mb"]:
            before = previous[column] if previous else None
            row[f"delta_{column}"] = None if before is None or row[column] is None else row[column] - before
        for metric in METRICS:
            row[f"{metric}_change_significant"] = None if previous is None else test(
                results[metric][previous["model"]], results[metric][name], metric)["significant"]
        rows.append(row)
        previous = row
    return rows
