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
# # Keyword spotting: spoken words from espeak-ng (a synthetic stand-in for Speech Commands)
#
# Provided code (no exercises) that makes the audio of Module 18's keyword-spotting task; Module 18
# turns each clip into features with its `mfcc` and caches the result.
#
# Speech Commands (Warden 2018, CC BY 4.0) is 105,000 one-second clips of people saying 35 words;
# MLPerf Tiny keeps ten keywords (`yes no up down left right on off stop go`) plus `unknown` (any
# other word) and `silence`. We cannot download it, so we *speak* the words with the speech
# synthesizer espeak-ng (GPL-3.0; the generated audio is ours to use). Its library and voice data come
# from the pip package `espeakng-loader` (espeak-ng 1.52), pinned so that the data is the same on every
# machine; each word is spoken in a short-lived child process, because espeak-ng carries state from one
# utterance to the next.
#
# - A "speaker" is an espeak-ng voice variant (timbre, e.g. `m3`, `f2`, `klatt`) with an English
#   accent (`en-us`, `en-gb-scotland`, ...). Variants are split disjointly: no test voice is heard in
#   training, like Speech Commands' speaker-disjoint split.
# - Each utterance gets its own pitch and speed, then sits near the centre of the one-second window
#   with a random shift of up to 100 ms (as MLPerf Tiny's training augmentation),
#   a random gain and background noise at a random SNR. `silence` is background noise alone;
#   `unknown` is one of fifteen other words.
#
# It is synthetic speech: far cleaner and less varied than people, so accuracies on it say nothing
# about Speech Commands. It exercises the same pipeline with real labels.

# %%
#| default_exp datasets.keywords
#| export
from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import scipy.signal

from tinytorch.datasets.task_data import check_size

# %%
#| export
KWS_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
KWS_UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "house", "tree", "happy", "wow", "marvin", "sheila",
                     "zero", "seven", "learn", "follow", "visual")
KWS_LABELS = KWS_KEYWORDS + ("_unknown_", "_silence_")
KWS_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
               "en-gb-x-gbcwmd")
# Timbre variants of espeak-ng: the "speakers". The last four are heard only in the test set.
KWS_TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "klatt", "klatt2", "andy",
                      "annie", "edward", "linda", "max")
KWS_TEST_VARIANTS = ("m7", "f4", "klatt3", "john", "belinda")
KWS_SAMPLE_RATE = 16000
_KWS_SIZES = {"full": (32, 8), "small": (6, 3)}  # (train speakers, test speakers)
_KWS_COPIES = 2  # examples of each class per speaker
KWS_VOICES_VERSION = 2  # 1: the espeak-ng 1.51 program; 2: espeak-ng 1.52 from espeakng-loader, a process per word


# espeak-ng's C interface, loaded from the espeakng-loader wheel (libespeak-ng and its voice data).
_ESPEAK_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: hand samples to our callback, return when done
_ESPEAK_RATE, _ESPEAK_PITCH = 1, 3  # espeak_PARAMETER
_ESPEAK_END_PAUSE = 0x1000  # the pause the espeak-ng program adds after the text (trimmed later)
_ESPEAK_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _EspeakVoice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


def _espeak_files() -> tuple[str, str]:
    """The paths of libespeak-ng and of its voice data, from the pip package espeakng-loader."""
    try:
        import espeakng_loader
    except ImportError as error:
        raise RuntimeError("the keyword-spotting data is spoken by espeak-ng, which the pip package "
                           "espeakng-loader ships; install it: pip install espeakng-loader "
                           "(`make install` does)") from error
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _speak_here(word: str, voice: str, pitch: int, speed: int, library: str, data: str) -> tuple[int, bytes]:
    """Speak `word` with a freshly initialised espeak-ng in this process: (sample rate, 16-bit samples)."""
    lib = ctypes.CDLL(library)
    rate = lib.espeak_Initialize(_ESPEAK_SYNCHRONOUS, 0, data.encode(), 0)
    if rate <= 0:
        raise RuntimeError(f"espeak-ng could not start with the voice data in {data} (code {rate})")
    # espeak-ng 1.52 draws from a generator seeded differently in every process (one voice in ten
    # came out different on each run); a fixed seed makes a word's samples the same on every run.
    lib.espeak_ng_SetRandSeed(1)
    chunks = []

    def collect(samples, count, events):
        if count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        return 0

    callback = _ESPEAK_CALLBACK(collect)  # kept referenced until synthesis ends
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        # As the espeak-ng program does: a name that is not a voice is tried as a language ("en-gb+m3").
        if lib.espeak_SetVoiceByProperties(ctypes.byref(_EspeakVoice(languages=voice.encode()))) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
    lib.espeak_SetParameter(_ESPEAK_RATE, speed, 0)
    lib.espeak_SetParameter(_ESPEAK_PITCH, pitch, 0)
    text = word.encode()
    status = lib.espeak_Synth(text, len(text) + 1, 0, 0, 0, _ESPEAK_END_PAUSE, None, None)
    if status != 0 or not chunks:
        raise RuntimeError(f"espeak-ng could not speak {word!r} with voice {voice!r} (code {status})")
    return rate, b"".join(chunks)


