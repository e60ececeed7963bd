"""Rules on exercises as a course sees them: graded tests, task numbers, pytest markers, written answers.

The convention (CONTRIBUTING.md, "Exercises and task numbers"): the k-th exercise of module NN is
"Task NN.k", a number derived from the file order and written in exactly two places, the exercise's
brief and a `# Task NN.k: <what>` comment above `### BEGIN SOLUTION`; `tito module lint NN --renumber`
rewrites both. An exercise's stable id is its grade_id: its graded test cell is `<grade_id>-tests`,
and its pytest tests carry `@pytest.mark.task("<grade_id>")`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .findings import Finding
from .source import BEGIN_SOLUTION, Exercise, ModuleSource, solution_regions

NUMBER = r"(\d{2})\.(\d+)(?!\d)"  # "19.3" -> ("19", "3")
_N = r"\d{2}\.\d+(?!\d)"
# "Task 19.3", "Tasks 19.1 to 19.9", "Tasks 19.2, 19.4 and 19.5": every number in the phrase is a task.
TASK_PHRASE = re.compile(rf"\bTasks?\s+{_N}(?:\s*(?:,|and|or|to|through|-|–)\s*(?:Tasks?\s+)?{_N})*")
TASK_NUMBER = re.compile(NUMBER)
RANGE = re.compile(rf"{NUMBER}\s*(?:to|through|-|–)\s*(?:Tasks?\s+)?{NUMBER}")
TASK_COMMENT = re.compile(r"^\s*#\s*Task\s+(\d+)\.(\d+)(?!\d)\s*(?::\s*(\S.*))?$")
QUESTION_LABEL = re.compile(r"^\W*Q(\d+)\b")
COUNT_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
               "fifteen sixteen seventeen eighteen nineteen twenty").split()
EXERCISE_COUNT = re.compile(rf"\b({'|'.join(COUNT_WORDS)}|\d+)\s+(?:graded\s+|coding\s+)?exercises\b", re.IGNORECASE)


def check_module_folder(src: ModuleSource) -> Iterator[Finding]:
    """Task numbers come from the folder name modules/NN_name/."""
    if src.number is None and src.exercises:
        yield src.finding(None, "the source is not in a modules/NN_name/ folder, so its exercises cannot be numbered",
                          "keep each module source at modules/NN_name/name_dev.py")


def check_test_follows_exercise(src: ModuleSource) -> Iterator[Finding]:
    """The next code cell after an exercise is its graded test cell, `<grade_id>-tests`."""
    for exercise in src.exercises:
        test = exercise.test_cell
        header = _test_header(exercise)
        if test is None:
            yield src.finding(exercise.cell, f"exercise {exercise.grade_id!r} ({exercise.label}) has no code cell "
                                             "after it, so no graded test", f"add its test cell right after it: "
                                             f"{header}", line=exercise.cell.header_line)
        elif not test.is_graded_test:
            yield src.finding(test, f"the code cell after exercise {exercise.grade_id!r} ({exercise.label}) is "
                                    f"{test.describe()}, not its graded test cell",
                              f"put the graded test cell right after the exercise (markdown between is fine) and "
                              f"move other code below it; its header: {header}")
        elif test.grade_id != exercise.test_grade_id:
            yield src.finding(test, f"the graded test cell after exercise {exercise.grade_id!r} is named "
                                    f"{test.grade_id!r}", f'name it "{exercise.test_grade_id}"')


def check_graded_tests_locked(src: ModuleSource) -> Iterator[Finding]:
    """A graded test cell is locked, so a student cannot edit the test that grades them."""
    for cell in src.cells:
        if cell.is_graded_test and cell.nbgrader.get("locked") is not True:
            yield src.finding(cell, f"graded test cell {cell.grade_id!r} is not locked: a student could edit the "
                                    "test that grades them", 'set "locked": true in its header')


def check_graded_tests_follow_exercises(src: ModuleSource) -> Iterator[Finding]:
    """Every graded test cell is the test cell of the exercise right above it."""
    tests = {id(exercise.test_cell) for exercise in src.exercises}
    for cell in src.cells:
        if cell.is_graded_test and id(cell) not in tests:
            yield src.finding(cell, f"graded test cell {cell.grade_id!r} does not come right after an exercise",
                              "move it right below the exercise it grades; a test of code the student does not "
                              'write is a plain cell ("grade": false, no points; "locked": true keeps it read-only)')


def check_task_comment(src: ModuleSource) -> Iterator[Finding]:
    """`# Task NN.k: <what>` on the line just above each `### BEGIN SOLUTION` of exercise k."""
    if src.number is None:
        return
    for exercise in src.exercises:
        cell = exercise.cell
        for region in solution_regions(cell):  # broken markers: the balance rule speaks first
            offset, line = region.begin, cell.lines[region.begin]
            indent = line[:len(line) - len(line.lstrip())]
            wanted = f"{indent}# {exercise.label}: <what the student writes>"
            above = TASK_COMMENT.match(cell.lines[offset - 1]) if offset else None
            where = cell.line_of(offset - 1 if above else offset)
            if above is None:
                yield src.finding(cell, f"no `# {exercise.label}: ...` comment on the line above "
                                        f"`### BEGIN SOLUTION` of exercise {exercise.grade_id!r}",
                                  f"add `{wanted.strip()}` on the line above, at the marker's indentation",
                                  line=where)
            elif f"{above.group(1)}.{above.group(2)}" != f"{src.number}.{exercise.number}":
                yield src.finding(cell, f"the task comment says Task {above.group(1)}.{above.group(2)}, but "
                                        f"{exercise.grade_id!r} is exercise {exercise.number} of module "
                                        f"{src.number}: {exercise.label}", _renumber_fix(src, exercise), line=where)
            elif not above.group(3):
                yield src.finding(cell, f"the `# {exercise.label}` comment does not say what to do",
                                  f"write `# {exercise.label}: <what the student writes>`", line=where)


def check_task_brief(src: ModuleSource) -> Iterator[Finding]:
    """The exercise's brief (the nearest markdown cell above it) names its task: `Task NN.k`."""
    if src.number is None:
        return
    for exercise in src.exercises:
        brief = exercise.brief
        if brief is None:
            yield src.finding(exercise.cell, f"exercise {exercise.grade_id!r} ({exercise.label}) has no brief: no "
                                             "markdown cell between it and the previous exercise",
                              f"add a markdown cell above it: `**Exercise ({exercise.label}):** <what to write>`")
        elif exercise.number not in own_task_numbers(src, brief.source):
            said = sorted({f"Task {n}.{k}" for n, k in TASK_NUMBER.findall(_task_text(brief.source))})
            also = f" (it says {', '.join(said)})" if said else ""
            fix = _renumber_fix(src, exercise) if said else \
                f"name it in the brief, e.g. `**Exercise ({exercise.label}):** <what to write>`"
            yield src.finding(brief, f"the brief of exercise {exercise.grade_id!r} does not name "
                                     f"{exercise.label}{also}", fix)


