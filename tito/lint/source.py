"""A module source as the lint sees it: its cells with their lines in the file, its exercises and questions.

Task numbers are derived here and nowhere else: the k-th exercise (a code cell with nbgrader
`"solution": true`) of module NN is "Task NN.k"; the k-th written answer (a markdown solution cell) is
question Qk (CONTRIBUTING.md, "Exercises and task numbers").
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jupytext

from .findings import Finding

MODULE_FOLDER = re.compile(r"^(\d{2})_([a-z][a-z0-9_]*)$")
DIRECTIVE = re.compile(r"^#\|\s*(\w+)")
EXPORT_DIRECTIVES = {"export", "exports", "exporti"}
# nbgrader finds its markers anywhere in a line (a substring test), so the lint does too.
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def leading_directives(cell_source: str) -> list[str]:
    """The directives nbdev honours: `#|` lines before the first other line of the cell."""
    names = []
    for line in cell_source.splitlines():
        match = DIRECTIVE.match(line.strip())
        if not match:
            break
        names.append(match.group(1))
    return names


def is_exported(cell_source: str) -> bool:
    return bool(EXPORT_DIRECTIVES & set(leading_directives(cell_source)))


@dataclass(frozen=True)
class Cell:
    index: int  # 0-based; findings print index + 1
    cell_type: str
    source: str
    metadata: dict
    header_line: int | None  # 1-based line of the cell's `# %%` header in the file
    first_line: int | None  # 1-based line in the file of the cell's first source line

    @property
    def nbgrader(self) -> dict:
        meta = self.metadata.get("nbgrader")
        return meta if isinstance(meta, dict) else {}

    @property
    def grade_id(self) -> str | None:
        grade_id = self.nbgrader.get("grade_id")
        return grade_id if isinstance(grade_id, str) else None

    @property
    def lines(self) -> list[str]:
        return self.source.split("\n")  # as nbgrader splits it

    @property
    def is_exercise(self) -> bool:
        return self.cell_type == "code" and bool(self.nbgrader.get("solution"))

    @property
    def is_graded_test(self) -> bool:
        return self.cell_type == "code" and bool(self.nbgrader.get("grade")) and not self.nbgrader.get("solution")

    @property
    def is_answer(self) -> bool:
        return self.cell_type == "markdown" and bool(self.nbgrader.get("solution"))

    def line_of(self, offset: int) -> int | None:
        """The file line of the cell's source line `offset` (0-based)."""
        return None if self.first_line is None else self.first_line + offset

    def describe(self) -> str:
        return f"cell {self.index + 1} ({self.grade_id})" if self.grade_id else f"cell {self.index + 1}"


@dataclass(frozen=True)
class Exercise:
    number: int  # k: the k-th exercise of the module, in file order
    label: str  # "Task 19.3"
    cell: Cell
    brief: Cell | None  # the nearest markdown cell above, after the previous exercise
    test_cell: Cell | None  # the next code cell, which must be the exercise's graded test

    @property
    def grade_id(self) -> str | None:
        return self.cell.grade_id

    @property
    def test_grade_id(self) -> str:
        return f"{self.grade_id}-tests"

    @property
    def points(self) -> float | None:
        if self.test_cell is not None and self.test_cell.is_graded_test:
            points = self.test_cell.nbgrader.get("points")
            return points if isinstance(points, (int, float)) else None
        return None


@dataclass(frozen=True)
class Question:
    number: int  # k of Qk
    answer: Cell
    question: Cell | None  # the cell right above the answer


@dataclass
class ModuleSource:
    path: Path
    text: str
    cells: list[Cell]
    number: str | None  # "19", from the folder name modules/19_benchmarking/
    name: str | None  # "benchmarking"
    tests_dir: Path | None  # tests/19_benchmarking/

    @property
    def file_lines(self) -> list[str]:
        return self.text.splitlines()

    def finding(self, cell: Cell | None, message: str, fix: str, line: int | None = None) -> Finding:
        if line is None and cell is not None:
            line = cell.header_line
        return Finding(path=self.path, cell=None if cell is None else cell.index + 1, line=line,
                       message=message, fix=fix)

    def task_label(self, k: int) -> str:
        return f"Task {self.number}.{k}"

    @cached_property
    def exercises(self) -> list[Exercise]:
        found = []
        previous = -1
        for cell in self.cells:
            if not cell.is_exercise:
                continue
            brief = next((c for c in reversed(self.cells[previous + 1:cell.index]) if c.cell_type == "markdown"),
                         None)
            test = next((c for c in self.cells[cell.index + 1:] if c.cell_type == "code"), None)
            k = len(found) + 1
            found.append(Exercise(k, self.task_label(k), cell, brief, test))
            previous = cell.index
        return found

    @cached_property
    def questions(self) -> list[Question]:
        answers = [c for c in self.cells if c.is_answer]
        return [Question(k, cell, self.cells[cell.index - 1] if cell.index > 0 else None)
                for k, cell in enumerate(answers, start=1)]


def module_folder(path: Path) -> tuple[str | None, str | None]:
    match = MODULE_FOLDER.match(Path(path).parent.name)
    return (match.group(1), match.group(2)) if match else (None, None)


def default_tests_dir(path: Path) -> Path | None:
    """modules/NN_name/name_dev.py -> tests/NN_name/ of the same project."""
    path = Path(path)
    if path.parent.parent.name != "modules":
        return None
    return path.parent.parent.parent / "tests" / path.parent.name


def read_module_source(path: Path, tests_dir: Path | None = None) -> ModuleSource:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    file_lines = text.splitlines()
    headers = [i for i, line in enumerate(file_lines, start=1) if line.startswith("# %%")]
    aligned = len(headers) == len(notebook.cells)
    cells = []
    for index, cell in enumerate(notebook.cells):
        header = headers[index] if aligned else None
        cells.append(Cell(index, cell.cell_type, cell.source, dict(cell.metadata), header,
                          None if header is None else header + 1))
    number, name = module_folder(path)
    return ModuleSource(path, text, cells, number, name,
                        tests_dir if tests_dir is not None else default_tests_dir(path))


@dataclass(frozen=True)
class Region:
    """A marked region of a cell: offsets of its BEGIN and END marker lines (0-based, in the cell)."""

    begin: int
    end: int

    @property
    def body(self) -> range:
        return range(self.begin + 1, self.end)


@dataclass(frozen=True)
class MarkerProblem:
    offset: int
    kind: str  # "nested", "unclosed", "stray-end"


def scan_markers(cell: Cell, begin: str, end: str) -> tuple[list[Region], list[MarkerProblem]]:
    """The regions between `begin` and `end` markers, read the way nbgrader reads them."""
    regions, problems = [], []
    opened = None
    for offset, line in enumerate(cell.lines):
        if begin in line:
            if opened is not None:
                problems.append(MarkerProblem(offset, "nested"))
            opened = offset
        elif end in line:
            if opened is None:
                problems.append(MarkerProblem(offset, "stray-end"))
            else:
                regions.append(Region(opened, offset))
                opened = None
    if opened is not None:
        problems.append(MarkerProblem(opened, "unclosed"))
    return regions, problems


def solution_regions(cell: Cell) -> list[Region]:
    """The well-formed solution regions of a cell (the balance rule reports the others)."""
    regions, problems = scan_markers(cell, BEGIN_SOLUTION, END_SOLUTION)
    return [] if problems else regions


def parse_cell(source: str) -> ast.Module | SyntaxError:
    """The cell as Python; IPython magics (`%...`, `!...`) become blank lines so line numbers hold."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as error:
        return error
