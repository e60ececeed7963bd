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


def test_the_feedback_page_without_its_soup_pass_has_the_same_content_and_accessibility():
    """FeedbackHTMLExporter skips nbconvert's BeautifulSoup pass (~0.4 s a Module 19 page) and makes its
    two edits itself: images get an alt text, input and output areas become focusable."""
    import base64

    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from tito.feedback import FeedbackHTMLExporter

    png = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                         "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"))
    plot = nbformat.v4.new_output("display_data", data={"image/png": png.decode(), "text/plain": "<Figure>"})
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("A picture: <img src='x.png'> and one <img alt='described' src='y.png'>"),
        nbformat.v4.new_code_cell(SOURCE, metadata={"nbgrader": {"solution": True, "grade_id": "a"}},
                                  outputs=[nbformat.v4.new_output("stream", text="12\n"), plot]),
        nbformat.v4.new_code_cell("print('plain')", outputs=[nbformat.v4.new_output("stream", text="plain\n")])])

    def page(exporter_class):
        html, _ = exporter_class(template_name="lab").from_notebook_node(notebook)
        return BeautifulSoup(html, features="html.parser")

    ours, theirs = page(FeedbackHTMLExporter), page(HTMLExporter)
    assert ours.get_text() == theirs.get_text()
    alts = lambda soup: [img.get("alt") for img in soup.find_all("img")]
    assert alts(ours) == alts(theirs) and len(alts(ours)) == 3 and None not in alts(ours)
    focusable = lambda soup: [" ".join(e.get("class")) for e in soup.find_all(attrs={"tabindex": "0"})]
    assert focusable(ours) == focusable(theirs) and len(focusable(ours)) >= 4


def test_the_course_config_uses_the_feedback_exporter():
    config = nbgrader_config("/tmp/course", CourseSettings())
    assert config.GenerateFeedback.exporter_class == "tito.feedback.FeedbackHTMLExporter"


def test_feedback_templates_are_compiled_once_per_process(monkeypatch):
    import jinja2
    import nbformat

    from tito import feedback
    from tito.feedback import FeedbackHTMLExporter

    monkeypatch.setattr(feedback, "_COMPILED_TEMPLATES", feedback._CompiledTemplates())  # as in a new worker
    compiled = []
    original = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda self, *args, **kwargs: compiled.append(1) or original(self, *args, **kwargs))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOURCE)])
    pages = []
    for _ in range(3):  # nbgrader makes a new exporter for every student's page
        compiled.clear()
        pages.append(FeedbackHTMLExporter(template_name="lab").from_notebook_node(notebook)[0])
        pages.append(len(compiled))
    assert pages[1] >= 5 and pages[3] == pages[5] == 0
    assert "area" in pages[0] and pages[0] == pages[2] == pages[4]
