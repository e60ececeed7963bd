"""Finding and checking submissions before any of them is graded.

`SUBMISSIONS/<student>/<name>_dev.ipynb`: one folder per student. Every folder ends up either as a
submission to grade or as a skip with a reason that names the fix; nothing here raises for one bad
student, so the others are always graded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .course import STUDENT_ID
from .project import TitoError


@dataclass
class Submission:
    student: str
    folder: Path
    notebook: Path | None = None
    skip_reason: str | None = None
    flags: list[str] = field(default_factory=list)  # integrity findings, e.g. an edited test cell

    def staged_notebook(self, released):
        """The notebook as nbgrader should see it: nbgrader metadata kept only on the release's cells.

        Cells the release does not have (an added "graded" cell) and second copies of a cell (Jupyter's
        copy and paste keeps the metadata, so the grade_id repeats) make nbgrader 0.9.6 fail the whole
        notebook; as plain cells they still run, and earn nothing.
        """
        import nbformat

        notebook = nbformat.read(self.notebook, as_version=4)
        known, seen = set(_cells_by_id(released)), set()
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if not isinstance(meta, dict):
                continue
            grade_id = meta.get("grade_id")
            if grade_id not in known or grade_id in seen:
                del cell["metadata"]["nbgrader"]
            seen.add(grade_id)
        return notebook

    @property
    def gradable(self) -> bool:
        return self.skip_reason is None


def _cells_by_id(notebook) -> dict[str, dict]:
    """grade_id -> the first cell carrying it."""
    cells = {}
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            cells.setdefault(meta["grade_id"], cell)
    return cells


def _duplicated_ids(notebook) -> list[str]:
    seen, repeated = set(), []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            if meta["grade_id"] in seen:
                repeated.append(meta["grade_id"])
            seen.add(meta["grade_id"])
    return repeated


def integrity_flags(submitted, released) -> list[str]:
    """Locked cells whose content changed, and graded or locked cells that are gone.

    nbgrader restores both before grading (so neither can raise a score); an instructor still wants
    to know who tried.
    """
    from nbgrader.utils import compute_checksum

    mine, theirs = _cells_by_id(submitted), _cells_by_id(released)
    flags = []
    for grade_id, original in theirs.items():
        meta = original["metadata"]["nbgrader"]
        if not (meta.get("locked") or meta.get("grade")):
            continue
        if grade_id not in mine:
            flags.append(f"deleted cell {grade_id}")
        elif meta.get("locked") and compute_checksum(mine[grade_id]) != compute_checksum(original):
            flags.append(f"edited locked cell {grade_id}")
    for grade_id, cell in mine.items():
        if grade_id not in theirs and cell["metadata"]["nbgrader"].get("grade"):
            flags.append(f"added graded cell {grade_id} (not in the release: it earns nothing)")
    flags += [f"second copy of cell {grade_id} (graded as a plain cell)" for grade_id in _duplicated_ids(submitted)]
    return flags


def _read_notebook(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4), None
    except (ValueError, OSError, UnicodeDecodeError, KeyError, TypeError) as error:  # NotJSONError is a ValueError
        return None, f"{path.name} is not a readable notebook ({type(error).__name__}: {str(error)[:200]})"


def check_submission(student_dir: Path, notebook_name: str, module_key: str, released) -> Submission:
    """One student's folder as a `Submission`, gradable or skipped with the reason."""
    submission = Submission(student_dir.name, student_dir)
    if not STUDENT_ID.match(student_dir.name):
        submission.skip_reason = (f"student folder name {student_dir.name!r} is not a valid student id: use "
                                  "letters, digits, '.', '_' or '-' (no spaces), at most 64 characters; "
                                  "rename the folder")
        return submission
    path = student_dir / notebook_name
    if not path.is_file():
        others = sorted(p.name for p in student_dir.glob("*.ipynb"))
        found = f"found {', '.join(others)}" if others else "the folder holds no notebook"
        submission.skip_reason = f"no {notebook_name} ({found}); the submission must be named {notebook_name}"
        return submission
    notebook, problem = _read_notebook(path)
    if problem:
        submission.skip_reason = problem
        return submission
    expected = set(_cells_by_id(released))
    present = set(_cells_by_id(notebook))
    if expected and not expected & present:
        submission.skip_reason = (f"{notebook_name} is not a notebook of module {module_key}: none of its "
                                  f"cells ({', '.join(sorted(expected)[:4])}, ...) are in it")
        return submission
    from .scan import scan_notebook

    submission.notebook = path
    submission.flags = integrity_flags(notebook, released) + scan_notebook(notebook, released)
    return submission


def student_folders(submissions_dir: Path, notebook_name: str) -> list[Path]:
    """The student folders; raises if the folder is missing or holds none (checked before grading)."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise TitoError(f"submissions folder {submissions_dir} does not exist; pass the folder that holds "
                        f"<student>/{notebook_name}", 2)
    folders = sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise TitoError(f"no student folders in {submissions_dir}: expected "
                        f"{submissions_dir}/<student>/{notebook_name}", 1)
    return folders


def collect_submissions(submissions_dir: Path, notebook_name: str, module_key: str, released) -> list[Submission]:
    """Every student folder under `submissions_dir`, checked; raises only if there is nothing at all."""
    return [check_submission(folder, notebook_name, module_key, released)
            for folder in student_folders(submissions_dir, notebook_name)]
