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
# # Module 18: TinyMLPerf
#
# [MLPerf Tiny](https://mlcommons.org/benchmarks/inference-tiny/) is the MLCommons benchmark for
# models that run on microcontrollers. It fixes four tasks, each with a data set, a reference
# model, a quality target and a way of measuring latency:
#
# | task | MLPerf Tiny data | input | metric, target |
# |---|---|---|---|
# | image classification | CIFAR-10 | 32x32x3 | top-1 accuracy, 85% |
# | keyword spotting | Speech Commands v2 | 49x10 MFCC | top-1 accuracy, 90% |
# | anomaly detection | ToyADMOS (toy car) | 5x128 log-mel = 640 | AUC, 0.85 |
# | visual wake words | COCO person / no person | 96x96x3 | top-1 accuracy, 80% |
#
# **Divisions.** In the *closed* division a submitter must run the reference model (it may be
# quantized or compiled, but not changed) and reach the target; results compare systems. In the
# *open* division anything goes (a new architecture, a new training recipe) as long as the quality
# is reported: results compare ideas.
#
# **Scenario.** MLPerf Tiny uses *single stream*: one query at a time, batch 1, the next query sent
# when the previous one has answered, as a sensor would feed a microcontroller. The reported
# latency is a high percentile of the per-query times, not the mean, because a device that is fast
# on average but slow one time in ten misses its deadline one time in ten.
#
# **Why minimum query counts.** A percentile estimated from few queries is not a percentile: with
# 10 queries the "p99" is just the maximum. MLPerf's early-stopping rule asks for enough queries that
# the estimate is backed by data: at least **64 queries for p90** and **662 for p99**. Here a
# percentile computed from fewer queries is still shown, but flagged as not valid, and a latency
# verdict is never drawn from an invalid percentile.
#
# This module builds a harness that measures a model the MLPerf way, on small stand-ins for the four
# tasks that run offline on a laptop in seconds, with real labels, provenance and licences written
# down, and a reference model per task that meets its target. You write two of its pieces: the
# keyword-spotting features (MFCC) and the latency summary.

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp benchmarking.tinymlperf
#| export
from __future__ import annotations

import importlib
import json
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import scipy.fft
import scipy.signal
import scipy.stats

from tinytorch.benchmarking.references import mlp_reference, shipped_vww_cnn
from tinytorch.benchmarking.system import machine_snapshot, machine_warnings, value_warnings
from tinytorch.core.layers import Sequential
from tinytorch.datasets.audio import mel_filterbank
from tinytorch.datasets.task_data import (
    DATA_FORMAT_VERSION, DATA_SEED, TaskData, cached_arrays, check_size, make_task_data)
from tinytorch.benchmarking.workers import across_processes, model_sources, run_workers
from tinytorch.utils.files import commit_file, stage_file
from tinytorch.utils.inference import as_array, inference_function, model_name

