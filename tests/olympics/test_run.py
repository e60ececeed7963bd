"""Real runs: worker processes, hostile submissions as rows with reasons, limits and deadlines that bite."""
from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.benchmarking.workers import worker_environment
from tinytorch.models.zoo import load_reference_model, save_model
from tito.olympics import measure
from tito.olympics.board import build_board
from tito.olympics.database import Database
from tito.olympics.measure import MeasureSettings, check_entries, run_worker
from tito.olympics.runner import run_event
from tito.olympics.submission import MANIFEST, submit

FAST = MeasureSettings(processes=2, runs=3, warmup=1, min_block_ms=0.2)


def saved(tmp_path: Path, model, name: str) -> Path:
    save_model(model, tmp_path / "models" / name)
    return tmp_path / "models" / name


def forge(folder: Path, json_bytes: bytes, npz_bytes: bytes, team: str, event: str = "latency_sprint") -> None:
    folder.mkdir(parents=True)
    (folder / "model.json").write_bytes(json_bytes)
    (folder / "model.npz").write_bytes(npz_bytes)
    digest = hashlib.sha256(hashlib.sha256(json_bytes).digest() + hashlib.sha256(npz_bytes).digest()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps({
        "format": "tinytorch-olympics-submission", "format_version": 1, "team": team, "event": event,
        "submitted_at": "2026-03-01T12:00:00+00:00", "model_sha256": digest, "model_bytes": 1}))


def forge_model(subs: Path, tmp_path: Path, team: str, model=None, edit=None, npz=None) -> None:
    """Save `model` (default: the reference MLP), let `edit` change its document, rehash, write a folder."""
    path = saved(tmp_path, model or load_reference_model("tinydigits_mlp"), team)
    document = json.loads(path.with_suffix(".json").read_text())
    npz_bytes = npz if npz is not None else path.with_suffix(".npz").read_bytes()
    if edit:
        edit(document)
    document["arrays_sha256"] = hashlib.sha256(npz_bytes).hexdigest()
    forge(subs / team, json.dumps(document).encode(), npz_bytes, team)


def random_mlp() -> Sequential:
    return Sequential(Flatten(), Linear(64, 10, seed=3))  # untrained: about one image in ten


def overflowing_mlp() -> Sequential:
    model = Sequential(Flatten(), Linear(64, 32), Linear(32, 10))
    model[1].weight.data[:] = 1e38  # finite weights; a real image overflows them to inf, then NaN
    model[2].weight.data[:] = -1e38
    return model


@pytest.mark.slow
def test_a_run_with_hostile_submissions(tmp_path):
    subs = tmp_path / "subs"
    submit("latency_sprint", saved(tmp_path, load_reference_model("tinydigits_mlp"), "base"), "foxes", subs)
    submit("latency_sprint", saved(tmp_path, load_reference_model("tinydigits_mlp_int8"), "int8"), "owls", subs)
    submit("memory_challenge", saved(tmp_path, load_reference_model("tinydigits_mlp"), "base2"), "elsewhere", subs)
    forge_model(subs, tmp_path, "corrupt-npz", npz=b"PK\x03\x04 not really a zip" * 50)
    forge(subs / "corrupt-json", b'{"format": "tinytorch-model", ', b"", "corrupt-json")
    forge_model(subs, tmp_path, "unknown-layer", edit=lambda d: d["model"]["layers"][2].update(type="Lambda"))
    forge_model(subs, tmp_path, "wrong-shape", model=Sequential(Flatten(), Linear(64, 12)))
    forge_model(subs, tmp_path, "nan-outputs", model=overflowing_mlp())
    forge_model(subs, tmp_path, "guesser", model=random_mlp())
    forge_model(subs, tmp_path, "huge")
    with open(subs / "huge" / "model.npz", "r+b") as handle:
        handle.truncate(1024**3)
    pickled = io.BytesIO()
    np.savez(pickled, **{"model.1.weight": np.array([object()], dtype=object)})
    forge_model(subs, tmp_path, "pickle", npz=pickled.getvalue())
    (subs / "no-manifest").mkdir()
    (subs / "stray-file.txt").write_text("not a folder: ignored")

    with Database(str(tmp_path / "olympics.db")) as db:
        stages = []
        report = run_event("latency_sprint", subs, db, FAST, progress=lambda *a: stages.append(a))
        board = build_board(db, "latency_sprint")
    by_team = {e.team: e for e in report.run.entries}
    expected = {"corrupt-npz": "not a readable .npz", "corrupt-json": "not valid JSON",
                "unknown-layer": "unknown layer type 'Lambda'", "wrong-shape": "the task needs (1, 10)",
                "nan-outputs": "NaN or infinite", "huge": "the limit is 8,388,608",
                "pickle": "holds Python objects", "no-manifest": "submission.json", "guesser": "breaks the constraint"}
    for team, reason in expected.items():
        entry = by_team[team]
        assert entry.status == ("invalid" if team == "guesser" else "rejected"), (team, entry.reasons)
        assert reason in " ".join(entry.reasons), (team, entry.reasons)
    assert report.skipped == [(next(p.name for p in subs.iterdir() if p.name.startswith("elsewhere")),
                               "submitted for memory_challenge, not latency_sprint")]
    for team in ("reference", "foxes", "owls"):
        entry = by_team[team]
        assert entry.status == "valid", entry.reasons
        assert len(entry.latency_ms) == 2 and all(len(v) == 3 for v in entry.latency_ms), "raw values per process"
        assert entry.correct is not None and len(entry.predictions) == 200 and entry.model_sha256
    assert by_team["foxes"].correct == by_team["reference"].correct, "the same model as the baseline"
    assert {row.label for row in board.rows} == {"foxes", "owls", "reference (tinydigits_mlp baseline)"}
    environment = report.run.environment
    assert environment["versions"]["numpy"] and "timer_overhead_ns" in environment["system_info"]
    assert isinstance(environment["warnings"], list), "the busy-machine check of the measuring Benchmark"
    assert [p["ok"] for p in report.run.processes] == [True, True]
    checks = [stage for stage in stages if stage[0] == "check"]
    assert checks[0] == ("check", 0, 7) and checks[-1] == ("check", 7, 7), "the reference and six loadable entries"
    assert stages[-1] == ("measure", 2, 2)


