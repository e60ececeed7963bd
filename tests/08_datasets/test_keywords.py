"""The keyword-spotting audio: espeak-ng from the espeakng-loader wheel, a fresh process per word."""
import subprocess
import sys

import numpy as np
import pytest

from tinytorch.datasets import keywords


def test_missing_espeak_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # `import espeakng_loader` now fails
    with pytest.raises(RuntimeError, match="pip install espeakng-loader"):
        keywords._espeak("yes", "en-us+m1", 50, 160)


def test_espeak_needs_no_program_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    samples, rate = keywords._espeak("yes", "en-us+m1", 50, 160)
    assert rate == 22050 and len(samples) > rate // 4 and np.abs(samples).max() <= 1.0
    assert keywords._espeak_version().startswith("espeak-ng 1.52")


def _speak_hash(word, voice, pitch, speed):
    import hashlib

    return hashlib.sha256(keywords._espeak(word, voice, pitch, speed)[0].tobytes()).hexdigest()


# Inside one process espeak-ng 1.52 carries state between utterances, and it seeds a generator
# differently in every process: this voice came out different on every run before the fix.
WORD = ("left", "en-029+f2", 40, 150)


def test_a_word_sounds_the_same_whatever_was_said_before():
    first = _speak_hash(*WORD)
    keywords._espeak("marvin", "en-gb+annie", 60, 180)  # "en-gb" is a language, not a voice name
    assert _speak_hash(*WORD) == first


def test_a_word_sounds_the_same_in_another_process():
    code = ("from tinytorch.datasets import keywords; import hashlib; "
            f"print(hashlib.sha256(keywords._espeak(*{WORD!r})[0].tobytes()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == _speak_hash(*WORD)


def test_an_unknown_voice_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no voice 'xx-nowhere'"):
        keywords._espeak("yes", "xx-nowhere", 50, 160)
