"""Feedback pages colour graded and solution cells and print the rest plainly (tito.feedback)."""
from tito.course import CourseSettings, nbgrader_config
from tito.feedback import GradedCellHighlighter

SOURCE = "def area(w, h):\n    return w * h  # <b>not markup</b>\n"


def test_graded_and_solution_cells_are_coloured():
    highlight = GradedCellHighlighter()
    for flags in ({"solution": True}, {"grade": True}, {"grade": True, "solution": True}):
        html = highlight(SOURCE, metadata={"nbgrader": flags})
        assert '<span class="k">def</span>' in html, flags


def test_other_cells_are_plain_escaped_text_in_the_same_box():
    highlight = GradedCellHighlighter()
    for metadata in (None, {}, {"nbgrader": {"grade": False, "solution": False, "locked": True}}):
        html = highlight(SOURCE, metadata=metadata)
        assert "<span" not in html
        assert html.startswith('<div class=" highlight hl-ipython3"><pre>')
        assert "&lt;b&gt;not markup&lt;/b&gt;" in html and "<b>" not in html


def test_the_course_config_installs_the_highlighter():
    config = nbgrader_config("/tmp/course", CourseSettings())
    assert config.HTMLExporter.filters == {"highlight_code": "tito.feedback.GradedCellHighlighter"}
