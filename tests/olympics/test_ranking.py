"""Noise-aware ranks: Holm against the sequential procedure, the pair tests against scipy, ties that hold."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tito.olympics.ranking import (METHOD, PairTest, holm_adjust, log_score_test, mcnemar_test, noise_aware_ranking,
                                   plain_ranks)


def holm_sequential(p_values, alpha):
    """Holm's procedure as written: step down the sorted p-values, stop at the first that is not small enough."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = set()
    for step, index in enumerate(order):
        if p_values[index] <= alpha / (len(p_values) - step):
            rejected.add(index)
        else:
            break
    return rejected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_adjusted_values_reject_what_holm_rejects(p_values, alpha):
    adjusted = holm_adjust(p_values)
    assert {i for i, q in enumerate(adjusted) if q <= alpha} == holm_sequential(p_values, alpha)
    assert all(q >= p - 1e-15 and q <= 1.0 for p, q in zip(p_values, adjusted))


def test_holm_known_values():
    # m = 3: sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (running maximum)
    assert holm_adjust([0.04, 0.01, 0.02]).tolist() == pytest.approx([0.04, 0.03, 0.04])
    with pytest.raises(ValueError, match="must lie in"):
        holm_adjust([0.5, float("nan")])


def test_paired_log_test_is_scipys_paired_t_test_on_logs():
    rng = np.random.default_rng(1)
    a, b = np.exp(rng.normal(0, 0.1, 8)), np.exp(rng.normal(0.2, 0.1, 8))
    result = log_score_test(a, b, paired=True)
    assert result.p_value == pytest.approx(stats.ttest_rel(np.log(a), np.log(b)).pvalue)
    assert result.direction == np.sign(np.log(a).mean() - np.log(b).mean())
    welch = log_score_test(a, b, paired=False)
    assert welch.p_value == pytest.approx(stats.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue)
    assert "Welch" in welch.test and "paired" in result.test


def test_no_spread_is_exact():
    same = log_score_test([2.0, 2.0], [2.0, 2.0], paired=True)
    assert same == PairTest(1.0, 0, "paired t-test on log scores (no spread: exact)")
    different = log_score_test([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], paired=False)
    assert (different.p_value, different.direction) == (0.0, 1)


def test_paired_test_sees_through_process_noise():
    """Both entries slowed alike by each process: the paired test finds the 3% gap, Welch does not."""
    rng = np.random.default_rng(7)
    process = np.exp(rng.normal(0, 0.2, 10))
    a, b = process * 1.0, process * 1.03 * np.exp(rng.normal(0, 0.005, 10))
    assert log_score_test(a, b, paired=True).p_value < 1e-4
    assert log_score_test(a, b, paired=False).p_value > 0.5


def test_mcnemar_counts_only_the_images_one_got_right():
    a = np.array([True] * 180 + [True] * 12 + [False] * 8)
    b = np.array([True] * 180 + [False] * 12 + [True] * 2 + [False] * 6)
    result = mcnemar_test(a, b)
    assert result.p_value == pytest.approx(stats.binomtest(12, 14, 0.5).pvalue)
    assert result.direction == 1 and "12 vs 2" in result.test
    assert mcnemar_test(a, a) == PairTest(1.0, 0, "McNemar exact test (0 vs 0 images right by one only)")
    with pytest.raises(ValueError, match="same samples"):
        mcnemar_test(a, b[:10])


def ranking_from(samples: dict[str, np.ndarray]):
    estimates = {k: float(np.exp(np.log(v).mean())) for k, v in samples.items()}
    return noise_aware_ranking(estimates, lambda a, b: log_score_test(samples[a], samples[b], paired=True))


def test_entries_inside_the_noise_share_a_rank():
    rng = np.random.default_rng(3)
    noise = lambda: np.exp(rng.normal(0, 0.05, 10))  # noqa: E731
    samples = {"fast": 2.0 * noise(), "same-a": 1.0 * noise(), "same-b": 1.0 * noise(), "slow": 0.5 * noise()}
    ranking = ranking_from(samples)
    places = {p.key: (p.rank, p.places) for p in ranking.placements}
    assert places == {"fast": (1, "1"), "same-a": (2, "2-3"), "same-b": (2, "2-3"), "slow": (4, "4")}
    assert ranking.placements[0].key == "fast" and ranking.method == METHOD
    assert set(ranking.placement("slow").better) == {"fast", "same-a", "same-b"}
    assert len(ranking.comparisons) == 6


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.5, 2.0), min_size=2, max_size=8), st.integers(0, 2**16))
def test_rank_laws(centres, seed):
    """Ranks are 1 + the number significantly better; places are consistent; no entry beats itself."""
    rng = np.random.default_rng(seed)
    samples = {f"e{i}": c * np.exp(rng.normal(0, 0.05, 6)) for i, c in enumerate(centres)}
    ranking = ranking_from(samples)
    n = len(samples)
    for p in ranking.placements:
        assert p.rank == 1 + len(p.better) and p.worst == n - len(p.worse)
        assert 1 <= p.rank <= p.worst <= n and p.key not in p.better + p.worse
        for other in p.better:
            assert p.key in ranking.placement(other).worse
    ranks = [p.rank for p in ranking.placements]
    assert ranks == sorted(ranks)


def test_plain_ranks_order_by_the_estimate():
    assert plain_ranks({"a": 1.0, "b": 3.0, "c": 2.0}) == {"b": 1, "c": 2, "a": 3}


def test_alpha_is_checked():
    with pytest.raises(ValueError, match="alpha=1.5"):
        noise_aware_ranking({"a": 1.0}, lambda a, b: PairTest(1.0, 0, "t"), alpha=1.5)
