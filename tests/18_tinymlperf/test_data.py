"""The four data sets: shapes, balance, provenance, the cache, reproducibility."""
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinytorch.benchmarking import tinymlperf as tm


def test_cache_dir_follows_the_documented_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tm.cache_dir() == tmp_path / "explicit" / "tinymlperf"
    monkeypatch.delenv("TINYTORCH_CACHE")
    assert tm.cache_dir() == tmp_path / "xdg" / "tinytorch" / "tinymlperf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tm.cache_dir() == tmp_path / "home" / ".cache" / "tinytorch" / "tinymlperf"


def test_unwritable_cache_folder_falls_back_to_a_temporary_folder_with_a_warning(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    with pytest.warns(RuntimeWarning, match="cannot be written"):
        folder = tm.cache_dir(blocker / "cache")
    assert folder.is_dir() and not str(folder).startswith(str(blocker))


def test_corrupt_cache_file_is_rebuilt_with_a_warning(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(4.0)}, {"source": "test"}

    _, first = tm.cached_arrays("thing", build, tmp_path)
    folder = tmp_path / "tinymlperf"
    for damage in (lambda: (folder / "thing.npz").write_bytes(b"garbage"),
                   lambda: (folder / "thing.json").write_text("{not json"),
                   lambda: (folder / "thing.json").write_text(json.dumps({"sha256": "0" * 64}))):
        damage()
        with pytest.warns(RuntimeWarning, match="rebuilding"):
            arrays, metadata = tm.cached_arrays("thing", build, tmp_path)
        assert metadata["cache"] == "rebuilt" and metadata["sha256"] == first["sha256"]
        np.testing.assert_array_equal(arrays["x"], np.arange(4.0))
    assert len(calls) == 4
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")], "atomic writes leave no temporary files"


def test_image_classification_is_real_tinydigits():
    data = tm.make_image_classification("full")
    assert data.x_train.shape == (1000, 8, 8) and data.x_test.shape == (200, 8, 8)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_test.min() and data.x_test.max() <= 1
    assert data.metadata["real_data"] is True and "CC BY 4.0" in data.metadata["licence"]
    assert data.metadata["test_balance"] == {str(c): 20 for c in range(10)}
    assert tm.make_image_classification("small").x_test.shape == (100, 8, 8)


def test_keyword_spotting_is_balanced_mfcc_and_speaker_disjoint(bench):
    data = bench.load_data("keyword_spotting")
    assert data.x_train.shape[1:] == (49, 10) and data.x_test.shape[1:] == (49, 10)
    assert np.isfinite(data.x_train).all()
    assert set(data.metadata["test_balance"].values()) == {len(data.x_test) // 12}
    variants = lambda speakers: {s.split("+")[1] for s in speakers}
    assert not variants(data.metadata["train_speakers"]) & variants(data.metadata["test_speakers"])
    assert data.metadata["synthetic"] and "Speech Commands" in data.metadata["stand_in_for"]


def test_missing_espeak_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # `import espeakng_loader` now fails
    with pytest.raises(RuntimeError, match="pip install espeakng-loader"):
        tm._espeak("yes", "en-us+m1", 50, 160)


def test_espeak_needs_no_program_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    samples, rate = tm._espeak("yes", "en-us+m1", 50, 160)
    assert rate == 22050 and len(samples) > rate // 4 and np.abs(samples).max() <= 1.0
    assert tm._espeak_version().startswith("espeak-ng 1.52")


def _speak_hash(word, voice, pitch, speed):
    import hashlib

    return hashlib.sha256(tm._espeak(word, voice, pitch, speed)[0].tobytes()).hexdigest()


# Inside one process espeak-ng 1.52 carries state between utterances, and it seeds a generator
# differently in every process: this voice came out different on every run before the fix.
WORD = ("left", "en-029+f2", 40, 150)


def test_a_word_sounds_the_same_whatever_was_said_before():
    first = _speak_hash(*WORD)
    tm._espeak("marvin", "en-gb+annie", 60, 180)  # "en-gb" is a language, not a voice name
    assert _speak_hash(*WORD) == first


def test_a_word_sounds_the_same_in_another_process():
    code = ("from tinytorch.benchmarking import tinymlperf as tm; import hashlib; "
            f"print(hashlib.sha256(tm._espeak(*{WORD!r})[0].tobytes()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == _speak_hash(*WORD)


def test_an_unknown_voice_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no voice 'xx-nowhere'"):
        tm._espeak("yes", "xx-nowhere", 50, 160)


def test_anomaly_detection_trains_on_normal_and_tests_half_faulty(bench):
    data = bench.load_data("anomaly_detection")
    assert data.x_train.shape[1:] == (640,) and data.x_test.shape[1:] == (640,)
    assert (data.y_train == 0).all()
    assert data.y_test.mean() == 0.5
    faults = data.extras["test_fault"]
    assert np.array_equal(faults > 0, data.y_test == 1)
    assert len(set(np.bincount(faults[faults > 0])[1:])) == 1, "the four faults equally often"
    severity = data.extras["test_severity"][data.y_test == 1]
    assert 0.1 <= severity.min() and severity.max() <= 1.0


def test_visual_wake_words_shapes_balance_and_disjoint_sources(bench):
    data = bench.load_data("visual_wake_words")
    assert data.x_train.shape[1:] == (96, 96, 3) and data.x_test.dtype == np.float32
    assert 0 <= data.x_test.min() and data.x_test.max() <= 1
    assert data.y_test.mean() == 0.5
    sources = data.metadata["provenance"]
    assert not set(sources["train_backgrounds"]) & set(sources["test_backgrounds"])
    assert "drawn human figure" in data.metadata["person_means"]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["keyword_spotting", "anomaly_detection", "visual_wake_words"])
def test_generating_twice_gives_identical_bytes(bench, task, tmp_path):
    first = bench.load_data(task)  # built once for the session
    again = tm.TASKS[task].make_data("small", cache_root=tmp_path)  # built afresh in an empty cache
    assert again.metadata["cache"] == "built"
    assert again.sha256() == first.sha256() == first.metadata["sha256"]
    for name, array in first.arrays.items():
        np.testing.assert_array_equal(array, again.arrays[name])


def test_another_seed_gives_other_data(bench, tmp_path):
    other = tm.make_anomaly_detection("small", seed=7, cache_root=tmp_path)
    assert other.sha256() != bench.load_data("anomaly_detection").sha256()


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="size must be one of"):
        tm.make_anomaly_detection("huge")