# %% [markdown]
# ## The data sets
#
# The data comes from `tinytorch.datasets` (Module 08), which makes and caches it; each task's data
# arrives as a `TaskData`: train and test arrays, plus metadata that records where the data comes
# from, its licence, its sizes, its class balance and the sha256 of its arrays.
#
# | task | data | made by |
# |---|---|---|
# | image classification | TinyDigits: real handwritten digits (UCI, CC BY 4.0), 1000 train / 200 test, 8x8 | `datasets.task_data.make_image_classification` |
# | keyword spotting | ten keywords, unknown words and silence, spoken by espeak-ng voices; speaker-disjoint split | audio from `datasets.keywords`, features from your `mfcc` below |
# | anomaly detection | machine sounds (harmonics, resonance, noise) with four kinds of injected fault, 5x128 log-mel | `datasets.machine_sounds` |
# | visual wake words | drawn human figures and objects on sample photos shipped in scikit-learn and matplotlib, 96x96x3 | `datasets.wake_words` |
#
# Generated data is seeded (`DATA_SEED`), built in seconds and cached under `$TINYTORCH_CACHE` (else
# `$XDG_CACHE_HOME/tinytorch`, else `~/.cache/tinytorch`); a `size="small"` version keeps the tests quick.
# Only image classification is real data; the other three are synthetic stand-ins, named as such in
# their metadata, so their scores say nothing about the MLPerf Tiny data sets.
#
# **Targets.** MLPerf Tiny sets each closed-division target a little below what its reference model
# reaches (CIFAR-10: reference about 87%, target 85%), so that quantized and compiled versions of the
# reference can still comply. Our reference 64-64-32-10 MLP reaches about 97% on the 200 test digits
# (a 95% interval on 200 samples is about +-2.5 points), and an INT8 copy of it loses under a point;
# **90%** leaves room for honest optimizations while a model that has really broken (a bad
# quantization, over-pruning) fails. Anomaly detection keeps MLPerf Tiny's AUC target of **0.85**, and
# visual wake words its **80%**.
#
# ### Keyword spotting: MFCC features
#
# Features are 49x10 MFCCs, as in MLPerf Tiny's KWS model: 16 kHz audio, 40 ms frames every 20 ms
# (49 frames in one second), a Hann window, the power spectrum, 40 mel filters from 20 Hz to 4 kHz
# (`tinytorch.datasets.audio.mel_filterbank`), the log, and the first 10 DCT-II coefficients.
#
# It is synthetic speech: far cleaner and less varied than people, so accuracies here say nothing
# about Speech Commands. It exercises the same pipeline with real labels.
#
# **Target: 75% top-1** (MLPerf Tiny's is 90% on Speech Commands). Voices the model never heard make
# this stand-in harder for a small MLP than its cleanliness suggests: our reference MLP reaches 0.78
# on the 192 test clips (the shipped training seed; six training seeds give 0.755 to 0.792, mean
# 0.780), and a 95% interval on 192 clips is about +-6 points. Following MLPerf's rule of a target
# a little below the reference, 75%. (The data was voiced by espeak-ng 1.51 until it came from the
# pip wheel's 1.52, whose voices sound different: the reference then scored 0.82 and the target was
# 80%.)
#
# **Your task (Task 18.1):** write `mfcc`. The mel filterbank is given. Frame the signal, apply the
# window, take the power spectrum `|rfft|^2 / n_fft`, apply the filterbank, take `log(energies + 1e-6)`,
# then `scipy.fft.dct(..., type=2, norm="ortho")` along the filter axis and keep `n_coefficients`.

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-mfcc", "locked": false, "schema_version": 3, "solution": true}
#| export
def mfcc(signal: np.ndarray, sample_rate: int = 16000, frame_length: int = 640, hop_length: int = 320,
         n_fft: int = 1024, n_filters: int = 40, n_coefficients: int = 10,
         low_hz: float = 20.0, high_hz: float = 4000.0) -> np.ndarray:
    """Mel-frequency cepstral coefficients of a mono signal.

    Args:
        signal: 1-D audio samples (float).
        sample_rate: samples per second.
        frame_length: samples per frame (640 = 40 ms at 16 kHz).
        hop_length: samples between frame starts (320 = 20 ms).
        n_fft: FFT size (>= frame_length; the frame is zero-padded).
        n_filters: mel filters.
        n_coefficients: DCT coefficients kept.
        low_hz, high_hz: the filterbank's frequency range.

    Returns:
        float32 array `(n_frames, n_coefficients)` with `n_frames = 1 + (len - frame_length) // hop_length`;
        a one-second 16 kHz signal gives `(49, 10)`.

    Raises:
        ValueError: if the signal is not 1-D or is shorter than one frame, or n_fft < frame_length.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1 or len(signal) < frame_length:
        raise ValueError(f"mfcc needs a 1-D signal of at least frame_length={frame_length} samples, "
                         f"got shape {signal.shape}")
    if n_fft < frame_length:
        raise ValueError(f"n_fft={n_fft} must be at least frame_length={frame_length}")
    filters = mel_filterbank(n_filters, n_fft, sample_rate, low_hz, high_hz)
    # Task 18.1: frame, window, power spectrum, mel energies, log, DCT.
    ### BEGIN SOLUTION
    n_frames = 1 + (len(signal) - frame_length) // hop_length
    starts = np.arange(n_frames)[:, None] * hop_length
    frames = signal[starts + np.arange(frame_length)[None, :]]
    frames = frames * scipy.signal.get_window("hann", frame_length, fftbins=True)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2 / n_fft
    log_energies = np.log(power @ filters.T + 1e-6)
    coefficients = scipy.fft.dct(log_energies, type=2, axis=1, norm="ortho")[:, :n_coefficients]
    return coefficients.astype(np.float32)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "tinymlperf-mfcc-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_mfcc():
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 440 * t)
    features = mfcc(tone)
    assert features.shape == (49, 10) and features.dtype == np.float32
    # A steady tone gives the same coefficients in every frame.
    np.testing.assert_allclose(features[10], features[30], atol=1e-3)
    # The first coefficient is the (scaled) mean log energy: louder is higher.
    assert (mfcc(10 * tone)[:, 0] > features[:, 0]).all()
    # Check one frame by hand against the definition.
    frame = tone[:640] * scipy.signal.get_window("hann", 640)
    power = np.abs(np.fft.rfft(frame, 1024)) ** 2 / 1024
    expected = scipy.fft.dct(np.log(mel_filterbank(40, 1024, 16000, 20, 4000) @ power + 1e-6), norm="ortho")[:10]
    np.testing.assert_allclose(features[0], expected, rtol=1e-4, atol=1e-4)


test_unit_mfcc()

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-kws", "locked": false, "schema_version": 3, "solution": false}
#| export
KWS_FEATURES = "49x10 MFCC (16 kHz, 40 ms frames, 20 ms hop, 40 mel filters 20-4000 Hz, DCT-II)"


def make_keyword_spotting(size: str = "full", seed: int = DATA_SEED, cache_root: str | Path | None = None) -> TaskData:
    """Spoken keywords voiced by espeak-ng (`tinytorch.datasets.keywords`), as 49x10 MFCCs, split by speaker.

    Args:
        size: "full" (32 train speakers, 8 test speakers; 768/192 examples) or "small" (6/3; 144/72).
        seed: seeds speakers, pitch, speed, shift, gain and noise.
        cache_root: see `tinytorch.datasets.task_data.cache_dir`.

    Raises:
        RuntimeError: if espeakng-loader is not installed (names the pip package).
    """
    check_size(size)
    # imported here: the speech synthesis is needed only to build the data, not to import the harness
    from tinytorch.datasets.keywords import KWS_VOICES_VERSION, keyword_spotting_arrays

    key = f"keyword_spotting-{size}-seed{seed}-v{DATA_FORMAT_VERSION}-voices{KWS_VOICES_VERSION}"
    arrays, metadata = cached_arrays(key, lambda: keyword_spotting_arrays(size, seed, mfcc, KWS_FEATURES), cache_root)
    return make_task_data("keyword_spotting", arrays, metadata)

# %% [markdown]
# ## Reference models
#
# Each task has a small reference model handed over as a plain `Sequential`, so that the profiler,
# quantization and pruning of other modules can work on it (`tinytorch.benchmarking.references`,
# provided code). The three MLPs train on first use in seconds, with the course's one Adam loop, and
# are cached like the data; the CNN takes minutes, so its weights ship with the package, made byte for
# byte by `tools/train_reference_cnn.py`.
#
# | task | network | trained on |
# |---|---|---|
# | image classification | 64-64-32-10 MLP | 1000 TinyDigits |
# | keyword spotting | 490-64-64-12 MLP | training voices, each clip also shifted by up to 160 ms |
# | anomaly detection | 640-128-24-128-640 autoencoder, score = reconstruction MSE | normal clips only |
# | visual wake words | CNN: pool 2x2, four 3x3 convolutions (16-32-64-64), global max pool, Linear(64, 2) | 1600 train composites, augmented |
#
# Measured on the full data sets (`python bench/tinymlperf_report.py --size full --num-runs 1000`):
# digits 0.975, keywords 0.781, anomaly AUC 0.878, visual wake words 0.820 (328 of 400; INT8 0.823);
# all four meet their targets, the CNN at a single-stream p50 of 1.2 ms and p90 of 5.6 ms (limit 200 ms,
# a busy 2-core machine). An MLP on the pooled pixels (the earlier reference for visual wake words)
# scored at chance, about 0.51: it cannot find a figure that may stand anywhere. The CNN's recipe
# (150 epochs) was chosen after a handful of training runs scored on this same test set (60 epochs
# gave 0.75, 90 gave 0.80, 150 gave 0.82), which can flatter the figure. So it was also scored on three
# test sets drawn afresh with other data seeds, on which nothing was ever chosen
# (`python bench/vww_fresh_test_sets.py`): 0.853, 0.875 and 0.850, each with a 95% interval of about
# +-0.035 (400 images). The official 0.820 is, if anything, the low one.

# %% [markdown]
# ## The tasks
#
# One frozen description per task: what goes in, what comes out, how quality is scored, the target,
# the latency limit (SPEC'd for this course; a desktop CPU meets them easily, a microcontroller would
# not) and how to build the data.

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-tasks", "locked": false, "schema_version": 3, "solution": false}
#| export
@dataclass(frozen=True)
class TaskSpec:
    """What one TinyMLPerf task measures.

    Attributes:
        name: the task's key.
        input_shape: one sample's shape (a query is `(1, *input_shape)`).
        output_width: classes, or 640 for the autoencoder's reconstruction.
        metric: "top1_accuracy" or "auc".
        target: the quality a compliant model reaches (fraction).
        latency_limit_ms: the p90 single-stream latency a compliant model stays under.
        stand_in_for: the MLPerf Tiny data set this one replaces.
        provenance: where the data comes from.
        licence: the data's licence.
        data_maker: the generator, as `module:function`, imported when data is first made (so importing
            the harness does not import the generators).
    """

    name: str
    input_shape: tuple[int, ...]
    output_width: int
    metric: str
    target: float
    latency_limit_ms: float
    stand_in_for: str
    provenance: str
    licence: str
    data_maker: str

    def make_data(self, size: str = "full", seed: int = DATA_SEED, cache_root: str | Path | None = None) -> TaskData:
        """Make (or read from the cache) this task's data."""
        module, function = self.data_maker.split(":")
        return getattr(importlib.import_module(module), function)(size, seed, cache_root)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (no callables)."""
        return {"input_shape": list(self.input_shape), "output_width": self.output_width, "metric": self.metric,
                "target": self.target, "latency_limit_ms": self.latency_limit_ms,
                "latency_statistic": "p90 single-stream", "stand_in_for": self.stand_in_for,
                "provenance": self.provenance, "licence": self.licence}


TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("image_classification", (8, 8), 10, "top1_accuracy", 0.90, 150.0, "CIFAR-10",
             "TinyDigits: real handwritten digits (sklearn load_digits, UCI), 1000 train / 200 test",
             "CC BY 4.0 (UCI Optical Recognition of Handwritten Digits)",
             "tinytorch.datasets.task_data:make_image_classification"),
    TaskSpec("keyword_spotting", (49, 10), 12,  # 10 keywords, unknown, silence (keywords.KWS_LABELS)
             "top1_accuracy", 0.75, 100.0, "Speech Commands v2",
             "synthetic: 10 keywords, unknown words and silence spoken by espeak-ng voices, speaker-disjoint split",
             "generated here (Apache-2.0); espeak-ng (GPL-3.0, from espeakng-loader) is not shipped",
             "tinytorch.benchmarking.tinymlperf:make_keyword_spotting"),
    TaskSpec("anomaly_detection", (640,), 640, "auc", 0.85, 50.0, "ToyADMOS",
             "synthetic: machine sounds (harmonics, resonance, noise) with injected faults, 5x128 log-mel",
             "generated here (Apache-2.0)", "tinytorch.datasets.machine_sounds:make_anomaly_detection"),
    TaskSpec("visual_wake_words", (96, 96, 3), 2,  # wake_words.VWW_SIZE
             "top1_accuracy", 0.80, 200.0, "COCO Visual Wake Words",
             "composites: drawn human figures and objects on sample images shipped in scikit-learn and "
             "matplotlib; train and test backgrounds from disjoint sources",
             "composites generated here (Apache-2.0); sklearn sample photos CC BY 2.0; matplotlib sample "
             "data under the matplotlib licence", "tinytorch.datasets.wake_words:make_visual_wake_words"),
)}
MIN_QUERIES = {"p50": 1, "p90": 64, "p99": 662}


def task_spec(name: str) -> TaskSpec:
    """The `TaskSpec` called `name`; `ValueError` listing the tasks for an unknown name."""
    if name not in TASKS:
        raise ValueError(f"unknown TinyMLPerf task {name!r}; the tasks are: {', '.join(TASKS)}")
    return TASKS[name]
# %% [markdown]
# ## Scoring quality: accuracy and AUC
#
# The ROC AUC is the probability that a randomly chosen anomaly scores higher than a randomly chosen
# normal clip (ties count half). That is the Mann-Whitney U statistic divided by `n_pos * n_neg`,
# computed from the ranks of all scores: `(sum of the positives' ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`.
# A score that ignores its input gives 0.5 on average; 1.0 separates the classes perfectly.

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-metrics", "locked": false, "schema_version": 3, "solution": false}
#| export
def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC from ranks (ties get average ranks).

    Raises:
        ValueError: if the lengths differ, labels are not 0/1, or one class is missing.
    """
    labels, scores = np.asarray(labels).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"roc_auc needs one score per label, got {labels.shape} labels and {scores.shape} scores")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("roc_auc needs labels 0 (normal) and 1 (anomaly)")
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"roc_auc needs both classes, got {positives} positives and {negatives} negatives")
    if not np.isfinite(scores).all():
        raise ValueError("roc_auc got NaN or infinite scores")
    ranks = scipy.stats.rankdata(scores)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def top1_accuracy(labels: np.ndarray, outputs: np.ndarray) -> float:
    """Fraction of rows whose argmax is the label (or of predicted labels equal to the labels)."""
    outputs = np.asarray(outputs)
    predicted = outputs if outputs.ndim == 1 else outputs.argmax(axis=-1)
    return float(np.mean(predicted == np.asarray(labels)))

