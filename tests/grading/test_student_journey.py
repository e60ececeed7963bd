"""The student journey: release -> solutions filled in -> validate -> module complete --notebook."""
from __future__ import annotations

import json

import pytest

from tito.main import main

from .conftest import cell_of, fresh, solve, with_matmul_body, write_submission

MARK = "# written by the student"


def student_notebook(released, folder, notebook):
    return write_submission(folder, "me", notebook)


@pytest.mark.slow
def test_release_solve_validate_complete(project, released, tmp_path, capsys):
    release_dir = tmp_path / "release"
    assert main(["release", "01", "--out", str(release_dir)]) == 0
    capsys.readouterr()
    notebook = solve(fresh(released["01_tensor"]))
    cell = cell_of(notebook, "tensor-class")
    cell.source = cell.source.replace("        return Tensor(np.matmul(self.data, other))",
                                      f"        {MARK}\n        return Tensor(np.matmul(self.data, other))")
    path = student_notebook(released, tmp_path / "work", notebook)

    assert main(["validate", str(path)]) == 0
    assert "all 1 graded test cell(s) pass" in capsys.readouterr().out

    assert main(["module", "complete", "01", "--notebook", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["step"] for s in report["steps"]] == ["notebook run", "export + import check", "pytest",
                                                     "progress recorded"]
    assert MARK in (project / "tinytorch/core/tensor.py").read_text()  # their code, not the source's
    assert not (project / "nbs").exists()  # nbs/ mirrors the source; a student's notebook stays out
    progress = json.loads((project / ".tito/progress.json").read_text())
    assert progress["modules"]["01_tensor"]["notebook"] == str(path.resolve())
    assert progress["modules"]["01_tensor"]["pytest_passed"] > 0


def test_validate_names_the_failing_graded_test(released, tmp_path, capsys):
    path = student_notebook(released, tmp_path, fresh(released["01_tensor"]))
    assert main(["validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(c["grade_id"], c["points"]) for c in report["failed"]] == [("tensor-class-tests", 5.0)]
    assert report["failed"][0]["message"].startswith("NotImplementedError")


def test_validate_reports_an_edited_locked_cell(released, tmp_path, capsys):
    notebook = solve(fresh(released["01_tensor"]))
    cell_of(notebook, "tensor-class-tests").source += "\n# my edit"
    path = student_notebook(released, tmp_path, notebook)
    assert main(["validate", str(path)]) == 1
    assert "changed locked cell tensor-class-tests" in capsys.readouterr().err


def test_validate_bad_paths(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert main(["validate", str(broken)]) == 1
    assert "is not a readable notebook" in capsys.readouterr().err


def test_complete_with_a_failing_notebook_names_the_cell_and_leaves_the_package_alone(project, released,
                                                                                       tmp_path, capsys):
    before = (project / "tinytorch/core/tensor.py").read_text()
    notebook = with_matmul_body(fresh(released["01_tensor"]),
                                "        return Tensor(np.matmul(self.data, other) + 1)")
    path = student_notebook(released, tmp_path, notebook)
    assert main(["module", "complete", "01", "--notebook", str(path)]) == 1
    captured = capsys.readouterr()
    assert "(tensor-class-tests), test test_unit_tensor_matmul" in captured.out + captured.err
    assert (project / "tinytorch/core/tensor.py").read_text() == before
    assert not (project / ".tito/progress.json").exists()


def test_complete_refuses_a_notebook_of_another_module(project, released, tmp_path, capsys):
    path = student_notebook(released, tmp_path, solve(fresh(released["03_layers"]), "03"))
    assert main(["module", "complete", "01", "--notebook", str(path)]) == 1
    assert "exports `core.layers` but module 01_tensor exports `core.tensor`" in capsys.readouterr().err
