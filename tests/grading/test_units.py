"""Fast checks of the grading pieces that need no kernel."""
from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import pytest

from tito.course import STUDENT_ID, CourseSettings, ensure_gradebook, write_kernelspec
from tito.fileio import write_text_atomic
from tito.grading import StudentGrade, _failure_reason, grades_csv_text
from tito.grading_kernel import WriteGuard, _is_write_open
from tito.project import TitoError


def test_failure_reason_names_the_root_exception_not_nbgraders_wrapper():
    log = ("[ERROR] There was an error processing assignment: x\n[ERROR] Traceback (most recent call last):\n"
           "      File \"a.py\", line 1, in f\n    KeyError: 'grade_id'\n"
           "nbgrader.converters.base.NbGraderException: Please see the above traceback\n")
    assert _failure_reason({"log": log}) == "grading failed: KeyError: 'grade_id'"
    assert "kernel died" in _failure_reason({"log": "nbclient.exceptions.DeadKernelError: Kernel died"})
    assert _failure_reason({}) == "grading failed: no details in the nbgrader log"


def test_grades_csv_round_trips_awkward_text():
    grades = [StudentGrade("ann", "graded", 5.0, 5.0), StudentGrade("bob", "skipped", max_score=5.0,
                                                                   note='no "x", see, comma')]
    rows = list(csv.DictReader(io.StringIO(grades_csv_text(grades))))
    assert [(r["student"], r["score"], r["max_score"], r["status"]) for r in rows] == [
        ("ann", "5", "5", "graded"), ("bob", "", "5", "skipped")]
    assert rows[1]["note"] == 'no "x", see, comma'


@pytest.mark.parametrize("name, ok", [("ann", True), ("a.b-c_1", True), ("Jane Doe", False), ("../x", False),
                                      ("", False), ("-flag", False), ("é", False), ("a" * 65, False)])
def test_student_ids(name, ok):
    assert bool(STUDENT_ID.match(name)) == ok


def test_settings_refuse_limits_that_cannot_work():
    with pytest.raises(TitoError, match="cell_timeout"):
        CourseSettings(cell_timeout=0)
    with pytest.raises(TitoError, match="--memory-limit-mb 0 is below the 512 MiB"):
        CourseSettings(memory_limit_bytes=1024)
    with pytest.raises(TitoError, match="--notebook-timeout"):
        CourseSettings(notebook_timeout=0)
    with pytest.raises(TitoError, match="--max-processes"):
        CourseSettings(max_processes=4)


def test_write_guard_allows_the_folder_only(tmp_path):
    inside, outside = tmp_path / "sub", tmp_path / "other"
    inside.mkdir()
    guard = WriteGuard([str(inside)])
    assert guard.permits(str(inside / "a.txt")) and guard.permits(inside) and guard.permits("/dev/null")
    assert not guard.permits(str(outside / "a.txt"))
    assert not guard.permits(str(inside / ".." / "other"))
    assert not guard.permits(str(tmp_path / "sub-sibling"))  # a prefix of the name is not the folder
    (inside / "link").symlink_to(outside, target_is_directory=True)
    assert not guard.permits(str(inside / "link" / "a.txt"))
    with pytest.raises(PermissionError, match="does not allow writing"):
        guard("open", (str(outside / "x"), "w", 0))
    guard("open", (str(outside / "x"), "r", os.O_RDONLY))  # reading is fine
    with pytest.raises(PermissionError):
        guard("os.rename", (str(inside / "a"), str(outside / "b"), None, None))
    with pytest.raises(PermissionError):  # a hard link inside to a file outside: the source counts too
        guard("os.link", (str(outside / "source.py"), str(inside / "link.py"), None, None, True))
    with pytest.raises(PermissionError, match="starting programs"):
        guard("subprocess.Popen", ("ls", ["ls"], None, None))
    WriteGuard([str(inside)], allow_subprocesses=True)("subprocess.Popen", ("ls", ["ls"], None, None))


def test_write_modes():
    assert _is_write_open("w", None) and _is_write_open("r+", None) and _is_write_open("ab", None)
    assert not _is_write_open("r", None) and not _is_write_open("rb", None)
    assert _is_write_open(None, os.O_WRONLY | os.O_CREAT) and not _is_write_open(None, os.O_RDONLY)


def test_kernelspec_runs_the_grading_kernel_with_the_package_importable(tmp_path):
    spec = write_kernelspec(tmp_path, tmp_path / "project", CourseSettings(memory_limit_bytes=2**30))
    text = (spec / "kernel.json").read_text()
    assert "tito.grading_kernel" in text and str(2**30) in text and str(tmp_path / "project") in text
    assert '"interrupt_mode": "message"' in text  # a sandboxed kernel is in its own PID namespace