def _espeak(word: str, voice: str, pitch: int, speed: int) -> tuple[np.ndarray, int]:
    """Speak `word` with espeak-ng; returns float samples in [-1, 1] and the sample rate.

    Each utterance is spoken in a child process of its own. espeak-ng keeps state from one utterance
    to the next inside a process (the same word comes out a few samples longer or shorter depending on
    what was said before, even after espeak_Terminate), so only a fresh process gives samples that do
    not depend on the order of the utterances.
    """
    library, data = _espeak_files()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: speak, send "rate|samples" or "!error" through the pipe, exit
        status = 1
        try:
            os.close(read_end)
            try:
                rate, samples = _speak_here(word, voice, pitch, speed, library, data)
                message, status = b"%d|" % rate + samples, 0
            except Exception as error:  # noqa: BLE001 - reported to the parent, which raises it
                message = b"!" + str(error).encode(errors="replace")
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(message)
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    if message.startswith(b"!") or os.waitstatus_to_exitcode(wait_status) != 0 or b"|" not in message:
        detail = message[1:].decode(errors="replace") or f"exit status {os.waitstatus_to_exitcode(wait_status)}"
        raise RuntimeError(f"espeak-ng failed for {word!r} with voice {voice!r}: {detail}")
    rate, samples = message.split(b"|", 1)
    return np.frombuffer(samples, dtype=np.int16).astype(np.float64) / 32768.0, int(rate)


def _background_noise(rng: np.random.Generator, length: int) -> np.ndarray:
    """White noise shaped by a random one-pole low-pass filter (from hiss to rumble)."""
    pole = rng.uniform(0.0, 0.97)
    noise = scipy.signal.lfilter([1.0 - pole], [1.0, -pole], rng.standard_normal(length))
    return noise / (np.std(noise) + 1e-12)


