"""Fixtures for the release/grading pipeline: a throwaway project copy and a library of submissions.

Submissions are built from the real release of module 01 (Tensor), edited the way students do, or
from the release of `fixtures/02_checks` (a small module whose graded test uses every kind of
assertion helper, warns on stderr when the answer is right, and has a written answer), which
`fixture_project` adds to a copy of the project as module 02.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat
import pytest

from tito.course import CourseSettings
from tito.pipeline import read_module_notebook
from tito.project import resolve_module
from tito.release import release_module

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Small limits so the infinite loop and the memory bomb cost seconds, not minutes. The memory cap
# leaves room above the warm process's own size on any machine (`tito.course.KERNEL_START_BYTES`).
TEST_SETTINGS = CourseSettings(cell_timeout=4, memory_limit_bytes=1536 * 2**20)
STUB_BODY = "        # YOUR CODE HERE\n        raise NotImplementedError()"


def copy_project(root: Path, with_checks: bool = False) -> Path:
    """Modules 01 and 03 with their tests and the package; with `with_checks`, the fixture module 02."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "settings.ini", root / "settings.ini")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for rel in ("modules/01_tensor", "modules/03_layers", "tests/01_tensor", "tests/03_layers", "tinytorch"):
        shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
    if with_checks:
        (root / "modules/02_checks").mkdir()
        shutil.copy(FIXTURES / "02_checks/checks_dev.py", root / "modules/02_checks/checks_dev.py")
        (root / "tests/02_checks").mkdir()
        shutil.copy(FIXTURES / "02_checks/pytest_checks.py", root / "tests/02_checks/test_checks.py")
        from tito.workflow import export_module

        export_module(resolve_module(root, "02"))  # the instructor's package holds the reference, as in a course
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project")
    monkeypatch.setenv("TITO_ROOT", str(root))
    monkeypatch.delenv("IN_TEST", raising=False)
    return root


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """The student releases of modules 01 and 03, made once: {module key: notebook}."""
    out = tmp_path_factory.mktemp("release")
    notebooks = {}
    for spec in ("01", "03"):
        module = resolve_module(REPO, spec)
        report = release_module(module, out, TEST_SETTINGS, student_course=False)
        notebooks[module.key] = nbformat.read(report["notebook"], as_version=4)
    return notebooks


@pytest.fixture(scope="session")
def checks_project(tmp_path_factory):
    """A project copy with the fixture module 02 (exported), shared by the tests that only read it."""
    return copy_project(tmp_path_factory.mktemp("checks") / "project", with_checks=True)


@pytest.fixture(scope="session")
def checks_release(checks_project, tmp_path_factory):
    """The release notebook of the fixture module 02."""
    report = release_module(resolve_module(checks_project, "02"), tmp_path_factory.mktemp("checks-release"),
                            TEST_SETTINGS, student_course=False)
    return nbformat.read(report["notebook"], as_version=4)


def solve_checks(notebook, body: str | None = None):
    """The fixture module's exercise answered with the source's solution, or with `body`."""
    cell = cell_of(notebook, "checks-ratio")
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert stub in cell.source, "the fixture release no longer has the expected stub"
    solution = ("    spread = np.std(values)\n    mean = np.mean(values)\n    ratio = spread / mean\n"
                "    result = float(ratio)\n    return result")
    cell.source = cell.source.replace(stub, body if body is not None else solution)
    return notebook


def cell_of(notebook, grade_id: str):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def solve(notebook, module_spec: str = "01"):
    """Fill every solution cell with the source's solution, as a diligent student would."""
    source = read_module_notebook(resolve_module(REPO, module_spec).source)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = cell_of(source, meta["grade_id"]).source
    return notebook


def with_matmul_body(notebook, body: str):
    """Module 01's one exercise (Tensor.matmul) answered with `body` in place of the stub."""
    cell = cell_of(notebook, "tensor-class")
    assert STUB_BODY in cell.source, "the release no longer has the expected stub"
    cell.source = cell.source.replace(STUB_BODY, body)
    return notebook


def insert_after(notebook, grade_id: str, source: str):
    index = notebook.cells.index(cell_of(notebook, grade_id))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


def write_submission(folder: Path, student: str, notebook, name: str = "tensor_dev.ipynb") -> Path:
    path = folder / student / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def fresh(notebook):
    return copy.deepcopy(notebook)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1))
