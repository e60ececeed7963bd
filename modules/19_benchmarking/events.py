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
# # The TorchPerf Olympics: the events and their rules, as data
#
# Provided code for Module 19 (no exercises). Each event says what it optimizes, in which direction, and
# which constraints an entry must meet to be ranked at all; `OLYMPIC_SCORED_METRICS` says which
# measurements make its score. Keeping the rules as data lets the report print them and the scoring
# code (the lesson's `olympics` room) apply them uniformly.

# %%
#| default_exp benchmarking.events
#| export
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# %%
#| export
@dataclass(frozen=True)
class Constraint:
    """A bound a measurement must respect, e.g. `Constraint("accuracy", ">=", 0.85, "fraction")`."""

    metric: str
    comparison: str  # one of "<", "<=", ">", ">="
    bound: float
    unit: str = ""

    def is_met(self, value: float) -> bool:
        """Whether `value` (in this constraint's unit) satisfies the bound."""
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
        return bool(compare[self.comparison](float(value), float(self.bound)))

    def __str__(self) -> str:
        return f"{self.metric} {self.comparison} {self.bound:g} {self.unit}".rstrip()


@dataclass(frozen=True)
class Objective:
    """What an event optimizes: a metric and a direction ("minimize" or "maximize")."""

    metric: str
    direction: str
    description: str


_EVENT_RULES: dict[str, tuple[Objective, tuple[Constraint, ...]]] = {
    "latency_sprint": (Objective("latency", "minimize", "fastest inference"),
                       (Constraint("accuracy", ">=", 0.85, "fraction"),)),
    "memory_challenge": (Objective("memory", "minimize", "smallest peak memory during an inference"),
                         (Constraint("accuracy", ">=", 0.85, "fraction"),)),
    "accuracy_contest": (Objective("accuracy", "maximize", "highest accuracy within budgets"),
                         (Constraint("latency", "<", 100.0, "ms"), Constraint("memory", "<", 10.0, "MB"))),
    "all_around": (Objective("balanced", "maximize", "best balance of accuracy, latency and memory"), ()),
    "extreme_push": (Objective("reduction", "maximize", "largest latency and memory reduction that stays viable"),
                     (Constraint("accuracy", ">=", 0.80, "fraction"),)),
}


class OlympicEvent(Enum):
    """The TorchPerf Olympics events; `objective` and `constraints` are the rules as data."""

    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

    @property
    def objective(self) -> Objective:
        return _EVENT_RULES[self.value][0]

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        return _EVENT_RULES[self.value][1]


OLYMPIC_SCORED_METRICS = {  # objective metric -> the measurements whose ratios make the score
    "latency": ("latency",), "memory": ("memory",), "accuracy": ("accuracy",),
    "balanced": ("latency", "memory", "accuracy"), "reduction": ("latency", "memory"),
}


