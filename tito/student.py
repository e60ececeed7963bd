"""A student's own notebook: run it top to bottom, then export *its* code into `tinytorch/`.

Used by `tito module complete N --notebook PATH`. The notebook runs in the grading kernel with the
grader's executor (memory cap, per-cell timeout, tests run as written) in its own folder, on a copy
in memory: the file on disk is not modified.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .course import CourseSettings
from .project import Module, TitoError
from .validation import read_notebook_or_raise, run_with_grader

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TEST_FRAME = re.compile(r"\bin (test\w*)")
_DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)", re.MULTILINE)


@dataclass
class NotebookRun:
    passed: bool
    seconds: float
    cell: int | None = None  # 1-based index of the failing cell, counting every cell
    grade_id: str | None = None
    failing_test: str | None = None
    error: str | None = None

    def summary(self) -> str:
        if self.passed:
            return f"notebook ran top to bottom ({self.seconds:.1f} s)"
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else "")
        test = f", test {self.failing_test}" if self.failing_test else ""
        return f"notebook failed in {where}{test}: {self.error}"


def default_exp_of(cells) -> str | None:
    for cell in cells:
        if cell.get("cell_type") == "code":
            match = _DEFAULT_EXP.search(cell.get("source", ""))
            if match:
                return match.group(1)
    return None


def check_notebook_matches(module: Module, notebook) -> None:
    """Refuse a notebook of another module before it can overwrite that module's package file."""
    import jupytext

    expected = default_exp_of(jupytext.read(module.source, fmt="py:percent").cells)
    found = default_exp_of(notebook.cells)
    if found != expected:
        raise TitoError(f"the notebook exports `{found}` but module {module.key} exports `{expected}`; "
                        f"pass the notebook of module {module.key} (its first code cell has "
                        f"`#| default_exp {expected}`)", 1)


def _first_error(notebook) -> tuple[int, dict] | None:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output
    return None


def run_notebook(path: Path, project_root: Path, settings: CourseSettings | None = None) -> NotebookRun:
    """Execute the notebook in its folder as the grader does, stopping at the first failing cell."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    settings = settings or CourseSettings(sandbox=False)
    path = Path(path).resolve()
    notebook = read_notebook_or_raise(path)
    start = time.perf_counter()
    crash = None
    try:
        run_with_grader(notebook, path.parent, project_root, settings, allow_errors=False)
    except CellExecutionError:
        pass  # the failing cell holds the error output
    except CellTimeoutError:
        crash = "a cell did not stop when interrupted (an infinite loop that ignores interrupts?)"
    except DeadKernelError:
        crash = "the kernel died (os._exit, a crash, or the memory limit)"
    seconds = time.perf_counter() - start
    failure = _first_error(notebook)
    if failure is None and crash is None:
        return NotebookRun(True, seconds)
    if failure is None:
        return NotebookRun(False, seconds, error=crash)
    index, output = failure
    trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    tests = _TEST_FRAME.findall(trace)
    meta = notebook.cells[index].get("metadata", {}).get("nbgrader", {})
    return NotebookRun(False, seconds, index + 1, meta.get("grade_id"), tests[-1] if tests else None,
                       f"{output.get('ename')}: {output.get('evalue', '')}".strip())
