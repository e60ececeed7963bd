"""`tito validate` tells a student what is wrong: the failing line and message, the cell that does not
run, a notebook of another module, and warnings that cost nothing."""
from __future__ import annotations

import json

import pytest

from tito.main import main

from .conftest import cell_of, fresh, solve, solve_checks, write_submission

NAME = "checks_dev.ipynb"


@pytest.fixture
def in_checks_project(checks_project, monkeypatch):
    monkeypatch.setenv("TITO_ROOT", str(checks_project))
    return checks_project


def validate(path, capsys, as_json=True):
    code = main(["validate", str(path), *(["--json"] if as_json else [])])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if as_json else captured.out + captured.err)


def test_a_right_answer_that_makes_numpy_warn_passes(in_checks_project, checks_release, tmp_path, capsys):
    """The graded test divides 0 by 0 through the student's function: NumPy warns on stderr. nbgrader
    would score the cell 0; a warning costs nothing."""
    path = write_submission(tmp_path, "me", solve_checks(fresh(checks_release)), NAME)
    code, report = validate(path, capsys)
    assert code == 0 and report["passed"] and report["failed"] == [], report
    assert report["module"] == "02_checks" and report["unanswered"] == [{"grade_id": "checks-q1-answer", "points": 2.0}]


def test_a_failing_assert_is_named_with_its_line_and_message(in_checks_project, checks_release, tmp_path, capsys):
    path = write_submission(tmp_path, "me", solve_checks(fresh(checks_release), "    return 0.5"), NAME)
    code, report = validate(path, capsys)
    assert code == 1
    [failure] = report["failed"]
    assert failure["grade_id"] == "checks-ratio-tests" and failure["points"] == 4.0
    assert failure["line"] == 2 and failure["source"].startswith("assert close(spread_ratio([1.0, 1.0, 1.0]), 0.0)")
    assert failure["message"] == "AssertionError: equal values have no spread"
    code, text = validate(path, capsys, as_json=False)
    assert "FAIL checks-ratio-tests (4 point(s)): line 2: assert close(" in text
    assert "-> AssertionError: equal values have no spread" in text


def test_a_syntax_error_is_named_in_its_own_cell(in_checks_project, checks_release, tmp_path, capsys):
    notebook = solve_checks(fresh(checks_release), "    spread = np.std(values\n    return spread")
    path = write_submission(tmp_path, "me", notebook, NAME)
    code, report = validate(path, capsys)
    assert code == 1
    [broken] = report["broken_cells"]
    index = notebook.cells.index(cell_of(notebook, "checks-ratio")) + 1
    assert (broken["grade_id"], broken["cell"]) == ("checks-ratio", index) and broken["message"].startswith("SyntaxError")
    code, text = validate(path, capsys, as_json=False)
    assert f"ERROR in your cell checks-ratio (cell {index}" in text and "SyntaxError" in text
    assert "the tests after it fail because of it" in text


def test_a_notebook_of_another_module_is_an_error(project, released, tmp_path, capsys):
    path = write_submission(tmp_path, "me", solve(fresh(released["03_layers"]), "03"), "tensor_dev.ipynb")
    assert main(["validate", str(path)]) == 1
    message = capsys.readouterr().err
    assert "is not a notebook of module 01_tensor" in message and "pass" not in message.split("error")[0]


def test_a_notebook_without_graded_cells_is_an_error(project, released, tmp_path, capsys):
    notebook = fresh(released["01_tensor"])
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    path = write_submission(tmp_path, "me", notebook, "tensor_dev.ipynb")
    assert main(["validate", str(path)]) == 1
    assert "has no graded test cells" in capsys.readouterr().err