def check_task_references(src: ModuleSource) -> Iterator[Finding]:
    """Every other "Task NN.k" of the module's prose and tests names an existing exercise."""
    if src.number is None:
        return
    count = len(src.exercises)
    comments = _task_comment_lines(src)
    places = [(cell, offset, line) for cell in src.cells for offset, line in enumerate(cell.lines)
              if (cell.index, offset) not in comments]
    for cell, offset, line in places:
        for k in own_task_numbers(src, line):
            if not 1 <= k <= count:
                yield src.finding(cell, f"`Task {src.number}.{k}` names no exercise: module {src.number} has "
                                        f"{count} ({_span_text(src)})", _reference_fix(src), line=cell.line_of(offset))
    for path, number, text in _test_file_lines(src):
        for k in own_task_numbers(src, text):
            if not 1 <= k <= count:
                yield Finding(path, None, number, f"`Task {src.number}.{k}` names no exercise: module {src.number} "
                                                  f"has {count} ({_span_text(src)})",
                              "mark the test with `@pytest.mark.task(\"<grade_id>\")` instead of naming a number")


def check_task_counts(src: ModuleSource) -> Iterator[Finding]:
    """Counts of exercises and ranges of tasks typed in the prose agree with the module."""
    if src.number is None:
        return
    count = len(src.exercises)
    for cell in src.cells:
        if cell.cell_type != "markdown":
            continue
        for offset, line in enumerate(cell.lines):
            for match in EXERCISE_COUNT.finditer(line):
                word = match.group(1).lower()
                said = int(word) if word.isdigit() else COUNT_WORDS.index(word)
                if said != count:
                    yield src.finding(cell, f"the prose says {match.group(0)!r}, but module {src.number} has {count} "
                                            f"exercise(s)", "drop the count (the task list is derived: `tito module "
                                            f"tasks {src.number}`), or correct it", line=cell.line_of(offset))
            for phrase in TASK_PHRASE.finditer(line):
                for a_module, a, b_module, b in RANGE.findall(phrase.group(0)):
                    if a_module == b_module == src.number and int(a) >= int(b):
                        yield src.finding(cell, f"the range Tasks {a_module}.{a} to {b_module}.{b} is empty or "
                                                "reversed", "name the first task, then the last",
                                          line=cell.line_of(offset))


