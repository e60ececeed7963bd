"""`tito grade --no-feedback` then `tito feedback`: the nbgrader order when written answers are graded by hand."""
from __future__ import annotations

import copy
import csv
import json

import nbformat

from tito.course import notebook_name
from tito.main import main
from tito.project import resolve_module

from .conftest import REPO, TEST_SETTINGS, solve

LIMITS = ["--cell-timeout", str(TEST_SETTINGS.cell_timeout),
          "--memory-limit-mb", str(TEST_SETTINGS.memory_limit_bytes // 2**20)]


def test_grade_without_feedback_then_feedback(released, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TITO_ROOT", str(REPO))
    name = notebook_name(resolve_module(REPO, "01"))
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    for student, notebook in (("solved", solve(copy.deepcopy(released["01_tensor"]))),
                              ("untouched", copy.deepcopy(released["01_tensor"]))):
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / name)
    page = out / "feedback" / "solved" / "01_tensor" / "tensor_dev.html"
    page.parent.mkdir(parents=True)
    page.write_text("a page from an earlier grading, showing an earlier score")

    assert main(["grade", "01", str(submissions), "--out", str(out), "--no-feedback", "--json", *LIMITS]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["feedback"] is False and all(g["feedback"] is None for g in report["grades"])
    assert not page.exists(), "a stale page must not survive a regrade without feedback"
    scores = {row["student"]: row["score"] for row in csv.DictReader((out / "grades.csv").open())}
    assert scores == {"solved": "5", "untouched": "0"}

    assert main(["feedback", "01", "--out", str(out), "--json", "--jobs", "2"]) == 0
    rows = {row["student"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert set(rows) == {"solved", "untouched"} and all(row["feedback"] for row in rows.values())
    assert "NotImplementedError" in (out / "feedback/untouched/01_tensor/tensor_dev.html").read_text()
    assert "earlier score" not in page.read_text()


def test_feedback_before_any_grading_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TITO_ROOT", str(REPO))
    assert main(["feedback", "01", "--out", str(tmp_path / "nothing")]) == 2
    message = capsys.readouterr().err
    assert "no autograded 01_tensor submissions" in message and "tito grade 01" in message
