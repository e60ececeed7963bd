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

import re
from html import escape
from pathlib import Path

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
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

_IMAGE_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_FOCUSABLE = re.compile(r'(<div class="[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*")')


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept for the life of the process (a grading worker).

    nbgrader builds a new exporter, so a new Jinja environment, for every page, which compiled the
    page's forty templates anew for every student (~0.27 s each). A bucket carries the checksum of its
    template's source, so an edited template is compiled again.
    """

    def __init__(self):
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, made cheaper for a page per student (~0.7 s less CPU a Module 19 page):

    - its last pass, parsing the finished page with BeautifulSoup (Python's html.parser) to give images
      an alt text and make cells focusable (~0.4 s), is two substitutions on the page's own markup
      (tests/tito/test_feedback.py compares the two pages);
    - the templates are compiled once per process, not once per page (`_CompiledTemplates`).
    """

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES  # read when the environment is made
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                       parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html = _IMAGE_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', html)
        return _FOCUSABLE.sub(r'\1 tabindex="0"', html), resources