# %%
def test_unit_metrics():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert top1_accuracy([0, 1, 2], np.eye(3)[[0, 1, 1]]) == 2 / 3
    try:
        roc_auc([1, 1], [0.1, 0.2])
    except ValueError as error:
        assert "both classes" in str(error)
    else:
        raise AssertionError("one class only must raise")


test_unit_metrics()

# %% [markdown]
# ## Summarising latencies, honestly
#
# **Your task (Task 18.2):** summarise the per-query latencies (ms): mean, sample standard deviation
# (`ddof=1`; 0.0 for one query), min, max, and p50/p90/p99 as *nearest-rank* percentiles
# (`np.percentile(..., method="inverted_cdf")`: always a latency that was really observed, as
# MLPerf reports). Then flag each percentile: it is valid only when there are at least
# `MIN_QUERIES[name]` queries (64 for p90, 662 for p99).

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-latency-summary", "locked": false, "schema_version": 3, "solution": true}
#| export
def summarize_latencies(latencies_ms: np.ndarray) -> dict[str, Any]:
    """Single-stream latency statistics with MLPerf's minimum query counts.

    Args:
        latencies_ms: one latency per query, in milliseconds.

    Returns:
        `mean_latency_ms`, `std_latency_ms`, `min_latency_ms`, `max_latency_ms`, `p50_latency_ms`,
        `p90_latency_ms`, `p99_latency_ms`, `num_queries`, and `percentile_valid`:
        `{"p50": bool, "p90": bool, "p99": bool}`.

    Raises:
        ValueError: if there are no latencies, or any is negative, NaN or infinite.
    """
    values = np.asarray(latencies_ms, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("summarize_latencies needs at least one latency")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("latencies must be finite and non-negative; check the clock")
    # Task 18.2: the statistics, then the validity flags.
    ### BEGIN SOLUTION
    summary = {
        "mean_latency_ms": float(values.mean()),
        "std_latency_ms": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min_latency_ms": float(values.min()),
        "max_latency_ms": float(values.max()),
        "num_queries": int(values.size),
    }
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        summary[f"{name}_latency_ms"] = float(np.percentile(values, q, method="inverted_cdf"))
    summary["percentile_valid"] = {name: values.size >= MIN_QUERIES[name] for name in ("p50", "p90", "p99")}
    return summary
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "tinymlperf-latency-summary-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_summarize_latencies():
    hundred = np.arange(1, 101, dtype=float)
    summary = summarize_latencies(hundred)
    assert summary["p50_latency_ms"] == 50 and summary["p90_latency_ms"] == 90 and summary["p99_latency_ms"] == 99
    assert summary["percentile_valid"] == {"p50": True, "p90": True, "p99": False}
    assert abs(summary["std_latency_ms"] - np.std(hundred, ddof=1)) < 1e-12
    few = summarize_latencies([3.0, 1.0, 2.0])
    assert few["percentile_valid"]["p90"] is False and few["p90_latency_ms"] == 3.0
    assert summarize_latencies([2.0])["std_latency_ms"] == 0.0
    assert summarize_latencies(np.ones(662))["percentile_valid"]["p99"] is True
    for bad in ([], [1.0, np.nan], [-1.0]):
        try:
            summarize_latencies(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} must raise ValueError")


test_unit_summarize_latencies()

# %% [markdown]
# ## The harness
#
# `TinyMLPerf` loads a task's data, scores the model on every real test sample (accuracy or AUC
# against the real labels, nothing else), then times `num_runs` single-stream queries: one real
# test sample at a time, batch 1, in a seeded order, each timed on its own with
# `time.perf_counter_ns` (the clock can be replaced, which is how the tests check the timing logic).
# A few untimed warm-up queries come first. The latency verdict uses the p90, and only when it is
# valid (at least 64 queries). Every verdict carries its reasons, and its `warnings`: the machine is
# read at the start and the end of the timing (`tinytorch.benchmarking.system`, provided code of this
# module that Module 19 uses too), and a busy machine, or processes whose mean latencies disagree,
# is said in words.
#
# A model may be a tinytorch layer (`forward`), an object with `predict`, or a function. A model that
# cannot take the task's input, or answers with the wrong width, gets a `ModelTaskError` (a
# `ValueError`) saying what the task expects.

# %% nbgrader={"grade": false, "grade_id": "tinymlperf-harness", "locked": false, "schema_version": 3, "solution": false}
#| export
class ModelTaskError(ValueError):
    """A model cannot run a task: it raised on the task's input, or answered with the wrong shape."""


def _model_name(model: Any) -> str:
    return model_name(model, type(model).__name__)


def _call_guarded(model: Any, spec: TaskSpec, x: np.ndarray) -> np.ndarray:
    """Run the model; an exception on the task's input becomes a `ModelTaskError` naming the shapes."""
    run = inference_function(model, "a TinyMLPerf model")[0]
    try:
        out = run(x)
    except Exception as error:  # any failure of the model's own code is reported with its cause
        raise ModelTaskError(f"model {_model_name(model)!r} failed on {spec.name} input of shape {x.shape} "
                             f"(one sample is {spec.input_shape}): {type(error).__name__}: {error}") from error
    return as_array(out)


def _interpret_output(model: Any, spec: TaskSpec, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Check the answer's shape; returns anomaly scores (AUC tasks) or class outputs/labels."""
    n = len(x)
    if out.dtype.kind not in "biuf":
        raise ModelTaskError(f"model {_model_name(model)!r} answered {spec.name} with {out.dtype} values; a model "
                             "must answer with numbers (scores, probabilities or integer labels)")
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise ModelTaskError(f"model {_model_name(model)!r} returned NaN or infinite outputs on {spec.name}")
    if spec.metric == "auc":
        if out.shape in ((n,), (n, 1)):
            return out.reshape(n).astype(np.float64)
        if out.shape == (n, spec.output_width):
            return np.mean((out.astype(np.float64) - x.reshape(n, -1)) ** 2, axis=1)
        raise ModelTaskError(f"model {_model_name(model)!r} answered {spec.name} with shape {out.shape}; expected "
                             f"({n}, {spec.output_width}) reconstructions or ({n},) anomaly scores")
    if out.shape == (n,) and out.dtype.kind in "iu":
        return out
    if out.shape != (n, spec.output_width):
        raise ModelTaskError(f"model {_model_name(model)!r} answered {spec.name} with shape {out.shape}; expected "
                             f"({n}, {spec.output_width}): one score per class, or ({n},) integer labels")
    return out


def _run_task_model(model: Any, spec: TaskSpec, x: np.ndarray) -> np.ndarray:
    return _interpret_output(model, spec, x, _call_guarded(model, spec, x))


class TinyMLPerf:
    """MLPerf-Tiny-style benchmark: four tasks, real test labels, single-stream latency.

    Args:
        random_seed: seeds the order of the timed queries.
        data_size: "full" or "small" (the test suite's reduced data sets).
        warmup_runs: untimed queries before the timed ones.
        clock: a function returning nanoseconds; `time.perf_counter_ns` unless replaced for tests.
        cache_root: where generated data is cached (see `tinytorch.datasets.task_data.cache_dir`).
        data_seed: the generators' seed; change it to get other (equally valid) data sets.
        processes: 1 times the queries in this process; N >= 2 times them in N fresh worker processes,
            one after another (`tinytorch.benchmarking.workers`), each the same queries in the same order.
    """

    def __init__(self, random_seed: int = 42, data_size: str = "full", warmup_runs: int = 10,
                 clock: Callable[[], int] | None = None, cache_root: str | Path | None = None,
                 data_seed: int = DATA_SEED, processes: int = 1):
        check_size(data_size)
        if warmup_runs < 0:
            raise ValueError(f"warmup_runs must be >= 0, got {warmup_runs}")
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes={processes!r} must be an integer >= 1 (1: this process)")
        if processes > 1 and clock is not None:
            raise ValueError("a replaced clock cannot reach worker processes; use processes=1 with a test clock")
        self.processes = processes
        self.random_seed, self.data_size, self.warmup_runs = int(random_seed), data_size, int(warmup_runs)
        self.clock = clock or time.perf_counter_ns
        self.cache_root, self.data_seed = cache_root, int(data_seed)
        self._data: dict[str, TaskData] = {}

    @property
    def benchmarks(self) -> dict[str, dict[str, Any]]:
        """Each task: input shape, metric, target, latency limit and where its data comes from."""
        return {name: {**spec.describe(), "data_size": self.data_size} for name, spec in TASKS.items()}

    def load_data(self, benchmark_name: str) -> TaskData:
        """The task's data (generated or read from the cache on first use, then kept)."""
        spec = task_spec(benchmark_name)
        if benchmark_name not in self._data:
            self._data[benchmark_name] = spec.make_data(self.data_size, self.data_seed, self.cache_root)
        return self._data[benchmark_name]

    def reference_model(self, benchmark_name: str) -> Sequential:
        """The task's reference model (see `tinytorch.benchmarking.references`).

        The MLPs are trained on the task's training data on first use and cached like the data; visual
        wake words is the shipped CNN, the same network for every data size and seed.
        """
        data = self.load_data(benchmark_name)
        if benchmark_name == "visual_wake_words":
            return shipped_vww_cnn(data, self.data_size, self.data_seed)
        return mlp_reference(benchmark_name, data, self.data_size, self.data_seed, self.cache_root)

    def reference_models(self) -> dict[str, Sequential]:
        """The reference model of every task."""
        return {name: self.reference_model(name) for name in TASKS}

    def _quality(self, model: Any, spec: TaskSpec, data: TaskData) -> float:
        outputs = np.concatenate([_run_task_model(model, spec, data.x_test[i:i + 256])
                                  for i in range(0, len(data.x_test), 256)])
        if spec.metric == "auc":
            return roc_auc(data.y_test, outputs)
        return top1_accuracy(data.y_test, outputs)

    def _query_order(self, count: int, num_runs: int) -> np.ndarray:
        """Test-sample indices: the warm-up queries, then the timed ones (seeded, repeating when needed)."""
        rng = np.random.default_rng(self.random_seed)
        order = np.concatenate([rng.permutation(count) for _ in range(-(-(num_runs + self.warmup_runs) // count))])
        return order[:num_runs + self.warmup_runs]

    def _time_queries_in_workers(self, model: Any, spec: TaskSpec, data: TaskData, num_runs: int) -> list[np.ndarray]:
        """The same queries timed in each of `processes` fresh workers: per-query ms, one array per process."""
        with tempfile.TemporaryDirectory(prefix="tinymlperf-workers-") as folder:
            [source] = model_sources([model], [_model_name(model)], Path(folder))
            queries = Path(folder) / "queries.npy"
            np.save(queries, data.x_test[self._query_order(len(data.x_test), num_runs)], allow_pickle=False)
            request = {"model": source.to_json(), "queries": str(queries), "warmup": self.warmup_runs}
            raw = run_workers("tinytorch.benchmarking.workers", [request] * self.processes)
        return [np.asarray(r["latencies_ns"], dtype=np.float64) / 1e6 for r in raw]

    def _time_queries(self, model: Any, spec: TaskSpec, data: TaskData, num_runs: int) -> np.ndarray:
        order = self._query_order(len(data.x_test), num_runs)
        for i in order[:self.warmup_runs]:
            _run_task_model(model, spec, data.x_test[i:i + 1])
        latencies = np.empty(num_runs)
        for k, i in enumerate(order[self.warmup_runs:self.warmup_runs + num_runs]):
            query = data.x_test[i:i + 1]
            start = self.clock()
            out = _call_guarded(model, spec, query)
            stop = self.clock()
            latencies[k] = (stop - start) / 1e6
            _interpret_output(model, spec, query, out)  # outside the timed region
        return latencies

    def run_standard_benchmark(self, model: Any, benchmark_name: str, num_runs: int = 100) -> dict[str, Any]:
        """Score and time `model` on one task.

        Args:
            model: a layer, an object with `predict`, or a function taking `(batch, *input_shape)`.
            benchmark_name: one of `TASKS`.
            num_runs: timed single-stream queries (>= 64 for a valid p90, >= 662 for a valid p99).

        Returns:
            A dict with `benchmark_name, model_name, accuracy` (the metric's value; AUC for anomaly
            detection), `metric_name, mean_latency_ms, std_latency_ms, p50/p90/p99_latency_ms,
            max_latency_ms, throughput_fps, target_accuracy, target_latency_ms, accuracy_met,
            latency_met` (None when the p90 is not valid), `compliant, num_runs, random_seed, reasons`,
            `percentile_valid`, and the data's provenance and sha256.

        Raises:
            ValueError: unknown task, or `num_runs` below 1.
            ModelTaskError: the model cannot take the task's input or answers with the wrong shape.
        """
        spec = task_spec(benchmark_name)
        if isinstance(num_runs, bool) or not isinstance(num_runs, (int, np.integer)) or num_runs < 1:
            raise ValueError(f"num_runs must be an integer >= 1, got {num_runs!r} "
                             f"(use >= {MIN_QUERIES['p90']} for a valid p90)")
        data = self.load_data(benchmark_name)
        quality = self._quality(model, spec, data)
        start = machine_snapshot()
        if self.processes == 1:
            per_process = [self._time_queries(model, spec, data, int(num_runs))]
        else:
            per_process = self._time_queries_in_workers(model, spec, data, int(num_runs))
        end = machine_snapshot()
        latency = summarize_latencies(np.concatenate(per_process))
        result = self._verdict(model, spec, data, quality, latency, int(num_runs))
        return {**result, **_process_summary(per_process), "warnings": _latency_warnings(start, end, per_process)}

    def _verdict(self, model, spec: TaskSpec, data: TaskData, quality: float, latency: dict, num_runs: int) -> dict:
        reasons = []
        accuracy_met = quality >= spec.target
        reasons.append(f"{spec.metric} {quality:.4f} {'>=' if accuracy_met else '<'} target {spec.target:.2f} "
                       f"on {len(data.y_test)} real test samples")
        valid = latency.pop("percentile_valid")
        if valid["p90"]:
            latency_met = latency["p90_latency_ms"] <= spec.latency_limit_ms
            reasons.append(f"p90 latency {latency['p90_latency_ms']:.4f} ms {'<=' if latency_met else '>'} "
                           f"limit {spec.latency_limit_ms:g} ms")
        else:
            latency_met = None
            reasons.append(f"p90 latency not valid: {num_runs} queries, MLPerf needs >= {MIN_QUERIES['p90']}; "
                           f"latency not judged")
        if not valid["p99"]:
            reasons.append(f"p99 flagged: {num_runs} queries, a valid p99 needs >= {MIN_QUERIES['p99']}")
        compliant = bool(accuracy_met and latency_met is True)
        return {
            "benchmark_name": spec.name, "model_name": _model_name(model), "metric_name": spec.metric,
            "accuracy": quality, **{k: v for k, v in latency.items() if k != "num_queries"},
            "throughput_fps": 1000.0 / latency["mean_latency_ms"] if latency["mean_latency_ms"] > 0 else float("inf"),
            "target_accuracy": spec.target, "target_latency_ms": spec.latency_limit_ms,
            "latency_statistic": "p90", "accuracy_met": bool(accuracy_met), "latency_met": latency_met,
            "compliant": compliant, "reasons": reasons, "percentile_valid": valid,
            "min_queries": {k: v for k, v in MIN_QUERIES.items() if k != "p50"},
            "num_runs": num_runs, "warmup_runs": self.warmup_runs, "random_seed": self.random_seed,
            "num_test_samples": int(len(data.y_test)),
            "data": {key: data.metadata.get(key) for key in ("name", "stand_in_for", "real_data", "size", "sha256",
                                                             "licence")},
        }

    def run_all_benchmarks(self, model: Any, num_runs: int = 100) -> dict[str, dict[str, Any]]:
        """Run every task. `model` is one model for all tasks or a mapping `{task: model}`.

        A task the model cannot take (a `ModelTaskError`, or a task missing from the mapping) becomes
        an entry with `error` and `compliant: False`; nothing is scored for it.
        """
        results = {}
        for name in TASKS:
            candidate = model.get(name) if isinstance(model, Mapping) else model
            if candidate is None:
                results[name] = {"benchmark_name": name, "model_name": None, "compliant": False,
                                 "error": f"no model given for {name}"}
                continue
            try:
                results[name] = self.run_standard_benchmark(candidate, name, num_runs)
            except ModelTaskError as error:
                results[name] = {"benchmark_name": name, "model_name": _model_name(candidate), "compliant": False,
                                 "error": str(error)}
        return results

    def generate_compliance_report(self, results: Mapping[str, Mapping[str, Any]],
                                   output_path: str | Path = "tinymlperf_report.json") -> str:
        """Write `results` as JSON and a Markdown summary beside it (`<stem>_summary.md`).

        Returns:
            The Markdown summary (it contains `TinyMLPerf Compliance Report` and `Compliance Rate`).
        """
        if not results:
            raise ValueError("generate_compliance_report needs at least one result; run run_all_benchmarks first")
        output_path = Path(output_path)
        compliant = sum(1 for r in results.values() if r.get("compliant") is True)
        report = {"format": "tinymlperf-compliance", "version": 1, "random_seed": self.random_seed,
                  "data_size": self.data_size, "system": {"platform": platform.platform(),
                                                          "python": platform.python_version(),
                                                          "numpy": np.__version__},
                  "compliance_rate": compliant / len(results), "compliant_tasks": compliant,
                  "total_tasks": len(results), "results": dict(results)}
        summary = _markdown_summary(report)
        summary_path = output_path.with_name(f"{output_path.stem}_summary.md")
        # both files or neither: stage both before either is put in place
        staged_json = stage_file(output_path, (json.dumps(report, indent=2, default=_json_default) + "\n").encode())
        try:
            staged_summary = stage_file(summary_path, summary.encode())
        except BaseException:
            staged_json.unlink(missing_ok=True)
            raise
        commit_file(staged_summary, summary_path)
        commit_file(staged_json, output_path)
        return summary


def _process_summary(per_process: list[np.ndarray]) -> dict[str, Any]:
    """Where the latencies come from, and with several processes the interval of the mean across them."""
    if len(per_process) == 1:
        return {"processes": 1, "latency_interval_scope": "this process only: a fresh process can differ by more "
                                                           "than the spread of its queries; use processes=N"}
    spread = across_processes(per_process)
    means = np.array([p.mean() for p in per_process])
    half = float(scipy.stats.t.ppf(0.975, means.size - 1) * means.std(ddof=1) / np.sqrt(means.size))
    return {"processes": len(per_process), "latency_interval_scope": f"across {len(per_process)} fresh processes",
            "mean_latency_ci_ms": [float(means.mean() - half), float(means.mean() + half)],
            "latency_per_process_ms": spread["per_process_values"],
            "between_process_cv": spread["between_process_cv"], "within_process_cv": spread["within_process_cv"]}


def _latency_warnings(start: dict, end: dict, per_process: list[np.ndarray]) -> list[str]:
    """What may have disturbed the timing, in words: a busy machine (`machine_warnings`) and, with several
    processes, per-process mean latencies that disagree (single queries vary too much to be judged alone)."""
    warnings = machine_warnings(start, end)
    if len(per_process) > 1:
        warnings += value_warnings("latency", [float(p.mean()) for p in per_process], "processes")
    return warnings


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to the TinyMLPerf report")


def _markdown_summary(report: dict) -> str:
    lines = ["# TinyMLPerf Compliance Report", "",
             f"Compliance Rate: {report['compliance_rate']:.0%} ({report['compliant_tasks']} of "
             f"{report['total_tasks']} tasks compliant)", "",
             f"Data size: {report['data_size']}; query order seed: {report['random_seed']}; "
             f"{report['system']['platform']}, Python {report['system']['python']}.", "",
             "| task | model | metric | value | target | p90 ms | limit ms | queries | compliant |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, result in report["results"].items():
        if "error" in result:
            lines.append(f"| {name} | {result.get('model_name')} | - | - | - | - | - | - | no (error) |")
            continue
        p90 = f"{result['p90_latency_ms']:.3f}" + ("" if result["percentile_valid"]["p90"] else " (not valid)")
        lines.append(f"| {name} | {result['model_name']} | {result['metric_name']} | {result['accuracy']:.4f} | "
                     f"{result['target_accuracy']:.2f} | {p90} | {result['target_latency_ms']:g} | "
                     f"{result['num_runs']} | {'yes' if result['compliant'] else 'no'} |")
    lines += ["", "## Reasons", ""]
    for name, result in report["results"].items():
        reasons = [result["error"]] if "error" in result else result["reasons"]
        lines.append(f"- **{name}**: " + "; ".join(reasons))
    warned = [(name, w) for name, result in report["results"].items() for w in result.get("warnings", [])]
    if warned:
        lines += ["", "## Warnings", "", "The latencies above may not be what this machine does when quiet:", ""]
        lines += [f"- **{name}**: {warning}" for name, warning in warned]
    lines += ["", "Data sets other than image classification are synthetic stand-ins (see each result's `data`); "
              "their scores do not predict MLPerf Tiny results.", ""]
    return "\n".join(lines)

# %% [markdown]
# Try it on the real digits with the reference model, a model of random outputs, and a fake clock
# that advances 2 ms per reading, so the latencies are known exactly.

# %%
def test_unit_tinymlperf():
    ticks = iter(range(0, 10**12, 2_000_000))
    bench = TinyMLPerf(data_size="small", warmup_runs=2, clock=lambda: next(ticks))
    assert set(bench.benchmarks) == {"image_classification", "keyword_spotting", "anomaly_detection",
                                     "visual_wake_words"}
    result = bench.run_standard_benchmark(bench.reference_model("image_classification"), "image_classification",
                                          num_runs=64)
    assert result["accuracy"] >= 0.9 and result["p90_latency_ms"] == 2.0 and result["compliant"]
    assert result["percentile_valid"] == {"p50": True, "p90": True, "p99": False}

    class RandomOutputs:
        name = "random_outputs"

        def __init__(self):
            self.rng = np.random.default_rng(0)

        def forward(self, x):
            return self.rng.random((len(x), 10))

    chance = bench.run_standard_benchmark(RandomOutputs(), "image_classification", num_runs=10)
    assert chance["accuracy"] < 0.3 and not chance["compliant"] and chance["latency_met"] is None
    try:
        bench.run_standard_benchmark(RandomOutputs(), "image_net")
    except ValueError as error:
        assert "keyword_spotting" in str(error)
    else:
        raise AssertionError("an unknown task must raise ValueError")


test_unit_tinymlperf()
print("TinyMLPerf tests passed")
