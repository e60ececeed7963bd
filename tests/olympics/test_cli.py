"""`tito olympics`: in-process for the bad inputs and the board, one subprocess run end to end on PostgreSQL."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.models.zoo import load_reference_model, save_model
from tito.main import main
from tito.olympics.database import Database


@pytest.fixture
def saved_mlp(tmp_path):
    save_model(load_reference_model("tinydigits_mlp"), tmp_path / "mlp")
    return tmp_path / "mlp"


def test_submit(saved_mlp, tmp_path, capsys):
    assert main(["olympics", "submit", "latency_sprint", str(saved_mlp), "--team", "foxes",
                 "--out", str(tmp_path / "subs"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert Path(data["submission"]).is_dir() and data["team"] == "foxes"


def test_submit_a_model_of_the_wrong_shape(tmp_path, capsys):
    save_model(Sequential(Flatten(), Linear(64, 3)), tmp_path / "three")
    assert main(["olympics", "submit", "latency_sprint", str(tmp_path / "three"), "--team", "foxes",
                 "--out", str(tmp_path / "subs")]) == 1
    assert "cannot be submitted: the model maps an input of shape (1, 8, 8) to (1, 3)" in capsys.readouterr().err


def test_submit_a_missing_model(tmp_path, capsys):
    assert main(["olympics", "submit", "latency_sprint", str(tmp_path / "nothing"), "--team", "foxes"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_bad_usage_exits_2(tmp_path, capsys):
    assert main(["olympics", "run", "marathon", str(tmp_path)]) == 2
    assert main(["olympics", "run", "latency_sprint", str(tmp_path), "--processes", "1",
                 "--db", str(tmp_path / "o.db")]) == 2
    assert "at least 2 are needed" in capsys.readouterr().err
    assert main(["olympics", "submit", "latency_sprint", "m", "--team", "x", "--max-model-mb", "0"]) == 2


def test_run_on_a_missing_folder(tmp_path, capsys):
    assert main(["olympics", "run", "latency_sprint", str(tmp_path / "nowhere"), "--db", str(tmp_path / "o.db")]) == 1
    assert "does not exist or is not a folder" in capsys.readouterr().err


def test_leaderboard_empty_and_filled(tmp_path, capsys, make_entry, make_run):
    db = str(tmp_path / "o.db")
    assert main(["olympics", "leaderboard", "memory_challenge", "--db", db]) == 0
    assert "no valid entry for memory_challenge" in capsys.readouterr().out
    with Database(db) as database:
        database.record_run(make_run("latency_sprint", [make_entry("reference", 0.01, is_reference=True),
                                                        make_entry("[red]foxes", 0.005, seed=1),
                                                        make_entry("owls", 0.005, seed=2)]))
    assert main(["olympics", "leaderboard", "latency_sprint", "--db", db, "--html", str(tmp_path / "site")]) == 0
    captured = capsys.readouterr()
    assert "[red]foxes" in captured.out, "team names are text, not console markup"
    assert "Holm" in captured.out and "places" in captured.out
    assert (tmp_path / "site" / "latency_sprint.html").is_file() and "wrote" in captured.err
    assert main(["olympics", "leaderboard", "latency_sprint", "--db", db, "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["board"]
    places = {row["team"]: row["places"] for row in board["entries"]}
    assert places["owls"] == places["[red]foxes"] == "1-2"


def test_a_database_that_cannot_be_opened(tmp_path, capsys):
    assert main(["olympics", "leaderboard", "all_around", "--db", str(tmp_path / "no" / "o.db")]) == 1
    assert "folder" in capsys.readouterr().err


@pytest.mark.slow
def test_submit_run_and_leaderboard_as_a_class_would(tmp_path, saved_mlp, postgres_url, capsys):
    save_model(load_reference_model("tinydigits_mlp_int8"), tmp_path / "int8")
    for team, model in (("foxes", saved_mlp), ("owls", tmp_path / "int8")):
        assert main(["olympics", "submit", "all_around", str(model), "--team", team,
                     "--out", str(tmp_path / "subs")]) == 0
    (tmp_path / "subs" / "junk").mkdir()
    run = subprocess.run([sys.executable, "-m", "tito.main", "olympics", "run", "all_around", str(tmp_path / "subs"),
                          "--db", postgres_url, "--processes", "2", "--runs", "3", "--warmup", "1",
                          "--min-block-ms", "0.2", "--html", str(tmp_path / "site")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "measuring in fresh processes" in run.stderr and "2/2" in run.stderr, "the progress bar"
    assert "1 rejected" in run.stderr and "rejected: junk (junk): " in run.stderr
    assert "owls" in run.stdout and "Holm" in run.stdout
    assert (tmp_path / "site" / "all_around.html").is_file()
    capsys.readouterr()
    assert main(["olympics", "leaderboard", "all_around", "--db", postgres_url, "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["board"]
    assert {row["team"] for row in board["entries"]} == {"foxes", "owls", "reference (tinydigits_mlp baseline)"}
    assert [e["team"] for e in board["not_ranked"]] == ["junk"]
