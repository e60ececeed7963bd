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
# # The mel scale and a mel filterbank
#
# Provided code (no exercises), shared by the keyword-spotting features (Module 18's `mfcc`) and the
# machine-sound features of anomaly detection. Hearing resolves low frequencies finely and high ones
# coarsely; the mel scale, `mel = 2595 log10(1 + hz / 700)` (the HTK formula), spaces filters the same
# way. A filterbank is a set of triangles evenly spaced on that scale: filter `k` rises from the centre
# of filter `k - 1` to its own centre (height 1) and falls to the centre of filter `k + 1`. Multiplying
# a power spectrum by the filterbank gives the energy in each band.

# %%
#| default_exp datasets.audio
#| export
from __future__ import annotations

import numpy as np

# %%
#| export
def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_filters: int, n_fft: int, sample_rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    """Triangular mel filters, shape `(n_filters, n_fft // 2 + 1)`, peaks of height 1 (HTK mel scale)."""
    if not 0 <= low_hz < high_hz <= sample_rate / 2:
        raise ValueError(f"need 0 <= low_hz < high_hz <= sample_rate/2, got {low_hz}, {high_hz}, {sample_rate}")
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(low_hz), _hz_to_mel(high_hz), n_filters + 2))
    bin_hz = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bin_hz - lower) / (centre - lower)
    falling = (upper - bin_hz) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))