def check_task_markers(src: ModuleSource) -> Iterator[Finding]:
    """Each exercise has pytest tests marked `@pytest.mark.task("<grade_id>")`; each marker names an exercise."""
    if not src.exercises or src.number is None:
        return  # no exercises to mark, or (module-folder) no tests/NN_name/ to look in
    folder = src.tests_dir
    if folder is None or not folder.is_dir():
        where = folder if folder is not None else "tests/NN_name/"
        yield src.finding(None, f"the module has {len(src.exercises)} exercise(s) but no pytest folder {where}",
                          "create it, with tests marked `@pytest.mark.task(\"<grade_id>\")` for each exercise")
        return
    ids = {exercise.grade_id for exercise in src.exercises}
    marked = marked_tests(folder)
    for test in marked:
        if not isinstance(test.grade_id, str):
            yield Finding(test.path, None, test.line, f"`{test.name}` has a task marker without a grade_id string",
                          'write `@pytest.mark.task("<grade_id>")` with the exercise\'s grade_id')
        elif test.grade_id not in ids:
            yield Finding(test.path, None, test.line, f"`{test.name}` is marked with task {test.grade_id!r}, which "
                                                      f"is no exercise of module {src.number}",
                          f"use one of: {', '.join(sorted(i for i in ids if i))}")
    covered = {test.grade_id for test in marked}
    for exercise in src.exercises:
        if exercise.grade_id not in covered:
            yield src.finding(exercise.cell, f"exercise {exercise.grade_id!r} ({exercise.label}) has no pytest test "
                                             f"in {_shown(src, folder)} marked for it",
                              f"mark the tests that check it with `@pytest.mark.task(\"{exercise.grade_id}\")`")


def check_questions(src: ModuleSource) -> Iterator[Finding]:
    """Each written answer is graded, right below a locked question cell that starts with its number `Qk`."""
    for question in src.questions:
        answer, cell = question.answer, question.question
        if not answer.nbgrader.get("grade"):
            yield src.finding(answer, f"written answer {answer.grade_id!r} is not graded", '"grade": true, "points": N')
        if cell is None or cell.cell_type != "markdown" or cell.nbgrader.get("locked") is not True \
                or cell.nbgrader.get("solution") or cell.nbgrader.get("grade"):
            yield src.finding(answer, f"written answer {answer.grade_id!r} has no locked question cell right above it",
                              'put the question in a markdown cell above it with nbgrader "locked": true, '
                              '"grade": false, "solution": false')
            continue
        label = QUESTION_LABEL.match(cell.source.strip())
        if label is None:
            yield src.finding(cell, f"the question above written answer {answer.grade_id!r} does not start with "
                                    f"its number", f"start it with `**Q{question.number}.`")
        elif int(label.group(1)) != question.number:
            yield src.finding(cell, f"the question says Q{label.group(1)}, but it is written answer "
                                    f"{question.number} of the module",
                              f"call it Q{question.number} (or run `tito module lint {src.number} --renumber`)")


@dataclass(frozen=True)
class MarkedTest:
    path: Path
    line: int
    name: str  # the test function or class, or "pytestmark" for a whole file
    grade_id: object  # the marker's first argument; a str when it is a literal


