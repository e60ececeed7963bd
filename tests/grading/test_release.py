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

from .conftest import REPO, STUB_BODY, TEST_SETTINGS, cell_of, fresh, replace_in


def test_release_writes_the_student_course(project, tmp_path, capsys):
    out = tmp_path / "release"
    assert main(["release", "01", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    course = out / "01_tensor"
    assert {"tensor_dev.ipynb", "Makefile", "pyproject.toml", "README.md", "settings.ini",
            "modules/01_tensor/tensor_dev.py", "tinytorch/core/tensor.py", "tinytorch/core/layers.py",
            "tests/01_tensor/test_tensor.py", "tito/main.py"} <= set(report["files"])
    assert report["stubbed_modules"] == ["01_tensor", "03_layers"]  # this module and the later one
    assert "np.matmul(self.data" not in (course / "tinytorch/core/tensor.py").read_text()
    assert "NotImplementedError" in (course / "tinytorch/core/tensor.py").read_text()
    assert report["max_score"] == 5 and [e["grade_id"] for e in report["exercises"]] == ["tensor-class"]
    assert not (project / "gradebook.db").exists() and not list(project.rglob("release"))


def test_a_student_completes_module_01_in_the_course_with_their_own_code(project, released, tmp_path,
                                                                            monkeypatch, capsys):
    from .conftest import solve

    assert main(["release", "01", "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    course = tmp_path / "01_tensor"
    notebook = solve(fresh(released["01_tensor"]))
    cell = cell_of(notebook, "tensor-class")
    cell.source = cell.source.replace("        return Tensor(np.matmul(self.data, other))",
                                      "        # mine\n        return Tensor(np.matmul(self.data, other))")
    nbformat.write(notebook, course / "tensor_dev.ipynb")
    monkeypatch.setenv("TITO_ROOT", str(course))
    assert main(["module", "complete", "01", "--notebook", str(course / "tensor_dev.ipynb")]) == 0
    assert "# mine" in (course / "tinytorch/core/tensor.py").read_text()
    assert "# mine" not in (project / "tinytorch/core/tensor.py").read_text()


@pytest.mark.parametrize("make_out, message", [
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file", "is a file, not a folder"),
    (lambda tmp: Path("/proc/tito-cannot-write-here"), "cannot be written"),
])
def test_release_and_grade_refuse_an_output_folder_they_cannot_use(project, tmp_path, capsys, make_out, message):
    out = make_out(tmp_path)
    assert main(["release", "01", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    assert main(["grade", "01", str(tmp_path / "subs"), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err


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
    report = release_module(resolve_module(project, "01"), tmp_path, TEST_SETTINGS, student_course=False)
    text = cell_of(nbformat.read(report["notebook"], as_version=4), "tensor-class-tests").source
    assert "hidden-marker" not in text and "test_unit_tensor_matmul()" in text


EXERCISE_MODULES = [m.key for m in discover_modules(REPO) if "BEGIN SOLUTION" in m.source.read_text()]


@pytest.mark.slow
@pytest.mark.parametrize("key", EXERCISE_MODULES)
def test_the_release_runs_up_to_the_first_exercise_and_the_stub_fails_only_when_called(key, tmp_path):
    """Every module with exercises: the release imports and defines everything; the first graded test
    after the first exercise is the first cell to fail, with the stub's NotImplementedError."""
    module = resolve_module(REPO, key)
    report = release_module(module, tmp_path, TEST_SETTINGS, student_course=False)
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
