"""`tito validate NOTEBOOK`: run a student's notebook as the grader does, and say what is wrong.

The notebook runs in the grading kernel with the grader's executor (`tito.executor`: graded tests run
as written, only errors fail them). The report names, for each failing graded test, the line of the
test that failed and the error's message; for each of the student's own cells that did not run (a
syntax error, say), the cell, because the tests after it then fail for that reason; locked cells the
student changed; written answers still empty. A notebook that is not one of this course's modules is
an error, not a pass.
"""
from __future__ import annotations

import re
from pathlib import Path

from .course import KERNEL_NAME, TEXT_STUB, CourseSettings, grading_environment
from .project import Module, TitoError, discover_modules

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r'File "<(?P<label>[^>]+)>", line (?P<line>\d+)')
_LINE = re.compile(r"line (\d+)")


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


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _graded_ids(cells) -> set[str]:
    return {_meta(c)["grade_id"] for c in cells if _meta(c).get("grade") and _meta(c).get("grade_id")}


def module_of_notebook(path: Path, notebook, root: Path) -> Module:
    """The course module `notebook` answers, or a TitoError saying why it is none of them."""
    import jupytext

    from .student import default_exp_of

    modules = discover_modules(root)
    exported = default_exp_of(notebook.cells)
    graded = _graded_ids(notebook.cells)
    if not graded:
        raise TitoError(f"{path} has no graded test cells (no nbgrader metadata with \"grade\": true): validate "
                        "the notebook your instructor released, e.g. benchmarking_dev.ipynb", 1)
    by_name = {f"{m.name}_dev": m for m in modules}
    candidates = [by_name[path.stem]] if path.stem in by_name else modules
    for module in candidates:
        if not module.source.is_file():
            continue
        source_cells = jupytext.read(module.source, fmt="py:percent").cells
        if default_exp_of(source_cells) == exported and graded & _graded_ids(source_cells):
            return module
    named = f"module {by_name[path.stem].key}" if path.stem in by_name else "any module of this course"
    raise TitoError(f"{path} is not a notebook of {named}: it exports `{exported}` and its graded cells "
                    f"({', '.join(sorted(graded)[:3])}, ...) belong to another module; validate the notebook of "
                    "the module you are working on", 1)


def run_with_grader(notebook, folder: Path, project_root: Path, settings: CourseSettings, allow_errors: bool = True):
    """Execute `notebook` in place with the grader's executor, in the grading kernel; return its RunReport."""
    from .executor import GradingExecute

    with grading_environment(project_root, settings):
        executor = GradingExecute(timeout=settings.cell_timeout, kernel_name=KERNEL_NAME, allow_errors=allow_errors,
                                  interrupt_on_timeout=True, notebook_timeout=settings.notebook_timeout,
                                  output_limit=settings.output_limit_bytes,
                                  error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran longer "
                                                    f"than {settings.cell_timeout} s (an infinite loop?)",
                                                    "traceback": ["CellTimeoutError: the cell ran too long"]})
        executor.preprocess(notebook, {"metadata": {"path": str(folder)}})
    return executor.report


def _error_output(cell) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def describe_failure(output: dict, label: str) -> dict:
    """The failing line of a test (its number and source) and the error's message, from its traceback."""
    trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    line, source = None, None
    lines = trace.splitlines()
    for index, text in enumerate(lines):
        match = _FRAME.search(text)
        if match and match["label"] == label:
            line = int(match["line"])
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            source = following if following and not following.startswith("File ") else None
    message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
    if output.get("ename") == "AssertionError" and not output.get("evalue"):
        message = "AssertionError (the assert has no message)"
    return {"line": line, "source": source, "message": message}


def validate_notebook(path: Path, project_root: Path, settings: CourseSettings | None = None) -> dict:
    """Run `path` top to bottom as the grader would; report what fails and why (see the module docstring)."""
    from nbgrader.utils import compute_checksum

    settings = settings or CourseSettings(sandbox=False)
    path = Path(path).resolve()
    notebook = read_notebook_or_raise(path)
    module = module_of_notebook(path, notebook, project_root)
    changed = []
    for cell in notebook.cells:
        meta = _meta(cell)
        if meta.get("locked") and meta.get("checksum") and compute_checksum(cell) != meta["checksum"]:
            changed.append({"grade_id": meta.get("grade_id", "?"), "points": float(meta.get("points", 0) or 0)})
    report = run_with_grader(notebook, path.parent, project_root, settings)
    failed, broken, unanswered, graded = [], [], [], 0
    for index, cell in enumerate(notebook.cells):
        meta = _meta(cell)
        label = meta.get("grade_id") or f"cell {index + 1}"
        if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
            if cell.source.strip() in ("", TEXT_STUB):
                unanswered.append({"grade_id": label, "points": float(meta.get("points", 0) or 0)})
            continue
        error = _error_output(cell)
        if meta.get("grade") and not meta.get("solution"):
            graded += 1
            if error is not None:
                failed.append({"grade_id": label, "cell": index + 1, "points": float(meta.get("points", 0) or 0),
                               **describe_failure(error, label)})
        elif cell.cell_type == "code" and error is not None and (
                meta.get("solution") or error.get("ename") in ("SyntaxError", "IndentationError")):
            where = _LINE.findall(_ANSI.sub("", "\n".join(error.get("traceback", []))))
            broken.append({"grade_id": label, "cell": index + 1,
                           "message": f"{error.get('ename')}: {error.get('evalue', '')}".rstrip(": "),
                           "line": int(where[-1]) if where else None})
    return {"notebook": str(path), "module": module.key, "passed": not failed and not changed, "graded_cells": graded,
            "failed": failed, "changed": changed, "broken_cells": broken, "unanswered": unanswered,
            "flags": report.flags}