def marked_tests(folder: Path) -> list[MarkedTest]:
    """`@pytest.mark.task(...)` markers in the test files of a folder, read statically (nothing is imported)."""
    found = []
    for path in sorted(Path(folder).rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue  # pytest reports it with its own message
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                marks = [(d, node.name) for d in node.decorator_list]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
                values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
                marks = [(value, "pytestmark") for value in values]
            else:
                continue
            for mark, name in marks:
                if _is_task_mark(mark):
                    argument = mark.args[0].value if mark.args and isinstance(mark.args[0], ast.Constant) else None
                    found.append(MarkedTest(path, mark.lineno, name, argument))
    return found


def task_rows(src: ModuleSource) -> list[dict]:
    """The derived task list: Task NN.k | grade_id | points | marked pytest tests; then the written answers."""
    tests: dict[str, list[str]] = {}
    if src.tests_dir is not None and src.tests_dir.is_dir():
        for test in marked_tests(src.tests_dir):
            tests.setdefault(test.grade_id, []).append(f"{_relative(src, test.path)}::{test.name}")
    rows = [{"task": exercise.label, "grade_id": exercise.grade_id, "points": exercise.points,
             "line": exercise.cell.header_line, "tests": tests.get(exercise.grade_id, [])}
            for exercise in src.exercises]
    rows += [{"task": f"Q{q.number}", "grade_id": q.answer.grade_id, "points": q.answer.nbgrader.get("points"),
              "line": q.answer.header_line, "tests": ["graded by hand"]} for q in src.questions]
    return rows


def _is_task_mark(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute) or node.func.attr != "task":
        return False
    owner = node.func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") \
        or (isinstance(owner, ast.Name) and owner.id == "mark")


def _task_text(text: str) -> str:
    return " ".join(phrase.group(0) for phrase in TASK_PHRASE.finditer(text))


def own_task_numbers(src: ModuleSource, text: str) -> list[int]:
    """The k of every "Task NN.k" of this module in the text (ranges give both ends)."""
    return [int(k) for module, k in TASK_NUMBER.findall(_task_text(text)) if module == src.number]


def _task_comment_lines(src: ModuleSource) -> set[tuple[int, int]]:
    """(cell, offset) of the task comments above BEGIN markers: the task-comment rule checks those."""
    lines = set()
    for exercise in src.exercises:
        for offset, line in enumerate(exercise.cell.lines):
            if BEGIN_SOLUTION in line and offset and TASK_COMMENT.match(exercise.cell.lines[offset - 1]):
                lines.add((exercise.cell.index, offset - 1))
    return lines


def _test_file_lines(src: ModuleSource) -> Iterator[tuple[Path, int, str]]:
    if src.tests_dir is None or not src.tests_dir.is_dir():
        return
    for path in sorted(src.tests_dir.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "Task" in line:
                yield path, number, line


def _span_text(src: ModuleSource) -> str:
    count = len(src.exercises)
    return "no tasks" if not count else f"Task {src.number}.1" if count == 1 else \
        f"Task {src.number}.1 to {src.number}.{count}"


def _renumber_fix(src: ModuleSource, exercise: Exercise) -> str:
    return f"run `tito module lint {src.number} --renumber`, or write {exercise.label} there"


def _reference_fix(src: ModuleSource) -> str:
    return (f"correct the number (`tito module tasks {src.number}` lists them), and name the exercise by its concept "
            "too so the reference survives renumbering")


def _test_header(exercise: Exercise) -> str:
    return (f'`# %% nbgrader={{"grade": true, "grade_id": "{exercise.test_grade_id}", "locked": true, '
            '"points": N, "schema_version": 3, "solution": false}`')


def _relative(src: ModuleSource, path: Path) -> str:
    """A path as seen from the project root (modules/NN_name/x.py -> ../..), else as given."""
    try:
        return Path(path).resolve().relative_to(src.path.resolve().parents[2]).as_posix()
    except (ValueError, IndexError):
        return str(path)


def _shown(src: ModuleSource, folder: Path) -> str:
    return _relative(src, folder) + "/"