@pytest.mark.slow
def test_too_slow_entries_are_not_measured(tmp_path):
    subs = tmp_path / "subs"
    submit("latency_sprint", saved(tmp_path, load_reference_model("tinydigits_mlp"), "base"), "foxes", subs)
    settings = MeasureSettings(processes=2, runs=2, warmup=0, min_block_ms=0.2, max_inference_ms=1e-6)
    with Database(str(tmp_path / "olympics.db")) as db, pytest.raises(RuntimeError, match="reference model could not"):
        run_event("latency_sprint", subs, db, settings)


@pytest.mark.slow
def test_a_measurement_that_cannot_finish_rejects_its_entries_and_is_recorded(tmp_path):
    subs = tmp_path / "subs"
    submit("latency_sprint", saved(tmp_path, load_reference_model("tinydigits_mlp"), "base"), "foxes", subs)
    settings = MeasureSettings(processes=2, runs=2, warmup=0, min_block_ms=0.2, process_timeout_s=0.05)
    with Database(str(tmp_path / "olympics.db")) as db:
        report = run_event("latency_sprint", subs, db, settings)
        assert db.runs("latency_sprint")[0].id == report.run.id
    assert [p["ok"] for p in report.run.processes] == [False, False]
    assert "did not finish within 0.05 s" in report.run.processes[0]["reason"]
    for entry in report.run.entries:
        assert entry.status == "rejected" and "only 0 of 2 processes finished" in entry.reasons[0]


@pytest.mark.slow
def test_a_worker_over_its_memory_limit_dies_and_says_so():
    problem, _ = run_worker("check", {"entries": [], "memory_limit_bytes": 64 * 2**20, "max_inference_ms": 1},
                            timeout_s=120, on_record=lambda line: None)
    # numpy's import fails under 64 MB: as a MemoryError, or OpenBLAS's own message, depending on the BLAS
    assert problem.startswith("the check process exited with code") and "(out of memory)" in problem


def test_a_worker_that_dies_mid_check_is_restarted_for_the_rest(monkeypatch, tmp_path):
    """A stand-in worker (a real process) that answers for its first entry, then kills itself."""
    stand_in = ("import json, os, signal, sys\n"
                "request = json.load(sys.stdin)\n"
                "first = request['entries'][0]['key']\n"
                "print(json.dumps({'key': first, 'ok': False, 'reason': 'checked'}), flush=True)\n"
                "if len(request['entries']) > 1: os.kill(os.getpid(), signal.SIGKILL)\n")
    monkeypatch.setattr(measure, "_worker_command", lambda command: [sys.executable, "-c", stand_in])
    seen = []
    outcomes = check_entries([(f"e{i}", tmp_path) for i in range(5)], FAST, lambda key, outcome: seen.append(key))
    killed = "checking this model failed: the check process was killed by SIGKILL"
    assert [outcomes[f"e{i}"]["reason"] for i in range(5)] == ["checked", killed, "checked", killed, "checked"]
    assert seen == ["e0", "e1", "e2", "e3", "e4"], "the last one is alone, so its stand-in lives"


def test_a_worker_past_its_deadline_is_killed(monkeypatch, tmp_path):
    stand_in = "import time\ntime.sleep(60)\n"
    monkeypatch.setattr(measure, "_worker_command", lambda command: [sys.executable, "-c", stand_in])
    settings = MeasureSettings(processes=2, check_timeout_s=0.5)
    outcomes = check_entries([("only", tmp_path)], settings)
    assert outcomes["only"] == {"ok": False, "reason": "checking this model failed: it did not finish within 0.5 s"}


def test_a_worker_that_writes_garbage_is_stopped(monkeypatch, tmp_path):
    stand_in = "print('hello, not JSON', flush=True)\nimport time\ntime.sleep(60)\n"
    monkeypatch.setattr(measure, "_worker_command", lambda command: [sys.executable, "-c", stand_in])
    outcomes = check_entries([("only", tmp_path)], FAST)
    assert outcomes["only"]["reason"] == ("checking this model failed: it wrote a line that is not a result: "
                                          "b'hello, not JSON'")


def test_what_a_library_prints_in_a_worker_is_not_a_result(tmp_path):
    """The real worker keeps stdout for results: a print (Python or C level) lands on stderr."""
    import subprocess

    code = ("import os, sys\nfrom tito.olympics import worker\nworker._keep_stdout_for_results()\n"
            "print('from python')\nos.write(1, b'from C\\n')\nworker._emit({'key': 'k'})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=worker_environment())
    assert done.stdout == '{"key": "k"}\n'
    assert "from python" in done.stderr and "from C" in done.stderr


def test_settings_are_checked():
    with pytest.raises(ValueError, match="at least 2 are needed for an interval across processes"):
        MeasureSettings(processes=1)
    with pytest.raises(ValueError, match="memory_limit_mb=100"):
        MeasureSettings(memory_limit_mb=100)
    assert "fresh processes" in FAST.describe()["method"]
