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
# # Anomaly detection: machine sounds with injected faults (a stand-in for ToyADMOS)
#
# Provided code (no exercises): the data of Module 18's anomaly-detection task.
#
# ToyADMOS (Koizumi et al. 2019, CC BY 4.0) records toy cars running normally and with broken
# parts; MLPerf Tiny trains an autoencoder on normal sounds only and scores a clip by how badly the
# autoencoder reconstructs it. We synthesize the same setting. A *machine* (four machine ids, each
# with its own shaft speed, harmonic profile and resonance) makes half a second of sound: harmonics
# of the shaft frequency, a noisy resonance and broadband noise, all with clip-to-clip variation. An
# *anomalous* clip gets one fault at a random severity:
#
# | fault | what changes |
# |---|---|
# | impulses | periodic clicks ringing at a high resonance (a bearing defect) |
# | imbalance | the 1x shaft harmonic grows |
# | looseness | half-order and high-order harmonics appear, and the waveform clips |
# | speed wobble | the shaft speed oscillates, smearing the harmonics |
#
# Features: a 128-band log-mel spectrogram (1024-point FFT, hop 256) averaged into 5 time segments:
# 5x128 = 640 numbers per clip, the size of MLPerf Tiny's input. Training holds normal clips only;
# the test set is half normal, half anomalous (the four faults equally). The metric is the ROC AUC
# of the anomaly score (MLPerf Tiny's target: 0.85). A model may output a reconstruction (640
# values; the score is the mean squared error) or one anomaly score per clip.


# %%
#| default_exp datasets.machine_sounds
#| export
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from tinytorch.datasets.audio import mel_filterbank
from tinytorch.datasets.task_data import (
    DATA_FORMAT_VERSION, DATA_SEED, TaskData, cached_arrays, check_size, class_balance, make_task_data)

# %%
#| export
AD_SAMPLE_RATE = 16000
AD_FAULTS = ("impulses", "imbalance", "looseness", "speed_wobble")
_AD_SIZES = {"full": (1000, 200), "small": (200, 60)}  # (normal train clips, normal test clips)
_AD_CLIP_SECONDS = 0.5


def _machine_profiles(rng: np.random.Generator) -> list[dict]:
    profiles = []
    for shaft_hz in (47.0, 61.0, 83.0, 109.0):
        resonance_hz = rng.uniform(1200, 2800)
        band = scipy.signal.butter(2, [resonance_hz * 0.9, resonance_hz * 1.1], btype="bandpass",
                                   fs=AD_SAMPLE_RATE, output="sos")
        profiles.append({"shaft_hz": shaft_hz, "harmonics": rng.uniform(0.2, 1.0, 10) / np.arange(1, 11) ** 0.7,
                         "resonance_band": band, "noise": rng.uniform(0.05, 0.15)})
    return profiles


def _machine_clip(rng: np.random.Generator, profile: dict, fault: str | None, severity: float) -> np.ndarray:
    n = int(AD_SAMPLE_RATE * _AD_CLIP_SECONDS)
    t = np.arange(n) / AD_SAMPLE_RATE
    shaft = profile["shaft_hz"] * rng.uniform(0.98, 1.02)
    phase_rate = np.full(n, shaft)
    if fault == "speed_wobble":
        phase_rate = shaft * (1 + 0.08 * severity * np.sin(2 * np.pi * rng.uniform(3, 8) * t))
    phase = 2 * np.pi * np.cumsum(phase_rate) / AD_SAMPLE_RATE
    amplitudes = profile["harmonics"] * rng.uniform(0.85, 1.15, len(profile["harmonics"]))
    if fault == "imbalance":
        amplitudes[0] *= 1 + 4 * severity
    audio = sum(a * np.sin((k + 1) * phase + rng.uniform(0, 2 * np.pi)) for k, a in enumerate(amplitudes))
    if fault == "looseness":
        for order in (0.5, 1.5, 2.5, 11, 13, 15):
            audio = audio + 0.25 * severity * np.sin(order * phase + rng.uniform(0, 2 * np.pi))
        limit = np.max(np.abs(audio)) * (1 - 0.5 * severity)
        audio = np.clip(audio, -limit, limit)
    audio = audio + 0.3 * scipy.signal.sosfilt(profile["resonance_band"], rng.standard_normal(n))
    audio = audio + profile["noise"] * rng.uniform(0.7, 1.3) * rng.standard_normal(n)
    if fault == "impulses":
        ring = np.exp(-np.arange(160) / 25.0) * np.sin(2 * np.pi * 5200 * np.arange(160) / AD_SAMPLE_RATE)
        period = int(AD_SAMPLE_RATE / rng.uniform(8, 25))
        clicks = np.zeros(n)
        clicks[int(rng.integers(0, period))::period] = 1.5 * severity
        audio = audio + np.convolve(clicks, ring)[:n]
    return audio * rng.uniform(0.8, 1.2)


