"""`tito grade --no-feedback`, grading by hand, then `tito feedback`: pages and grades.csv follow the gradebook.

Graded with --no-sandbox, which grades.csv and the report must say on every row.
"""
from __future__ import annotations

import csv
import json

from nbgrader.api import Gradebook

from tito.main import main

from .conftest import TEST_SETTINGS, cell_of, fresh, solve_checks, write_submission

LIMITS = ["--cell-timeout", str(TEST_SETTINGS.cell_timeout),
          "--memory-limit-mb", str(TEST_SETTINGS.memory_limit_bytes // 2**20)]
NAME = "checks_dev.ipynb"


def rows(out):
    return {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}


def test_grade_without_feedback_then_grade_by_hand_then_feedback(checks_project, checks_release, tmp_path,
                                                                monkeypatch, capsys):
    monkeypatch.setenv("TITO_ROOT", str(checks_project))
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    solved = solve_checks(fresh(checks_release))
    cell_of(solved, "checks-q1-answer").source = "Zero mean: the ratio divides by zero."
    write_submission(submissions, "solved", solved, NAME)
    write_submission(submissions, "untouched", fresh(checks_release), NAME)
    page = out / "feedback" / "solved" / "02_checks" / "checks_dev.html"
    page.parent.mkdir(parents=True)
    page.write_text("a page from an earlier grading, showing an earlier score")

    assert main(["grade", "02", str(submissions), "--out", str(out), "--no-feedback", "--no-sandbox", "--json",
                 *LIMITS]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "--no-sandbox" in captured.err and report["sandboxed"] is False and "WITHOUT a sandbox" in report["kernels"]
    assert report["feedback"] is False and all(g["feedback"] is None for g in report["grades"])
    assert not page.exists(), "a stale page must not survive a regrade without feedback"
    graded = rows(out)
    assert {name: (row["score"], row["needs_manual_grade"]) for name, row in graded.items()} == {
        "solved": ("4", "yes"), "untouched": ("0", "no")}
    assert all(row["sandboxed"] == "no" and "WITHOUT the sandbox" in row["note"] for row in graded.values())

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:  # the instructor grades the answer
        answer = gradebook.find_grade("checks-q1-answer", "checks_dev", "02_checks", "solved")
        answer.manual_score, answer.needs_manual_grade = 2, False
        gradebook.db.commit()
    (out / "grades.csv").write_text("stale")
    assert main(["feedback", "02", "--out", str(out), "--json", "--jobs", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["student"] for row in report["rows"] if row["feedback"]} == {"solved", "untouched"}
    regraded = rows(out)  # grades.csv rewritten from the gradebook
    assert (regraded["solved"]["score"], regraded["solved"]["needs_manual_grade"]) == ("6", "no")
    text = page.read_text()
    assert "earlier score" not in text and "pending manual grading" not in text and "Score: 2.0 / 2.0" in text
    assert "NotImplementedError" in (out / "feedback/untouched/02_checks/checks_dev.html").read_text()


def test_feedback_before_any_grading_is_a_usage_error(tmp_path, monkeypatch, capsys):
    from .conftest import REPO

    monkeypatch.setenv("TITO_ROOT", str(REPO))
    assert main(["feedback", "01", "--out", str(tmp_path / "nothing")]) == 2
    message = capsys.readouterr().err
    assert "no autograded 01_tensor submissions" in message and "tito grade 01" in message
