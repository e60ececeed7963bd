"""How feedback HTML shows code: graded and solution cells in colour, the rest as plain text.

nbconvert colours every code cell with pygments, and then re-reads the whole page with BeautifulSoup;
for Module 19 (170,000 characters of code and prose) that is ~3.5 s a student, most of a grading run's
time after the notebook itself. What a student opens feedback for is their own answers and the tests
that scored them: those keep their colours. The instructor's code around them is shown in the same
box and font, uncoloured (~0.6 s in all). Configured through nbconvert's `HTMLExporter.filters`.
"""
from __future__ import annotations

from html import escape

from nbconvert.filters.highlight import Highlight2HTML


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
