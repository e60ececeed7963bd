"""tinytorch.utils: the one atomic writer, the argument checks, calling a model, the fake clock."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.utils import files
from tinytorch.utils.checks import check_count, check_input_shape, check_positive
from tinytorch.utils.files import (remove_stale_temporaries, write_atomic, write_bytes_atomic, write_json_atomic,
                                   write_text_atomic)
from tinytorch.utils.inference import as_array, inference_function, model_name
from tinytorch.utils.testing import FakeClock


def usual_mode() -> int:
    return 0o666 & ~files.current_umask()


def test_atomic_write_gives_the_usual_mode_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "deep" / "folder" / "report.md"
    assert write_text_atomic(target, "hello\n") == target
    assert target.read_bytes() == b"hello\n" and target.stat().st_mode & 0o777 == usual_mode()
    write_bytes_atomic(target, b"again")
    write_json_atomic(tmp_path / "data.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "data.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]


def test_a_writer_function_writes_the_temporary_file_which_then_replaces_the_target(tmp_path):
    seen = []

    def writer(path):
        seen.append(path)
        path.write_text("drawn")

    write_atomic(tmp_path / "plot.png", writer)
    assert (tmp_path / "plot.png").read_text() == "drawn" and seen[0].parent == tmp_path
    assert seen[0].name.startswith(f".plot.png.{os.getpid()}.") and not seen[0].exists()


def test_file_and_folder_are_synced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(os.path.realpath(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_text_atomic(tmp_path / "x.txt", "x")
    assert synced[0].startswith(str(tmp_path / ".x.txt.")) and synced[-1] == str(tmp_path)


@pytest.mark.parametrize("failure", ["writer", "rename"])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch, failure):
    target = tmp_path / "model.json"
    write_text_atomic(target, "old")

    def broken_writer(path):
        path.write_text("half")
        raise KeyboardInterrupt

    if failure == "rename":
        monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises((KeyboardInterrupt, OSError)):
        write_atomic(target, broken_writer if failure == "writer" else b"new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_leftovers_of_killed_writers_are_removed_but_a_live_writer_is_left_alone(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)  # the process has exited: its pid names no running writer
    leftover = tmp_path / f".results.json.{dead_pid}.abc123_x.tmp"
    live = tmp_path / f".results.json.{os.getppid()}.zz9.tmp"
    other = tmp_path / f".results.json.old.{dead_pid}.abc.tmp"  # another file's temporary: not ours to judge
    for path in (leftover, live, other):
        path.write_text("partial")
    assert remove_stale_temporaries(tmp_path / "results.json") == [leftover]
    write_text_atomic(tmp_path / "results.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "results.json"])


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot create the output folder"):
        write_text_atomic(blocker / "sub" / "x.txt", "x")


def test_checks_name_the_value_and_the_fix():
    assert check_count("runs", 3, 1) == 3
    for bad in (0, True, 2.0, "3"):
        with pytest.raises(ValueError, match=r"runs=.* must be an integer >= 1"):
            check_count("runs", bad, 1)
    assert check_positive("watts", 10) == 10.0
    for bad in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="watts=.* must be a positive finite number, e.g. 10.0"):
            check_positive("watts", bad, "10.0")
    assert check_input_shape([1, 8, 8]) == (1, 8, 8)
    for shape, words, axes in (((), "tuple of integers", 1), ((64,), "no batch axis", 2), ((1, 0), "zero or negative", 1),
                               ((1, 2.5), "tuple of integers", 1), ("1x64", "tuple of integers", 1)):
        with pytest.raises(ValueError, match=words):
            check_input_shape(shape, min_axes=axes)


def test_a_model_is_called_by_forward_then_predict_then_as_a_function():
    class Both:
        def forward(self, x):
            return "forward"

        def predict(self, x):
            return "predict"

    class Predicts:
        name = "p"

        def predict(self, x):
            return x

    assert inference_function(Both())[1] == "forward" and inference_function(Predicts())[1] == "predict"
    assert inference_function(len)[1] == "__call__"
    with pytest.raises(TypeError, match=r"model 2 \(object\) has no forward\(x\), no predict\(x\)"):
        inference_function(object(), "model 2")
    assert model_name(Predicts(), "model_0") == "p" and model_name(object(), "model_0") == "model_0"
    np.testing.assert_array_equal(as_array(Tensor(np.ones(3))), np.ones(3))
    assert as_array([1, 2]).tolist() == [1, 2]


def test_fake_clock_moves_only_when_told():
    clock = FakeClock()
    assert clock() == 0 and clock() == 0
    clock.advance(300)
    assert clock() == 300 and clock.readings == 3
    ticking = FakeClock(tick=700)
    assert [ticking(), ticking()] == [700, 1400]
    stepping = FakeClock(steps=[1, 10])
    assert [stepping(), stepping(), stepping()] == [1, 11, 12]
    scripted = FakeClock(script=[5, 9])
    assert [scripted(), scripted()] == [5, 9]
    with pytest.raises(RuntimeError, match="script has 2 readings"):
        scripted()
