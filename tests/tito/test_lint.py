from pathlib import Path

from tito.lint import lint_source

HEADER = """# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---
"""
GOOD_FIRST = (
    '# %% nbgrader={"grade": false, "grade_id": "m-imports", "locked": false, "schema_version": 3, "solution": false}\n'
    "#| default_exp core.thing\n#| export\nimport numpy as np\n"
)


def write(tmp_path: Path, *cells: str) -> Path:
    path = tmp_path / "thing_dev.py"
    path.write_text(HEADER + "\n" + "\n\n".join(cells) + "\n")
    return path


def messages(path):
    return [str(f) for f in lint_source(path)]


def test_a_well_formed_module_has_no_findings(tmp_path):
    path = write(tmp_path, GOOD_FIRST, "# %%\n#| export\ndef f():\n    return 1", "# %%\nassert f() == 1")
    assert lint_source(path) == []


def test_shipped_modules_are_clean():
    repo = Path(__file__).resolve().parents[2]
    for source in sorted(repo.glob("modules/*/*_dev.py")):
        assert lint_source(source) == [], source


def test_malformed_header_json_is_named_with_cell_line_and_fix(tmp_path):
    path = write(tmp_path, GOOD_FIRST, '# %% nbgrader={"grade": false, "schema_version": 3,}\nx = 1')
    [finding] = lint_source(path)
    assert "not valid JSON" in finding.message and "double quotes" in finding.fix
    assert finding.cell == 2
    assert path.read_text().splitlines()[finding.line - 1].startswith("# %% nbgrader=")
    assert str(path) in str(finding)


def test_missing_schema_version(tmp_path):
    path = write(tmp_path, GOOD_FIRST, '# %% nbgrader={"grade": false, "grade_id": "m-x", "solution": true}\nx = 1')
    [text] = messages(path)
    assert "schema_version" in text and '"schema_version": 3' in text


def test_duplicate_and_invalid_grade_ids(tmp_path):
    cell = '# %% nbgrader={{"grade": false, "grade_id": "{}", "locked": false, "schema_version": 3, "solution": true}}\nx = 1'
    path = write(tmp_path, GOOD_FIRST, cell.format("m-x"), cell.format("m-x"), cell.format("bad id!"))
    found = messages(path)
    assert any("'m-x' is already used by cell 2" in f for f in found)
    assert any("grade_id 'bad id!' is invalid" in f for f in found)


def test_graded_cell_needs_grade_id_and_points(tmp_path):
    path = write(tmp_path, GOOD_FIRST, '# %% nbgrader={"grade": true, "locked": true, "schema_version": 3, "solution": false}\nassert True')
    found = messages(path)
    assert any("no grade_id" in f for f in found) and any("no numeric points" in f for f in found)


def test_export_directive_below_a_comment_is_flagged(tmp_path):
    path = write(tmp_path, GOOD_FIRST, "# %%\n# helper\n#| export\ndef g():\n    return 2")
    [text] = messages(path)
    assert "#| export" in text and "first line" in text and "cell 2" in text


def test_test_function_in_exported_cell_is_flagged(tmp_path):
    path = write(tmp_path, GOOD_FIRST, "# %%\n#| export\ndef test_unit_g():\n    assert True")
    [text] = messages(path)
    assert "test_unit_g" in text and "without `#| export`" in text


def test_missing_default_exp(tmp_path):
    path = write(tmp_path, "# %%\n#| export\nimport numpy as np")
    [text] = messages(path)
    assert "default_exp" in text
