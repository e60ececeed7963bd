"""Keyword spotting as a task (the audio of tinytorch.datasets.keywords through Module 18's mfcc), and the task table."""
import importlib

import numpy as np
import pytest

from tinytorch.benchmarking import tinymlperf as tm
from tinytorch.datasets.keywords import KWS_LABELS
from tinytorch.datasets.wake_words import VWW_SIZE


def test_keyword_spotting_is_balanced_mfcc_and_speaker_disjoint(bench):
    data = bench.load_data("keyword_spotting")
    assert data.x_train.shape[1:] == (49, 10) and data.x_test.shape[1:] == (49, 10)
    assert np.isfinite(data.x_train).all()
    assert set(data.metadata["test_balance"].values()) == {len(data.x_test) // 12}
    variants = lambda speakers: {s.split("+")[1] for s in speakers}
    assert not variants(data.metadata["train_speakers"]) & variants(data.metadata["test_speakers"])
    assert data.metadata["synthetic"] and "Speech Commands" in data.metadata["stand_in_for"]


@pytest.mark.slow
def test_keyword_spotting_generated_twice_gives_identical_bytes(bench, tmp_path):
    first = bench.load_data("keyword_spotting")  # built once for the session
    again = tm.TASKS["keyword_spotting"].make_data("small", cache_root=tmp_path)  # built afresh in an empty cache
    assert again.metadata["cache"] == "built"
    assert again.sha256() == first.sha256() == first.metadata["sha256"]
    for name, array in first.arrays.items():
        np.testing.assert_array_equal(array, again.arrays[name])


def test_the_task_table_agrees_with_the_generators():
    assert tm.TASKS["keyword_spotting"].output_width == len(KWS_LABELS)
    assert tm.TASKS["visual_wake_words"].input_shape == (VWW_SIZE, VWW_SIZE, 3)
    for spec in tm.TASKS.values():
        module, function = spec.data_maker.split(":")
        assert callable(getattr(importlib.import_module(module), function)), spec.data_maker
