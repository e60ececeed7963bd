"""The Module 19 source as an assignment: exercises with graded tests, and the hand-graded questions."""
from pathlib import Path

import jupytext
import pytest

SOURCE = Path(__file__).resolve().parents[2] / "modules/19_benchmarking/benchmarking_dev.py"


@pytest.fixture(scope="module")
def cells():
    return jupytext.read(SOURCE).cells


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_at_least_eight_exercises_each_followed_by_a_locked_graded_test(cells):
    exercises = [i for i, c in enumerate(cells) if c.cell_type == "code" and _meta(c).get("solution")]
    assert len(exercises) >= 8
    for index in exercises:
        assert "### BEGIN SOLUTION" in cells[index].source and "# Task 19." in cells[index].source
        graded = next(c for c in cells[index + 1:] if _meta(c).get("grade") or _meta(c).get("solution"))
        meta = _meta(graded)
        assert graded.cell_type == "code" and meta.get("grade") and meta.get("locked"), _meta(cells[index])
        assert meta.get("points", 0) > 0


def test_five_hand_graded_questions_each_below_its_locked_question(cells):
    answers = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and _meta(c).get("solution")]
    assert len(answers) == 5
    for number, index in enumerate(answers, start=1):
        answer, question = _meta(cells[index]), _meta(cells[index - 1])
        assert answer["grade"] is True and answer["points"] == 2 and answer["schema_version"] == 3
        assert answer["grade_id"].startswith(f"benchmarking-q{number}-")
        assert cells[index].source.strip() == "YOUR ANSWER HERE"
        assert question["locked"] is True and question["grade"] is False and question["solution"] is False
        assert cells[index - 1].source.startswith(f"**Q{number}.")


def test_the_arc_has_its_sections_in_order(cells):
    headings = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    wanted = ["Statistics", "Timing", "The `Benchmark`", "Energy", "Pareto", "suite", "Comparing optimizations",
              "Ablations", "Olympics", "MLPerf", "Systems-thinking questions", "Summary"]
    positions = [next(i for i, h in enumerate(headings) if word in h) for word in wanted]
    assert positions == sorted(positions), headings
