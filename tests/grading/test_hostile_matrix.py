"""The hostile matrix: every attack of issues 12 and 13 is a real submission, graded with the sandbox in
one run beside innocent classmates, who must keep full marks.

The fixture module 02 (see conftest) is graded from a copy of the project. Each attack would reach
something outside its scratch folder if the sandbox did not hold: the paths it aims at are real.
"""
from __future__ import annotations

import csv
import hashlib
import json
import time
from pathlib import Path

import nbformat
import pytest

from tito.main import main

from . import attacks
from .conftest import TEST_SETTINGS, cell_of, copy_project, fresh, solve_checks, write_submission
from .kernels import processes_with

pytestmark = pytest.mark.slow

NAME = "checks_dev.ipynb"
SECRET = "classmate-secret-5be1"  # in the innocent classmates' answers: no attacker may print it
MARKER = "tito-detached-7c2e"  # in the command line of the process meant to outlive its kernel
LIMITS = ["--cell-timeout", str(TEST_SETTINGS.cell_timeout), "--memory-limit-mb",
          str(TEST_SETTINGS.memory_limit_bytes // 2**20), "--notebook-timeout", "12", "--output-limit-kb", "64",
          "--scratch-limit-mb", "16"]
ANSWER = "A mean of zero makes the ratio divide by zero; the spread says nothing relative to nothing."
INNOCENT = ("correct1", "correct2", "noisy")


def after(notebook, grade_id: str, *sources: str):
    index = notebook.cells.index(cell_of(notebook, grade_id))
    for offset, source in enumerate(sources, start=1):
        notebook.cells.insert(index + offset, nbformat.v4.new_code_cell(source))
    return notebook


def answered(notebook):
    cell_of(notebook, "checks-q1-answer").source = ANSWER
    return notebook


def build(folder: Path, release, paths: dict) -> None:
    solved = lambda: answered(solve_checks(fresh(release)))  # noqa: E731
    for student in ("correct1", "correct2"):
        notebook = solved()
        cell = cell_of(notebook, "checks-ratio")
        cell.source = cell.source.replace("    spread = np.std(values)", f"    # {SECRET}\n    spread = np.std(values)")
        write_submission(folder, student, notebook, NAME)
    noisy = answered(solve_checks(fresh(release), "    import sys\n    print('computing', file=sys.stderr)\n"
                                                  "    return float(np.std(values) / np.mean(values))"))
    write_submission(folder, "noisy", noisy, NAME)
    stub = lambda: fresh(release)  # noqa: E731
    write_submission(folder, "escaper", after(stub(), "checks-helper", attacks.escaper(**paths["escaper"])), NAME)
    write_submission(folder, "killer", after(stub(), "checks-helper", attacks.killer(MARKER, paths["grades_csv"])),
                     NAME)
    write_submission(folder, "flooder", after(stub(), "checks-helper", attacks.flooder()), NAME)
    write_submission(folder, "bypasser", after(solved(), "checks-helper", attacks.BYPASS), NAME)
    write_submission(folder, "sleeper", after(stub(), "checks-helper", *[attacks.SLEEPER] * 6), NAME)
    write_submission(folder, "stuck", after(solved(), "checks-ratio", attacks.UNINTERRUPTIBLE), NAME)
    write_submission(folder, "transformers", after(stub(), "checks-helper", attacks.INPUT_TRANSFORMER,
                                                   attacks.AST_TRANSFORMER), NAME)
    write_submission(folder, "tracer", after(solve_checks(fresh(release), attacks.WRONG), "checks-ratio",
                                             attacks.TRACER), NAME)
    write_submission(folder, "patcher", after(solve_checks(fresh(release), attacks.WRONG), "checks-ratio",
                                              attacks.PATCHER), NAME)
    write_submission(folder, "importer", after(stub(), "checks-ratio", attacks.IMPORTER), NAME)
    write_submission(folder, "hijacker", after(stub(), "checks-helper", attacks.HIJACK), NAME)




def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, checks_release):
    base = tmp_path_factory.mktemp("hostile")
    project = copy_project(base / "project", with_checks=True)
    submissions, out, escape = base / "submissions", base / "out", base / "escape"
    escape.mkdir()
    paths = {"grades_csv": str(out / "grades.csv"),
             "escaper": {"source": str(project / "modules/02_checks/checks_dev.py"),
                         "gradebook": str(out / "gradebook.db"), "classmate": str(submissions / "correct1" / NAME),
                         "submissions": str(submissions), "escape": str(escape)}}
    build(submissions, checks_release, paths)
    before = {"project": digest(project), "submissions": digest(submissions)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TITO_ROOT", str(project))
        patch.chdir(base)
        import contextlib
        import io
        buffer = io.StringIO()
        start = time.monotonic()
        with contextlib.redirect_stdout(buffer):
            code = main(["grade", "02", str(submissions), "--out", str(out), "--json", "--jobs", "2", *LIMITS])
        seconds = time.monotonic() - start
    report = json.loads(buffer.getvalue())
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    return {"code": code, "report": report, "rows": rows, "out": out, "base": base, "escape": escape,
            "project": project, "submissions": submissions, "before": before, "seconds": seconds}


def printed(hostile, student: str) -> str:
    notebook = nbformat.read(hostile["out"] / "autograded" / student / "02_checks" / NAME, as_version=4)
    return "".join(o.get("text", "") + o.get("evalue", "") for c in notebook.cells for o in c.get("outputs", []))


def test_it_ran_sandboxed_and_every_student_has_a_row(hostile):
    assert hostile["report"]["sandboxed"] is True and "own sandbox" in hostile["report"]["kernels"]
    assert set(hostile["rows"]) == {*INNOCENT, "escaper", "killer", "flooder", "bypasser", "sleeper", "stuck",
                                    "transformers", "tracer", "patcher", "importer", "hijacker"}
    assert all(row["sandboxed"] == "yes" and row["max_score"] == "6" for row in hostile["rows"].values())


@pytest.mark.parametrize("student", INNOCENT)
def test_innocent_classmates_keep_full_marks(hostile, student):
    row = hostile["rows"][student]
    # 4 automatic points; the written answer (2 points) awaits the instructor.
    assert (row["score"], row["status"], row["needs_manual_grade"], row["failed_tests"]) == ("4", "graded", "yes", ""), row
    assert row["flags"] == "", row


@pytest.mark.parametrize("student", ["escaper", "killer", "flooder", "sleeper", "transformers", "tracer", "patcher",
                                     "importer"])
def test_attackers_score_what_their_own_code_earns(hostile, student):
    """None of them has a right answer: each scores what the untouched release scores."""
    row = hostile["rows"][student]
    assert (row["score"], row["status"]) == ("0", "graded"), row


def test_nothing_outside_the_scratch_folders_was_reached(hostile):
    assert list(hostile["escape"].iterdir()) == []
    assert digest(hostile["project"]) == hostile["before"]["project"]  # the hard link never happened
    assert digest(hostile["submissions"]) == hostile["before"]["submissions"]
    text = printed(hostile, "escaper")
    for what in ("warm process", "hard link", "hard link via ctypes", "gradebook", "read classmate",
                 "read instructor source", "list submissions", "ctypes open"):
        assert f"BLOCKED {what}:" in text, (what, text)
    assert SECRET not in text and "ratio = spread / mean" not in text
    processes = next(line for line in text.splitlines() if line.startswith("DONE processes"))
    assert "tito.main" not in processes and "grade" not in processes and str(hostile["submissions"]) not in processes


def test_no_attack_text_reaches_a_feedback_page_of_the_attacker(hostile):
    page = (hostile["out"] / "feedback/escaper/02_checks/checks_dev.html").read_text()
    assert SECRET not in page and "ratio = spread / mean" not in page


def test_killing_and_detaching_harm_nobody_and_nothing_outlives_its_kernel(hostile):
    text = printed(hostile, "killer")
    # Both really started, outside the audit hook's view (neither raises an audit event).
    assert "DONE detached process (fork_exec)" in text and "DONE detached process:" in text, text
    assert processes_with(MARKER) == []
    rows_now = (hostile["out"] / "grades.csv").read_text()
    assert "student,54" not in rows_now and rows_now.startswith("student,score,max_score")


def test_floods_are_capped_and_nothing_stays_on_disk(hostile):
    autograded = hostile["out"] / "autograded" / "flooder" / "02_checks"
    assert sorted(p.name for p in autograded.iterdir()) == [NAME]  # filler.bin lived and died in the scratch tmpfs
    assert (autograded / NAME).stat().st_size < 1_000_000
    assert (hostile["out"] / "feedback/flooder/02_checks/checks_dev.html").stat().st_size < 2_000_000
    text = printed(hostile, "flooder")
    assert "output truncated" in text and "disk full: 28" in text
    assert "output truncated" in hostile["rows"]["flooder"]["flags"]
    assert "output truncated" in (hostile["out"] / "feedback/flooder/02_checks/checks_dev.html").read_text()


def test_one_huge_message_is_dropped_and_costs_only_its_cell(hostile):
    """The kernel's cap undone, 60 MB printed at once: the grader refuses the message (ZMQ_MAXMSGSIZE),
    replaces the kernel, and the right answer after it still scores."""
    row = hostile["rows"]["bypasser"]
    assert (row["score"], row["status"]) == ("4", "graded"), row
    assert "output stopped arriving" in row["flags"], row
    notebook = hostile["out"] / "autograded" / "bypasser" / "02_checks" / NAME
    assert notebook.stat().st_size < 1_000_000


def test_the_notebook_time_limit_stops_a_slow_notebook(hostile):
    row = hostile["rows"]["sleeper"]
    assert "notebook time limit" in row["flags"], row
    assert "time limit (12 s) was reached before this cell ran" in printed(hostile, "sleeper")


def test_an_uninterruptible_cell_costs_only_its_own_tests(hostile):
    row = hostile["rows"]["stuck"]
    assert (row["score"], row["status"]) == ("4", "graded"), row
    assert "did not stop when interrupted" in row["flags"], row


def test_rewritten_tests_and_patched_helpers_are_undone_and_flagged(hostile):
    rows = hostile["rows"]
    assert "input_transformers_post" in rows["transformers"]["flags"]
    assert "ast_transformers" in rows["transformers"]["flags"]
    assert "settrace" in rows["tracer"]["flags"]
    flags = rows["patcher"]["flags"]
    for restored in ("math.isclose", "math.isnan", "assert_allclose", "TestCase.assertEqual", "builtins.abs",
                     "shadowed the builtin isinstance", "redefined close"):
        assert restored in flags, (restored, flags)
    assert "imports from tinytorch" in rows["importer"]["flags"] or "graded module" in rows["importer"]["flags"]


def test_a_replaced_test_handler_is_listed_for_the_instructor(hostile):
    """The one attack the design does not stop: code in the same process replacing the test runner.
    README says so; the scan lists what such code needs."""
    flags = hostile["rows"]["hijacker"]["flags"]
    assert "shell_handlers" in flags and "get_ipython" in flags


def test_the_gradebook_agrees_with_grades_csv(hostile):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hostile['out'] / 'gradebook.db'}") as gradebook:
        for name, row in hostile["rows"].items():
            submission = gradebook.find_submission("02_checks", name)
            assert (f"{submission.score:g}", f"{submission.max_score:g}") == (row["score"], row["max_score"]), name


def test_feedback_says_pending_manual_grading(hostile):
    page = (hostile["out"] / "feedback/correct1/02_checks/checks_dev.html").read_text()
    assert "pending manual grading" in page and "Score: 0.0 / 2.0" not in page
    assert 'id="pending-manual-grading"' in page and "2.0 point(s) in\n        1 answer(s) await manual grading" in page
    assert "Score: 4.0 / 4.0" in page  # the test cell keeps its score


def test_stderr_and_warnings_in_a_right_answer_cost_nothing(hostile):
    text = printed(hostile, "noisy")
    assert "computing" in text and "costs no points" in text  # shown to the student, on stdout
