"""The submission matrix: every way a submission can go wrong, graded in one real run.

Each student is scored as the course intends, the grader survives every one of them, the gradebook
agrees with grades.csv, and nothing is written outside the output folder.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
import pytest

from tito.main import main

from .conftest import (REPO, TEST_SETTINGS, cell_of, fresh, insert_after, solve, with_matmul_body,
                       write_submission)

pytestmark = pytest.mark.slow  # one real grading run of 14 student folders, shared by the tests below

WRONG = "        return Tensor(np.matmul(self.data, other) + 1)"
LOOP = "        while True:\n            pass"
# Grows until the kernel's address-space cap (1 GiB in the tests) turns it into a MemoryError;
# each chunk is touched, so without the cap this would really consume the machine's memory.
BOMB = "        chunks = []\n        while True:\n            chunks.append(np.ones(2**24))"


def build_matrix(folder: Path, released: dict, escape: Path) -> None:
    tensor, layers = released["01_tensor"], released["03_layers"]
    write_submission(folder, "correct", solve(fresh(tensor)))
    write_submission(folder, "wrong", with_matmul_body(fresh(tensor), WRONG))
    write_submission(folder, "untouched", fresh(tensor))
    write_submission(folder, "loops", with_matmul_body(fresh(tensor), LOOP))
    write_submission(folder, "bomb", with_matmul_body(fresh(tensor), BOMB))
    write_submission(folder, "sysexit", insert_after(solve(fresh(tensor)), "tensor-class", "import sys\nsys.exit(1)"))
    write_submission(folder, "osexit", insert_after(solve(fresh(tensor)), "tensor-class", "import os\nos._exit(3)"))
    tampered = fresh(tensor)
    cell_of(tampered, "tensor-class-tests").source = "print('all tests passed')"
    write_submission(folder, "tampered", tampered)
    inflated = solve(fresh(tensor))
    cell_of(inflated, "tensor-class-tests").metadata.nbgrader["points"] = 50
    insert_after(inflated, "tensor-class-tests", "print('free points')")
    bonus = next(c for c in inflated.cells if c.source == "print('free points')")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": False, "points": 100,
                                  "schema_version": 3, "solution": False}
    write_submission(folder, "inflated", inflated)
    duplicated = solve(fresh(tensor))  # Jupyter's copy and paste repeats the grade_id
    index = duplicated.cells.index(cell_of(duplicated, "tensor-class-tests"))
    duplicated.cells.insert(index + 1, fresh(duplicated.cells[index]))
    duplicated.cells[index + 1]["id"] = "pasted-copy"
    write_submission(folder, "duplicated", duplicated)
    deleted = solve(fresh(tensor))
    deleted.cells.remove(cell_of(deleted, "tensor-class-tests"))
    write_submission(folder, "deleted", deleted)
    writer = ("import pathlib\nfor target in ['../../../grades.csv', '../../../gradebook.db', %r]:\n"
              "    try:\n        pathlib.Path(target).write_text('hacked')\n"
              "    except OSError as error:  # refused by the guard, or not there at all inside the sandbox\n"
              "        print('refused', target)\n") % str(escape)
    write_submission(folder, "escaper", insert_after(solve(fresh(tensor)), "tensor-class", writer))
    # Bad input: none of these may cost the others their grades.
    (folder / "empty").mkdir()
    (folder / "notjson").mkdir()
    (folder / "notjson" / "tensor_dev.ipynb").write_text("this is not { json")
    write_submission(folder, "othermodule", layers)  # module 03's notebook under module 01's name
    write_submission(folder, "Jane Doe", solve(fresh(tensor)))


def snapshot(folder: Path, exclude: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if exclude not in (p, *p.parents)}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, released):
    base = tmp_path_factory.mktemp("matrix")
    submissions, out, escape = base / "submissions", base / "out", base / "escaped.txt"
    build_matrix(submissions, released, escape)
    before = snapshot(base, out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TITO_ROOT", str(REPO))
        patch.chdir(base)
        capture = base / "stdout.json"
        import contextlib
        import io
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["grade", "01", str(submissions), "--out", str(out), "--json", "--jobs", "2",
                         "--cell-timeout", str(TEST_SETTINGS.cell_timeout),
                         "--memory-limit-mb", str(TEST_SETTINGS.memory_limit_bytes // 2**20)])
        capture.write_text(buffer.getvalue())
    report = json.loads(buffer.getvalue())
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    return {"code": code, "report": report, "rows": rows, "out": out, "base": base, "escape": escape,
            "before": before}


def test_every_student_folder_gets_a_row_and_problems_give_exit_1(matrix):
    assert matrix["code"] == 1  # skipped folders are reported as problems
    assert set(matrix["rows"]) == {"correct", "wrong", "untouched", "loops", "bomb", "sysexit", "osexit",
                                   "tampered", "inflated", "duplicated", "deleted",
                                   "escaper", "empty", "notjson", "othermodule",
                                   "Jane Doe"}
    assert all(row["max_score"] == "5" for row in matrix["rows"].values())
    # The matrix runs in kernels forked from the zygote (tito.kernel_zygote), sandboxed, the way `tito grade` runs.
    assert matrix["report"]["kernels"] == "forked from a warm process, each in its own sandbox"


@pytest.mark.parametrize("student, score, status", [
    ("correct", "5", "graded"),
    ("wrong", "0", "graded"),
    ("untouched", "0", "graded"),
    ("loops", "0", "graded"),       # the test cell is interrupted at the cell timeout
    ("bomb", "0", "graded"),        # MemoryError inside the kernel; the kernel lives on
    ("sysexit", "5", "graded"),     # SystemExit is an error in its own cell only
    ("osexit", "5", "graded"),      # the kernel dies in a cell without tests: replaced, the rest replayed
    ("tampered", "0", "graded"),    # the locked test cell is restored before grading
    ("inflated", "5", "graded"),    # points come from the gradebook; an added graded cell earns nothing
    ("duplicated", "5", "graded"),  # the second copy is a plain cell
    ("deleted", "0", "graded"),     # a deleted graded cell scores 0
    ("escaper", "5", "graded"),     # its writes are refused; its own work still counts
])
def test_each_submission_is_scored_as_it_should_be(matrix, student, score, status):
    row = matrix["rows"][student]
    assert (row["score"], row["status"]) == (score, status), row


def test_failing_tests_and_integrity_flags_are_reported(matrix):
    rows = matrix["rows"]
    assert rows["wrong"]["failed_tests"] == "tensor-class-tests"
    assert rows["correct"]["failed_tests"] == "" and rows["correct"]["flags"] == ""
    assert rows["tampered"]["flags"] == "edited locked cell tensor-class-tests"
    assert rows["deleted"]["flags"] == "deleted cell tensor-class-tests"
    assert rows["duplicated"]["flags"] == "second copy of cell tensor-class-tests (graded as a plain cell)"
    assert rows["inflated"]["flags"].split(";") == [
        "edited locked cell tensor-class-tests", "added graded cell bonus (not in the release: it earns nothing)"]
    assert "the kernel died" in rows["osexit"]["flags"] and "replaced" in rows["osexit"]["flags"]
    assert rows["loops"]["flags"] == f"{rows['loops']['failed_tests']}: interrupted after 4 s"


@pytest.mark.parametrize("student, reason", [
    ("empty", "no tensor_dev.ipynb (the folder holds no notebook)"),
    ("notjson", "is not a readable notebook"),
    ("othermodule", "is not a notebook of module 01_tensor"),
    ("Jane Doe", "is not a valid student id"),
])
def test_bad_input_is_skipped_with_a_reason(matrix, student, reason):
    row = matrix["rows"][student]
    assert row["status"] == "skipped" and row["score"] == "" and reason in row["note"], row


def test_the_gradebook_agrees_with_grades_csv(matrix):
    from nbgrader.api import Gradebook

    rows = matrix["rows"]
    with Gradebook(f"sqlite:///{matrix['out'] / 'gradebook.db'}") as gradebook:
        students = {student.id for student in gradebook.students}
        graded = {name for name, row in rows.items() if row["status"] != "skipped"}
        assert students == graded
        for name in graded:
            submission = gradebook.find_submission("01_tensor", name)
            assert (f"{submission.score:g}", f"{submission.max_score:g}") == (rows[name]["score"], "5")
            # nbgrader asks a person to look at a submission whose graded cell was deleted
            assert submission.needs_manual_grade == (name == "deleted")
            assert rows[name]["needs_manual_grade"] == ("yes" if name == "deleted" else "no")


def test_feedback_html_for_every_graded_student(matrix):
    for name, row in matrix["rows"].items():
        html = matrix["out"] / "feedback" / name / "01_tensor" / "tensor_dev.html"
        assert html.is_file() == (row["status"] == "graded"), name
    page = (matrix["out"] / "feedback/untouched/01_tensor/tensor_dev.html").read_text()
    assert "NotImplementedError" in page
    # tito.feedback: the graded cells are coloured (pygments spans), so the configuration took effect.
    assert '<span class="k">def</span>' in page


def test_nothing_is_written_outside_the_output_folder(matrix):
    assert not matrix["escape"].exists()
    after = snapshot(matrix["base"], matrix["out"])
    after.pop(str(matrix["base"] / "stdout.json"))
    assert after == matrix["before"]
    assert (matrix["out"] / "grades.csv").read_text().startswith("student,score,max_score")
    escaper = nbformat.read(matrix["out"] / "autograded/escaper/01_tensor/tensor_dev.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for cell in escaper.cells for o in cell.get("outputs", []))
    assert printed.count("refused ") == 3, printed


def test_no_log_files_are_dropped(matrix):
    assert not list(matrix["base"].rglob(".nbgrader.log"))
    assert not (Path(os.getcwd()) / ".nbgrader.log").exists()
