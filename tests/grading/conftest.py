"""Fixtures for the release/grading pipeline: a throwaway project copy and a library of submissions.

Submissions are built from the real release of module 01 (Tensor), edited the way students do.
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
# Small limits so the infinite loop and the memory bomb cost seconds, not minutes.
TEST_SETTINGS = CourseSettings(cell_timeout=4, memory_limit_bytes=1024**3)
STUB_BODY = "        # YOUR CODE HERE\n        raise NotImplementedError()"


def copy_project(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO / "settings.ini", root / "settings.ini")
    for rel in ("modules/01_tensor", "modules/03_layers", "tests/01_tensor", "tests/03_layers", "tinytorch"):
        shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
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
        report = release_module(module, out, TEST_SETTINGS)
        notebooks[module.key] = nbformat.read(report["notebook"], as_version=4)
    return notebooks


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
