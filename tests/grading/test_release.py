"""`tito release`: the student notebook, its stubs, and how far it runs before the first exercise."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tito.course import TEXT_STUB
from tito.main import main
from tito.project import discover_modules, resolve_module
from tito.release import release_module
from tito.student import run_notebook

from .conftest import REPO, STUB_BODY, TEST_SETTINGS, cell_of, replace_in


def test_release_writes_only_the_student_notebook(project, tmp_path, capsys):
    out = tmp_path / "release"
    assert main(["release", "01", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "01_tensor", "01_tensor/tensor_dev.ipynb"]
    assert report["max_score"] == 5 and [e["grade_id"] for e in report["exercises"]] == ["tensor-class"]
    assert not (project / "gradebook.db").exists() and not list(project.rglob("release"))


def test_solutions_are_replaced_by_the_course_stub_and_signatures_stay(released):
    cell = cell_of(released["01_tensor"], "tensor-class")
    assert STUB_BODY in cell.source
    assert "np.matmul" not in cell.source and "BEGIN SOLUTION" not in cell.source
    assert "def matmul(self, other) -> Tensor:" in cell.source and "Raises:" in cell.source
    assert cell.source.startswith("#| export")  # the student's code can still be exported
    assert TEXT_STUB == "YOUR ANSWER HERE"


def test_hidden_tests_are_removed(project, tmp_path):
    source = project / "modules/01_tensor/tensor_dev.py"
    replace_in(source, "test_unit_tensor_creation()\ntest_unit_tensor_matmul()",
               "test_unit_tensor_creation()\ntest_unit_tensor_matmul()\n### BEGIN HIDDEN TESTS\n"
               "assert Tensor([1.0]).shape == (1,)  # hidden-marker\n### END HIDDEN TESTS")
    report = release_module(resolve_module(project, "01"), tmp_path, TEST_SETTINGS)
    text = cell_of(nbformat.read(report["notebook"], as_version=4), "tensor-class-tests").source
    assert "hidden-marker" not in text and "test_unit_tensor_matmul()" in text


EXERCISE_MODULES = [m.key for m in discover_modules(REPO) if "BEGIN SOLUTION" in m.source.read_text()]


@pytest.mark.slow
@pytest.mark.parametrize("key", EXERCISE_MODULES)
def test_the_release_runs_up_to_the_first_exercise_and_the_stub_fails_only_when_called(key, tmp_path):
    """Every module with exercises: the release imports and defines everything; the first graded test
    after the first exercise is the first cell to fail, with the stub's NotImplementedError."""
    module = resolve_module(REPO, key)
    report = release_module(module, tmp_path, TEST_SETTINGS)
    notebook = nbformat.read(report["notebook"], as_version=4)
    first_exercise = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    first_test = next(c.metadata.nbgrader.grade_id for c in notebook.cells[first_exercise:]
                      if c.metadata.get("nbgrader", {}).get("grade"))
    run = run_notebook(Path(report["notebook"]), REPO, TEST_SETTINGS)
    assert not run.passed
    assert run.grade_id == first_test, run.summary()
    assert run.error.startswith("NotImplementedError"), run.summary()
    assert run.failing_test is not None and run.failing_test.startswith("test_"), run.summary()


def test_exercise_modules_are_found():
    assert {"01_tensor", "03_layers"} <= set(EXERCISE_MODULES)


def test_unknown_module_is_bad_usage(project, tmp_path, capsys):
    assert main(["release", "42", "--out", str(tmp_path)]) == 2
    assert "unknown module '42'" in capsys.readouterr().err