def _place_in_window(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim silence, centre the utterance in a one-second window, then shift it by up to +-100 ms.

    Speech Commands clips are cut around the loudest second, so words sit near the centre; MLPerf
    Tiny's training adds a random shift of up to 100 ms, which we copy.
    """
    loud = np.flatnonzero(np.abs(speech) > 0.02 * np.abs(speech).max())
    speech = speech[loud[0]:loud[-1] + 1][:KWS_SAMPLE_RATE]
    window = np.zeros(KWS_SAMPLE_RATE)
    centred = (KWS_SAMPLE_RATE - len(speech)) // 2
    offset = int(np.clip(centred + rng.integers(-1600, 1601), 0, KWS_SAMPLE_RATE - len(speech)))
    window[offset:offset + len(speech)] = speech
    return window


def _kws_clip(rng: np.random.Generator, speech: np.ndarray | None) -> np.ndarray:
    """One second of audio: speech (or None for silence) plus noise at a random level."""
    noise = _background_noise(rng, KWS_SAMPLE_RATE)
    if speech is None:
        audio = noise * 10 ** rng.uniform(-3.0, -1.0)
    else:
        audio = _place_in_window(speech, rng) * rng.uniform(0.3, 1.0)
        snr_db = rng.uniform(5.0, 30.0)
        audio = audio + noise * np.std(audio) * 10 ** (-snr_db / 20)
    return audio


def _kws_speakers(rng: np.random.Generator, variants: tuple[str, ...], count: int) -> list[tuple[str, str]]:
    pairs = [(accent, variant) for variant in variants for accent in KWS_ACCENTS]
    chosen = rng.permutation(len(pairs))[:count]
    return [pairs[i] for i in sorted(chosen)]


def _kws_examples(rng: np.random.Generator, speakers: list[tuple[str, str]],
                  featurize: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Two examples of each of the 12 classes per speaker, each clip through `featurize`."""
    # Plan every utterance first (all random draws in a fixed order), then let espeak-ng speak them
    # concurrently: the result does not depend on which process finishes first.
    plan = []  # (label, word or None for silence, voice, pitch, speed, copies)
    for accent, variant in speakers:
        voice = f"{accent}+{variant}"
        base_pitch, base_speed = int(rng.integers(20, 80)), int(rng.integers(120, 200))
        for label, keyword in enumerate(KWS_KEYWORDS):
            pitch = int(np.clip(base_pitch + rng.integers(-8, 9), 0, 99))
            plan.append((label, keyword, voice, pitch, base_speed + int(rng.integers(-15, 16)), _KWS_COPIES))
        for word in rng.choice(KWS_UNKNOWN_WORDS, size=_KWS_COPIES, replace=False):
            plan.append((KWS_LABELS.index("_unknown_"), str(word), voice, base_pitch, base_speed, 1))
        plan.append((KWS_LABELS.index("_silence_"), None, voice, 0, 0, _KWS_COPIES))
    spoken = [entry for entry in plan if entry[1] is not None]
    with ThreadPoolExecutor(max_workers=4) as pool:
        audio = dict(zip(range(len(spoken)), pool.map(lambda e: _espeak(e[1], e[2], e[3], e[4]), spoken)))
    features, labels, next_spoken = [], [], 0
    for label, word, _, _, _, copies in plan:
        speech = None
        if word is not None:
            raw, rate = audio[next_spoken]
            next_spoken += 1
            speech = scipy.signal.resample_poly(raw, KWS_SAMPLE_RATE, rate)
        for _ in range(copies):  # several recordings: each its own shift, gain and noise
            features.append(featurize(_kws_clip(rng, speech)))
            labels.append(label)
    return np.stack(features).astype(np.float32), np.array(labels, dtype=np.int64)


def _espeak_version() -> str:
    """The espeak-ng release that voices the data, e.g. `espeak-ng 1.52.0 (espeakng-loader 0.2.4)`."""
    from importlib import metadata

    library, _ = _espeak_files()
    # espeak_Info only returns a constant: loading the library here leaves it uninitialised, so the
    # children that speak still start afresh.
    info = ctypes.CDLL(library).espeak_Info
    info.restype = ctypes.c_char_p
    return f"espeak-ng {info(None).decode()} (espeakng-loader {metadata.version('espeakng-loader')})"


def keyword_spotting_arrays(size: str, seed: int, featurize: Callable[[np.ndarray], np.ndarray],
                            features: str) -> tuple[dict[str, np.ndarray], dict]:
    """Spoken keywords, split by speaker, each one-second 16 kHz clip turned into features by `featurize`.

    Args:
        size: "full" (32 train speakers, 8 test speakers; 768/192 examples) or "small" (6/3; 144/72).
        seed: seeds speakers, pitch, speed, shift, gain and noise.
        featurize: one clip (float64, 16000 samples) -> its features (Module 18: a 49x10 MFCC).
        features: how `featurize` works, for the provenance.

    Returns:
        `(arrays, metadata)`: `x_train, y_train, x_test, y_test` and where they come from.

    Raises:
        RuntimeError: if espeakng-loader is not installed (names the pip package).
    """
    check_size(size)
    train_count, test_count = _KWS_SIZES[size]
    rng = np.random.default_rng(seed)
    train_speakers = _kws_speakers(rng, KWS_TRAIN_VARIANTS, train_count)
    test_speakers = _kws_speakers(rng, KWS_TEST_VARIANTS, test_count)
    x_train, y_train = _kws_examples(rng, train_speakers, featurize)
    x_test, y_test = _kws_examples(rng, test_speakers, featurize)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    metadata = {"name": "TinyKWS (espeak-ng)", "stand_in_for": "Speech Commands v2 (MLPerf Tiny KWS)",
                "real_data": False, "synthetic": True, "size": size, "seed": seed, "labels": list(KWS_LABELS),
                "provenance": "words spoken by espeak-ng (" + _espeak_version() + ") with per-utterance pitch "
                              "and speed, random shift, gain and low-pass noise; " + features,
                "split": "speaker-disjoint: train voices " + ", ".join(KWS_TRAIN_VARIANTS)
                         + "; test voices " + ", ".join(KWS_TEST_VARIANTS),
                "train_speakers": ["+".join(s) for s in train_speakers],
                "test_speakers": ["+".join(s) for s in test_speakers],
                "licence": "generated by this module (Apache-2.0, like tinytorch); espeak-ng itself is GPL-3.0, "
                           "installed from the espeakng-loader wheel and run in child processes, not shipped"}
    return arrays, metadata