def test_the_sandbox_keeps_the_variables_timings_record(monkeypatch):
    from tinytorch.benchmarking.system import _TIMING_ENV_PREFIXES

    from tito.course import _PASSED_THROUGH, sandbox_env

    assert set(_PASSED_THROUGH) == set(_TIMING_ENV_PREFIXES)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("SECRET_TOKEN", "x")
    env = sandbox_env()
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and "SECRET_TOKEN" not in env


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    # mkstemp creates 0600 files; a release or grades.csv must be readable like any other file.
    target = tmp_path / "grades.csv"
    write_text_atomic(target, "x\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_our_gradebook_carries_the_alembic_head_nbgraders_program_reports(tmp_path, monkeypatch):
    import sys

    from nbgrader.api import Gradebook, get_alembic_version
    from sqlalchemy import create_engine, text

    url = ensure_gradebook(tmp_path)
    engine = create_engine(url)
    with engine.connect() as connection:
        ours = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert ours == get_alembic_version()  # the `alembic heads` program nbgrader would have run
    with Gradebook(url) as gradebook:  # nbgrader opens it without re-initialising it
        assert gradebook.assignments == []


def test_grade_refuses_bad_folders_before_grading(tmp_path, capsys):
    from tito.main import main

    submissions = tmp_path / "subs"
    assert main(["grade", "01", str(submissions), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    submissions.mkdir()
    (submissions / "notes.txt").write_text("a file, not a student folder")
    assert main(["grade", "01", str(submissions), "--out", str(tmp_path / "out")]) == 1
    assert "no student folders" in capsys.readouterr().err
    assert main(["grade", "01", str(submissions), "--out", str(submissions / "graded")]) == 2
    assert "must not be inside one another" in capsys.readouterr().err
    assert main(["grade", "01", str(submissions), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert main(["grade", "01", str(submissions), "--out", str(tmp_path / "o"), "--cell-timeout", "0"]) == 2
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


_PARENT_PID: list[int] = []
_GRADED_IN_PARENT: list[str] = []


def _killed_in_worker(course, settings, aid, name, submission, feedback=True):
    """Stands in for grading: a worker process dies the way the OOM killer would kill it."""
    import signal

    if os.getpid() != _PARENT_PID[0]:
        os.kill(os.getpid(), signal.SIGKILL)
    _GRADED_IN_PARENT.append(submission.student)
    return StudentGrade(submission.student, "graded", 1.0, 1.0)


def test_students_of_a_killed_worker_are_graded_again_in_process(tmp_path, monkeypatch):
    """A grading worker killed from outside breaks the pool; its students must not be lost."""
    from tito import grading
    from tito.submissions import Submission

    _PARENT_PID[:] = [os.getpid()]
    _GRADED_IN_PARENT.clear()
    monkeypatch.setattr(grading, "_grade_in_worker", _killed_in_worker)
    monkeypatch.setattr(grading, "_start_method", lambda: "fork")  # the worker inherits the stand-in
    seen = []
    students = [Submission(name, tmp_path) for name in ("a", "b", "c")]
    results = grading._grade_all(students, tmp_path, CourseSettings(), "x", "x.ipynb", 2, seen.append)
    assert sorted(results) == ["a", "b", "c"]
    assert all(g.status == "graded" for g in results.values()), [(g.status, g.note) for g in results.values()]
    assert sorted(_GRADED_IN_PARENT) == ["a", "b", "c"] and sorted(g.student for g in seen) == ["a", "b", "c"]


def test_an_answer_awaiting_manual_grading_is_not_a_failed_test(tmp_path):
    from nbgrader.api import Gradebook

    from tito.grading import read_gradebook_scores

    url = ensure_gradebook(tmp_path)
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("a")
        gradebook.add_notebook("nb", "a")
        gradebook.add_grade_cell("question", "nb", "a", max_score=2, cell_type="markdown")
        gradebook.add_grade_cell("tests", "nb", "a", max_score=3, cell_type="code")
        gradebook.add_student("alice")
        gradebook.add_submission("a", "alice")
        answer = gradebook.find_grade("question", "nb", "a", "alice")
        answer.needs_manual_grade, answer.auto_score = True, None
        failed_test = gradebook.find_grade("tests", "nb", "a", "alice")
        failed_test.needs_manual_grade, failed_test.auto_score = False, 0
        gradebook.db.commit()
    score, max_score, failed, needs_manual = read_gradebook_scores(url, "a", "alice")
    assert (score, max_score) == (0.0, 5.0)
    assert failed == ["tests"], "the written answer awaits the instructor; only the test failed"
    assert needs_manual is True


def test_validate_names_each_unanswered_question_even_with_identical_sources(checks_project, checks_release,
                                                                             tmp_path, monkeypatch):
    import copy

    import nbformat

    from tito.validation import validate_notebook

    from .conftest import cell_of, solve_checks

    notebook = solve_checks(copy.deepcopy(checks_release))
    second = copy.deepcopy(cell_of(notebook, "checks-q1-answer"))
    second.metadata.nbgrader["grade_id"], second["id"] = "checks-q2-answer", "second-answer"
    notebook.cells.append(second)
    path = tmp_path / "checks_dev.ipynb"
    nbformat.write(notebook, path)
    report = validate_notebook(path, checks_project)
    assert [a["grade_id"] for a in report["unanswered"]] == ["checks-q1-answer", "checks-q2-answer"]
    assert report["passed"] is True  # written answers are graded by hand: listed, not failed


def test_the_exercises_of_module_19_are_the_students_and_its_rooms_are_graded(tmp_path):
    """What the release's solution cells define, the cell runner leaves to the student; every room the
    lesson exports into holds stubs in the grader, so the scan names an import of any of them."""
    import nbformat

    from tito.executor import exercise_names
    from tito.project import resolve_module
    from tito.scan import _release
    from tito.student_course import released_notebook

    from .conftest import REPO

    notebook = released_notebook(resolve_module(REPO, "19"))
    nbformat.write(notebook, tmp_path / "release.ipynb")
    assert exercise_names(str(tmp_path / "release.ipynb")) == {
        "t_confidence_interval", "tukey_outlier_count", "PreciseTimer", "precise_timer", "calibrate_calls_per_block",
        "accuracy_from_outputs", "compare_samples", "estimate_energy_per_inference", "dominates",
        "check_olympic_constraints"}
    assert exercise_names("") == frozenset()
    graded = _release(notebook).graded
    assert {"tinytorch.benchmarking.benchmark", "tinytorch.benchmarking.statistics"} <= set(graded)
    assert "tinytorch.benchmarking.metrics" not in graded  # a provided room: the real code, in the grader too
