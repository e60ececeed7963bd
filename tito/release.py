"""`tito release N`: the student course of a module, its notebook made by nbgrader's generate_assignment.

The module source becomes a notebook (deterministic cell ids), goes into `source/<module_key>/` of a
scratch nbgrader course, and nbgrader writes `release/<module_key>/` with every solution region replaced
by the course stub and hidden tests removed. Only the released notebook leaves the scratch folder,
inside the student course (`tito.student_course`): the notebook plus a `tinytorch` package in which
this module and the later ones are release stubs.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from .course import (CODE_STUB, CourseSettings, assignment_id, ensure_gradebook, grading_environment,
                     nbgrader_api, notebook_name)
from .fileio import write_text_atomic
from .pipeline import lint_or_raise, notebook_text, read_module_notebook
from .project import Module, TitoError


def generate_assignment(module: Module, course_root: Path, settings: CourseSettings) -> Path:
    """Put the module's notebook into `course_root/source/` and generate its release; return its path.

    Must run inside `grading_environment` (nbgrader needs `alembic` on PATH for the gradebook).
    """
    lint_or_raise(module)
    aid = assignment_id(module)
    source = Path(course_root) / "source" / aid / notebook_name(module)
    write_text_atomic(source, notebook_text(read_module_notebook(module.source)))
    ensure_gradebook(course_root)
    result = nbgrader_api(course_root, settings).generate_assignment(aid, force=True)
    released = Path(course_root) / "release" / aid / notebook_name(module)
    if not result.get("success") or not released.is_file():
        raise TitoError(release_failure_message(module, result), 1)
    return released


_EXCEPTION = re.compile(r"^\s*((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception)\b(?::.*)?)$")
_WRAPPERS = ("NbGraderException", "There was an error processing", "Please see the", "Traceback (most recent")


def nbgrader_cause(result: dict) -> tuple[str, list[str]]:
    """nbgrader's real reason for a failed run, from its log: (the exception, nbgrader's own words).

    nbgrader's `error` is only its wrapper ("NbGraderException: Please see the above traceback"); the
    exception that stopped it and nbgrader's description of the problem are in the log.
    """
    text = "\n".join(filter(None, [result.get("log"), result.get("error")]))
    exceptions, in_traceback = [], False
    for line in text.splitlines():  # the line that ends each traceback (cell dumps in the log are not)
        if "Traceback (most recent call last)" in line:
            in_traceback = True
        elif in_traceback and (match := _EXCEPTION.match(line)):
            in_traceback = False
            if not any(wrapper in line for wrapper in _WRAPPERS):
                exceptions.append(match.group(1).strip())
    said = []
    for line in text.splitlines():
        if line.startswith("[ERROR]") and not any(w in line for w in _WRAPPERS):
            said.append(line.removeprefix("[ERROR]").strip().split(" Cell contents are:")[0])
    return (exceptions[0] if exceptions else "no exception in nbgrader's log"), said


def release_failure_message(module: Module, result: dict) -> str:
    cause, said = nbgrader_cause(result)
    lines = [f"{module.key}: nbgrader could not generate the student release: {cause}"]
    lines += [f"  nbgrader: {text}" for text in dict.fromkeys(said)]
    lines.append(f"fix: correct modules/{module.key}/{module.source.name} where nbgrader says; the lint "
                 f"(`tito module lint {module.number}`) passed, so it does not know this mistake yet: "
                 "please report it with this message")
    return "\n".join(lines)


def describe_release(notebook) -> dict:
    """What a student gets: the exercises (solution cells), the graded tests and their points."""
    exercises, tests = [], []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            exercises.append({"grade_id": meta.get("grade_id"), "cell_type": cell.get("cell_type"),
                              "stubbed": CODE_STUB.splitlines()[-1] in cell.get("source", "")
                              or cell.get("cell_type") == "markdown"})
        if meta.get("grade"):
            tests.append({"grade_id": meta.get("grade_id"), "points": meta.get("points", 0)})
    return {"exercises": exercises, "graded_cells": tests,
            "max_score": sum(float(test["points"]) for test in tests)}


def check_output_folder(out_dir: Path, option: str = "--out") -> Path:
    """`out_dir` if it is a folder that can be written, or can be created as one; else a TitoError naming
    it and the fix. Nothing is created (a refused release must leave no folder behind)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TitoError(f"{option} {out_dir} is a file, not a folder; name a folder (it is created if missing)", 2)
    existing = next(folder for folder in (out_dir, *out_dir.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise TitoError(f"{option} {out_dir} is inside the file {existing}; name a folder", 2)
    try:
        with tempfile.TemporaryDirectory(dir=existing, prefix=".tito-write-check-"):
            pass
    except OSError as error:
        raise TitoError(f"{option} {out_dir} cannot be written ({error.strerror or error} in {existing}); name a "
                        "folder you can write", 2) from error
    return out_dir


def release_module(module: Module, out_dir: Path, settings: CourseSettings | None = None,
                   student_course: bool = True) -> dict:
    """Write the student course `out_dir/<module_key>/` (see `tito.student_course`), or with
    `student_course=False` only its notebook `out_dir/<module_key>/<name>_dev.ipynb`; return what it holds."""
    import nbformat

    from .student_course import write_student_course

    settings = settings or CourseSettings()
    folder = check_output_folder(out_dir) / module.key
    with tempfile.TemporaryDirectory(prefix="tito-release-") as course, \
            grading_environment(module.root, settings):
        released = generate_assignment(module, Path(course), settings)
        text = released.read_text(encoding="utf-8")
    report = {"module": module.key, "notebook": str(folder / notebook_name(module))}
    if student_course:
        report.update(write_student_course(module, text, folder))
    else:
        write_text_atomic(folder / notebook_name(module), text)
    return {**report, **describe_release(nbformat.reads(text, as_version=4))}
