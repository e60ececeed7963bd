"""MFCC, AUC, accuracy and the latency summary against reference computations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from tinytorch.benchmarking.tinymlperf import MIN_QUERIES, mel_filterbank, mfcc, roc_auc, summarize_latencies, top1_accuracy


@pytest.mark.task("tinymlperf-mfcc")
def test_mfcc_has_mlperf_shape_and_rejects_short_signals():
    assert mfcc(np.random.default_rng(0).standard_normal(16000)).shape == (49, 10)
    with pytest.raises(ValueError, match="at least frame_length"):
        mfcc(np.zeros(100))
    with pytest.raises(ValueError, match="n_fft"):
        mfcc(np.zeros(16000), n_fft=256)


def test_mel_filters_peak_in_order_and_cover_the_range():
    filters = mel_filterbank(40, 1024, 16000, 20.0, 4000.0)
    assert filters.shape == (40, 513)
    peaks = filters.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and filters.max() <= 1.0
    assert filters[:, 1024 * 4100 // 16000:].sum() == 0, "nothing above high_hz"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=60))
def test_roc_auc_matches_sklearn_including_ties(pairs):
    labels = np.array([p[0] for p in pairs])
    scores = np.array([p[1] for p in pairs], dtype=float)
    if labels.min() == labels.max():
        with pytest.raises(ValueError, match="both classes"):
            roc_auc(labels, scores)
    else:
        assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_top1_accuracy_takes_scores_or_labels():
    assert top1_accuracy([1, 0], np.array([[0.1, 0.9], [0.2, 0.8]])) == 0.5
    assert top1_accuracy([1, 0], np.array([1, 0])) == 1.0


@pytest.mark.task("tinymlperf-latency-summary")
@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=1, max_size=700))
def test_latency_summary_uses_observed_values_and_flags_by_count(values):
    summary = summarize_latencies(values)
    for name in ("p50", "p90", "p99"):
        assert summary[f"{name}_latency_ms"] in values, "nearest-rank percentiles are observed latencies"
        assert summary["percentile_valid"][name] == (len(values) >= MIN_QUERIES[name])
    assert summary["min_latency_ms"] <= summary["p50_latency_ms"] <= summary["p90_latency_ms"] \
        <= summary["p99_latency_ms"] <= summary["max_latency_ms"]


@pytest.mark.task("tinymlperf-latency-summary")
def test_mlperf_minimum_query_counts():
    assert MIN_QUERIES["p90"] == 64 and MIN_QUERIES["p99"] == 662
    assert summarize_latencies(np.ones(63))["percentile_valid"]["p90"] is False
    assert summarize_latencies(np.ones(64))["percentile_valid"]["p90"] is True
    assert summarize_latencies(np.ones(661))["percentile_valid"]["p99"] is False
