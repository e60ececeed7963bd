"""Noise-aware ranks: entries whose difference is not significant share a place.

Method (the words `METHOD` says on the board and the page):

1. Every pair of entries is tested on the event's score.
   - Scores that vary with timing (latency sprint, all-around, extreme push, and the memory challenge,
     whose values are exact and the same in every process) are compared on the logs of their
     per-process scores: a paired t-test when both entries were measured in the same processes (the
     same run: every process measured every entry, interleaved), else Welch's t-test. With no spread
     at all the comparison is exact: different values differ, equal ones tie.
   - The accuracy contest compares the two entries' answers on the same test images with McNemar's
     exact test (only the images one got right and the other wrong count).
2. Holm's step-down correction over all pairs keeps the chance of any false "significantly better"
   on the whole board at or below alpha (5 %).
3. rank = 1 + the number of entries significantly better. An entry's places run from that rank to
   (number of entries - the number significantly worse): "1-3" means it may be first, second or third;
   a single number means every other entry is significantly better or worse.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

ALPHA = 0.05
METHOD = ("rank = 1 + the number of entries significantly better; pairwise tests on the event score "
          "(paired t-test on log per-process scores within a run, Welch's t-test across runs, McNemar's exact "
          "test on the test images for the accuracy contest), Holm-corrected over all pairs at alpha = 0.05; "
          "places = the ranks an entry could hold given the tests")


@dataclass(frozen=True)
class PairTest:
    """One comparison: `direction` +1 if the first entry scores higher, -1 if lower, 0 if equal."""

    p_value: float
    direction: int
    test: str


@dataclass(frozen=True)
class Comparison:
    first: str
    second: str
    p_value: float
    adjusted_p: float
    direction: int
    test: str
    significant: bool


@dataclass
class Placement:
    key: str
    estimate: float
    rank: int
    worst: int
    plain_rank: int
    better: list[str] = field(default_factory=list)  # entries significantly better than this one
    worse: list[str] = field(default_factory=list)  # entries significantly worse

    @property
    def places(self) -> str:
        return str(self.rank) if self.rank == self.worst else f"{self.rank}-{self.worst}"


@dataclass
class Ranking:
    placements: list[Placement]  # best first
    comparisons: list[Comparison]
    method: str = METHOD
    alpha: float = ALPHA

    def placement(self, key: str) -> Placement:
        return next(p for p in self.placements if p.key == key)


def holm_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input's order.

    Sorted ascending, the k-th smallest p (k from 0) is multiplied by (m - k), then a running maximum
    keeps the order; an adjusted value is at least its raw p and at most 1. Comparing the adjusted
    values with alpha rejects exactly the hypotheses Holm's sequential procedure rejects.
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def log_score_test(a, b, paired: bool) -> PairTest:
    """Compare two positive samples on the log scale (paired: the same processes, element by element)."""
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    name = "paired t-test on log scores" if paired else "Welch t-test on log scores"
    if paired:
        if la.size != lb.size:
            raise ValueError(f"a paired test needs samples of equal size, got {la.size} and {lb.size}")
        difference = la - lb
        centre = float(difference.mean())
        if difference.size < 2 or float(difference.std()) == 0.0:
            return PairTest(0.0 if centre != 0 else 1.0, _sign(centre), name + " (no spread: exact)")
        return PairTest(float(stats.ttest_1samp(difference, 0.0).pvalue), _sign(centre), name)
    centre = float(la.mean() - lb.mean())
    if float(la.std()) == 0.0 and float(lb.std()) == 0.0:
        return PairTest(0.0 if centre != 0 else 1.0, _sign(centre), name + " (no spread: exact)")
    if la.size < 2 or lb.size < 2:
        return PairTest(1.0, _sign(centre), name + " (too few values to test)")
    return PairTest(float(stats.ttest_ind(la, lb, equal_var=False).pvalue), _sign(centre), name)


def mcnemar_test(correct_a, correct_b) -> PairTest:
    """McNemar's exact test on two models' right/wrong answers to the same samples."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"McNemar's test needs answers to the same samples, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    name = f"McNemar exact test ({only_a} vs {only_b} images right by one only)"
    if only_a + only_b == 0:
        return PairTest(1.0, 0, name)
    return PairTest(float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue), _sign(only_a - only_b), name)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def plain_ranks(estimates: Mapping[str, float]) -> dict[str, int]:
    """1..n by the point estimate alone (higher is better), as most leaderboards rank."""
    order = sorted(estimates, key=lambda key: -estimates[key])
    return {key: position + 1 for position, key in enumerate(order)}


def noise_aware_ranking(estimates: Mapping[str, float], test: Callable[[str, str], PairTest],
                        alpha: float = ALPHA) -> Ranking:
    """Rank entries by `estimates` (higher is better) where `test(a, b)` finds the difference significant.

    Args:
        estimates: key -> the entry's point estimate, used for the order within a shared place.
        test: the pairwise test of two keys.
        alpha: the family-wise error rate of all "significantly better" claims together.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be between 0 and 1, e.g. 0.05")
    keys = list(estimates)
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]]
    tests = [test(a, b) for a, b in pairs]
    adjusted = holm_adjust([t.p_value for t in tests])
    comparisons = [Comparison(a, b, t.p_value, float(q), t.direction, t.test, bool(q < alpha and t.direction != 0))
                   for (a, b), t, q in zip(pairs, tests, adjusted)]
    better: dict[str, list[str]] = {key: [] for key in keys}
    worse: dict[str, list[str]] = {key: [] for key in keys}
    for c in comparisons:
        if c.significant:
            winner, loser = (c.first, c.second) if c.direction > 0 else (c.second, c.first)
            better[loser].append(winner)
            worse[winner].append(loser)
    plain = plain_ranks(estimates)
    placements = [Placement(key, float(estimates[key]), 1 + len(better[key]), len(keys) - len(worse[key]),
                            plain[key], better[key], worse[key]) for key in keys]
    placements.sort(key=lambda p: (p.rank, -p.estimate if math.isfinite(p.estimate) else math.inf))
    return Ranking(placements, comparisons, METHOD, alpha)
