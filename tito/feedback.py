"""How feedback HTML shows code: graded and solution cells in colour, the rest as plain text.

nbconvert colours every code cell with pygments, and then re-reads the whole page with BeautifulSoup;
for Module 19 (170,000 characters of code and prose) that is ~3.5 s a student, most of a grading run's
time after the notebook itself. What a student opens feedback for is their own answers and the tests
that scored them: those keep their colours. The instructor's code around them is shown in the same
box and font, uncoloured (~0.6 s in all). Configured through nbconvert's `HTMLExporter.filters`.

Answers graded by hand say "pending manual grading" until they are graded (`MarkPendingGrades` and
the template in `feedback_templates/`), and the page's total says how many points await it.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


def is_graded_or_solution(metadata) -> bool:
    nbgrader = (metadata or {}).get("nbgrader", {})
    return bool(nbgrader.get("solution") or nbgrader.get("grade"))


class GradedCellHighlighter(Highlight2HTML):
    """The `highlight_code` filter of the feedback page (see the module docstring)."""

    def __call__(self, source, language=None, metadata=None):
        if is_graded_or_solution(metadata):
            return super().__call__(source, language, metadata)
        language = language or self.pygments_lexer
        # The markup pygments would wrap the code in, minus the per-token spans.
        return f'<div class=" highlight hl-{escape(language)}"><pre>{escape(source)}</pre></div>\n'


class MarkPendingGrades(Preprocessor):
    """After nbgrader's GetGrades: mark each answer that awaits manual grading, and total them.

    The template (`feedback_templates/feedback/page.html.j2`) then shows "pending manual grading" where
    nbgrader would show a score of 0.
    """

    enabled = Bool(True)  # nbconvert runs a preprocessor only when it is enabled

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        pending_points, pending_cells = 0.0, 0
        with Gradebook(info["db_url"]) as gradebook:
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if not meta.get("grade"):
                    continue
                grade = gradebook.find_grade(meta["grade_id"], info["notebook"], info["assignment"], info["student"])
                if grade.needs_manual_grade:
                    meta["pending"] = True
                    pending_points += float(grade.max_score or 0)
                    pending_cells += 1
        info["pending_points"], info["pending_cells"] = pending_points, pending_cells
        return nb, resources


TEMPLATES = Path(__file__).resolve().parent / "feedback_templates"
