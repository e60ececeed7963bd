"""`tito validate NOTEBOOK`: run a student's notebook in the grading kernel, name the failing tests.

nbgrader's `Validator` decides (its command's exit code does not: it is 0 when tests fail). Its
results carry cell sources only; we map them back to grade ids and points.
"""
from __future__ import annotations

import re
from pathlib import Path

from .course import CourseSettings, grading_environment, nbgrader_config
from .project import TitoError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _graded_cells(notebook) -> dict[str, list[dict]]:
    """Graded and locked cells by source, in notebook order. Sources repeat (every unanswered
    question reads "YOUR ANSWER HERE"), so each source keeps the list of its cells."""
    cells: dict[str, list[dict]] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("locked"):
            cells.setdefault(cell.source.strip(), []).append({
                "grade_id": meta.get("grade_id", "?"), "points": float(meta.get("points", 0) or 0),
                "graded": bool(meta.get("grade"))})
    return cells


def _last_error_line(raw: str) -> str:
    lines = [line for line in _ANSI.sub("", raw or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the cell failed without an error message"


def read_notebook_or_raise(path: Path):
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise TitoError(f"no notebook at {path}; pass the path of the .ipynb file", 2)
    try:
        return nbformat.read(path, as_version=4)
    except (ValueError, OSError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise TitoError(f"{path} is not a readable notebook ({type(error).__name__}: {str(error)[:200]}); "
                        "open it in Jupyter and save it again, or restore it from the release", 1) from error


def validate_notebook(path: Path, project_root: Path, settings: CourseSettings | None = None) -> dict:
    """Run `path` top to bottom in the grading kernel; report failing graded cells and edited locked ones."""
    from nbgrader.validator import Validator

    settings = settings or CourseSettings()
    path = Path(path).resolve()
    notebook = read_notebook_or_raise(path)
    cells = _graded_cells(notebook)
    with grading_environment(project_root, settings):
        validator = Validator(config=nbgrader_config(path.parent, settings))
        validator.log.setLevel("ERROR")
        results = validator.validate(str(path))
    if results.get("type_changed"):
        changed_types = ", ".join(f"{c['old_type']} -> {c['new_type']}" for c in results["type_changed"])
        raise TitoError(f"{path}: graded cells changed type ({changed_types}); change them back", 1)

    def claim_in_order(reports: list[dict]) -> list[dict]:
        # The validator reports cells in notebook order: the k-th report of a source is its k-th cell.
        unclaimed = {source: list(infos) for source, infos in cells.items()}
        unknown = {"grade_id": "?", "points": 0.0, "graded": True}
        return [(unclaimed.get(r["source"].strip()) or [unknown]).pop(0) for r in reports]

    failed = [{**info, "error": _last_error_line(report.get("raw_error", ""))}
              for info, report in zip(claim_in_order(results.get("failed", [])), results.get("failed", []))]
    changed = claim_in_order(results.get("changed", []))
    graded = sum(1 for infos in cells.values() for cell in infos if cell["graded"])
    return {"notebook": str(path), "passed": not failed and not changed, "graded_cells": graded,
            "failed": failed, "changed": changed}
