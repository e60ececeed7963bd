"""Module 19 as an assignment, through the lint: clean as shipped, and each issue-17 mistake made in it is caught.

The structure rules live in `tito.lint` (each exercise followed by its locked, graded test cell, task
numbers, pytest markers, written answers below locked questions); their unit tests are in
tests/tito/test_lint.py. Here the real module is fed to them, intact and with one mistake at a time.
What only Module 19 promises (at least eight exercises, five written answers, the arc of its
sections) is asserted on the lint's model of the module, not on a second parse of the notebook.
"""
import re
import shutil
from pathlib import Path

import pytest

from tito.lint import lint, lint_source, read_module_source
from tito.lint.renumber import renumber
from tito.lint.source import solution_regions
from tito.lint.tasks import task_rows

REPO = Path(__file__).resolve().parents[2]
KEY = "19_benchmarking"
SOURCE = REPO / "modules" / KEY / "benchmarking_dev.py"


@pytest.fixture(scope="module")
def src():
    return read_module_source(SOURCE, REPO / "tests" / KEY)


@pytest.fixture
def copy(tmp_path) -> Path:
    """The module source and its test files (not the golden data) in a throwaway project layout."""
    target = tmp_path / "modules" / KEY / SOURCE.name
    target.parent.mkdir(parents=True)
    shutil.copy(SOURCE, target)
    shutil.copytree(REPO / "tests" / KEY, tmp_path / "tests" / KEY,
                    ignore=shutil.ignore_patterns("golden", "__pycache__"))
    return target


def rules_of(path: Path) -> dict[str, list]:
    found = {}
    for finding in lint_source(path):
        found.setdefault(finding.rule, []).append(finding)
    return found


def test_the_lint_passes_on_module_19(src):
    assert lint(src) == []


def test_at_least_eight_exercises_each_with_points_and_marked_pytest_tests(src):
    rows = [row for row in task_rows(src) if row["task"].startswith("Task ")]
    assert len(rows) >= 8
    assert [row["task"] for row in rows] == [f"Task 19.{k}" for k in range(1, len(rows) + 1)]
    for row in rows:
        assert row["points"] > 0 and row["tests"], row


def test_five_hand_graded_questions_of_two_points(src):
    assert [(q.number, q.answer.nbgrader["points"]) for q in src.questions] == [(k, 2) for k in range(1, 6)]
    assert all(q.answer.source.strip() == "YOUR ANSWER HERE" for q in src.questions)


def test_the_arc_has_its_sections_in_order(src):
    headings = [line for c in src.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    wanted = ["Statistics", "Timing", "The `Benchmark`", "Energy", "Pareto", "suite", "Comparing optimizations",
              "Ablations", "Olympics", "MLPerf", "Systems-thinking questions", "Summary"]
    positions = [next(i for i, h in enumerate(headings) if word in h) for word in wanted]
    assert positions == sorted(positions), headings


def _edit_lines(path: Path, edit) -> None:
    lines = path.read_text().splitlines(keepends=True)
    edit(lines)
    path.write_text("".join(lines))


def test_begin_solution_above_the_def_of_the_first_exercise(copy):
    first = read_module_source(copy).exercises[0]
    region = solution_regions(first.cell)[0]
    begin = first.cell.line_of(region.begin) - 1  # 0-based file line; the task comment is the line above

    def move_markers_above_the_def(lines):
        marker_indent = len(lines[begin]) - len(lines[begin].lstrip())
        definition = next(i for i in range(begin, 0, -1)
                          if re.match(r"\s*def ", lines[i]) and len(lines[i]) - len(lines[i].lstrip()) < marker_indent)
        indent = lines[definition][:len(lines[definition]) - len(lines[definition].lstrip())]
        moved = [indent + lines[begin - 1].lstrip(), indent + lines[begin].lstrip()]
        del lines[begin - 1:begin + 1]
        lines[definition:definition] = moved

    _edit_lines(copy, move_markers_above_the_def)
    [finding] = rules_of(copy)["region-in-function-body"]
    assert "contains `def " in finding.message and "signature and docstring would vanish" in finding.message
    assert copy.read_text().splitlines()[finding.line - 1].strip() == "### BEGIN SOLUTION"


def test_an_unlocked_graded_test_is_named_by_its_own_cell(copy):
    first = read_module_source(copy).exercises[0]
    header = first.test_cell.header_line - 1
    unlock = lambda lines: lines.__setitem__(header, lines[header].replace('"locked": true', '"locked": false'))
    _edit_lines(copy, unlock)
    [finding] = rules_of(copy)["graded-tests-locked"]
    assert finding.line == header + 1 and f"'{first.grade_id}-tests' is not locked" in finding.message


def test_a_missing_task_comment_and_a_missing_end_solution(copy):
    first = read_module_source(copy).exercises[0]
    region = solution_regions(first.cell)[0]
    comment, end = first.cell.line_of(region.begin) - 2, first.cell.line_of(region.end) - 1
    _edit_lines(copy, lambda lines: lines.__delitem__(comment))
    [finding] = rules_of(copy)["task-comment"]
    assert "no `# Task 19.1: ...` comment" in finding.message
    _edit_lines(copy, lambda lines: lines.__delitem__(end - 1))  # the END marker, one line up now
    assert "has no `### END SOLUTION` below it" in rules_of(copy)["marker-balance"][0].message


def test_an_exercise_inserted_in_the_middle_needs_only_renumber(copy):
    """Issue 17: adding an exercise in the middle meant renumbering everything after it by hand."""
    src = read_module_source(copy)
    second = src.exercises[1]
    cells = src.cells
    first_line = second.brief.header_line - 1
    after_test = cells[second.test_cell.index + 1].header_line - 1
    lines = copy.read_text().splitlines(keepends=True)
    block = "".join(lines[first_line:after_test]).replace(second.grade_id, second.grade_id + "-again")
    copy.write_text("".join(lines[:after_test]) + block + "".join(lines[after_test:]))
    tests = copy.parents[2] / "tests" / KEY / "test_again.py"
    tests.write_text(f'import pytest\n\n\n@pytest.mark.task("{second.grade_id}-again")\n'
                     'def test_again():\n    assert True\n')

    before = rules_of(copy)
    assert {"task-comment", "task-brief"} <= set(before)
    text, changes, _ = renumber(read_module_source(copy))
    copy.write_text(text)
    after = read_module_source(copy)
    assert [e.label for e in after.exercises] == [f"Task 19.{k}" for k in range(1, len(src.exercises) + 2)]
    left = rules_of(copy)
    assert set(left) <= {"task-counts"}, left  # a count typed in the prose ("Nine exercises") is for a person
    assert changes