def _log_mel_segments(audio: np.ndarray, filters: np.ndarray, segments: int = 5) -> np.ndarray:
    _, _, spectrum = scipy.signal.stft(audio, fs=AD_SAMPLE_RATE, window="hann", nperseg=1024, noverlap=768,
                                       boundary=None, padded=False)
    log_mel = np.log(filters @ (np.abs(spectrum) ** 2) + 1e-8)  # (128, frames)
    return np.concatenate([part.mean(axis=1) for part in np.array_split(log_mel, segments, axis=1)])


def make_anomaly_detection(size: str = "full", seed: int = DATA_SEED, cache_root: str | Path | None = None) -> TaskData:
    """Synthetic machine sounds, normal for training, half faulty for testing, as 640 log-mel features.

    Args:
        size: "full" (1000 normal train clips; 200 normal + 200 faulty test clips) or "small" (200; 60 + 60).
        seed: seeds the machines, the clips, the faults and their severities.
        cache_root: see `cache_dir`.
    """
    check_size(size)
    train_count, test_normal = _AD_SIZES[size]

    def build():
        rng = np.random.default_rng(seed)
        profiles = _machine_profiles(rng)
        filters = mel_filterbank(128, 1024, AD_SAMPLE_RATE, 0.0, AD_SAMPLE_RATE / 2)

        def clips(faults):
            rows, kinds, severities = [], [], []
            for i, fault in enumerate(faults):
                severity = float(rng.uniform(0.25, 1.0)) if fault else 0.0
                audio = _machine_clip(rng, profiles[i % len(profiles)], fault, severity)
                rows.append(_log_mel_segments(audio, filters))
                kinds.append(AD_FAULTS.index(fault) + 1 if fault else 0)
                severities.append(severity)
            return (np.stack(rows).astype(np.float32), np.array(kinds, dtype=np.int64),
                    np.array(severities, dtype=np.float32))

        x_train, _, _ = clips([None] * train_count)
        test_faults = [None] * test_normal + [AD_FAULTS[i % len(AD_FAULTS)] for i in range(test_normal)]
        x_test, kinds, severity = clips(test_faults)
        arrays = {"x_train": x_train, "y_train": np.zeros(train_count, dtype=np.int64), "x_test": x_test,
                  "y_test": (kinds > 0).astype(np.int64), "test_fault": kinds, "test_severity": severity}
        metadata = {"name": "TinyMachineSounds", "stand_in_for": "ToyADMOS (MLPerf Tiny anomaly detection)",
                    "real_data": False, "synthetic": True, "size": size, "seed": seed,
                    "faults": ["none", *AD_FAULTS], "severity": "uniform in [0.25, 1.0] per faulty clip",
                    "provenance": "generated: 4 machine ids (shaft 47/61/83/109 Hz), 10 harmonics, a noisy resonance "
                                  "and broadband noise, 0.5 s at 16 kHz; features: 128-band log-mel (1024-point FFT, "
                                  "hop 256) averaged over 5 time segments = 640 values",
                    "licence": "generated by this module (Apache-2.0, like tinytorch)"}
        return arrays, metadata

    arrays, metadata = cached_arrays(f"anomaly_detection-{size}-seed{seed}-v{DATA_FORMAT_VERSION}", build, cache_root)
    data = make_task_data("anomaly_detection", arrays, metadata)
    data.metadata["test_fault_counts"] = class_balance(arrays["test_fault"])
    return data
