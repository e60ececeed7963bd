"""The module lint: each rule is fed a small module with its mistake, and the message is checked.

A message names file:line (and the cell), what is wrong and the fix. The small module lives where a
real one does (modules/99_thing/thing_dev.py, its pytest folder tests/99_thing/), so task numbers
and test markers work as in the project.
"""
import json
from pathlib import Path

import pytest

from tito.lint import RULES, lint_source, read_module_source
from tito.lint.renumber import renumber
from tito.lint.tasks import task_rows

REPO = Path(__file__).resolve().parents[2]

HEADER = """# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---
"""


def header(grade_id: str | None, *, markdown: bool = False, points: int | None = None, **flags) -> str:
    """A cell header with nbgrader metadata in the project's key order; flags: grade, locked, solution, task."""
    meta = {"grade": flags.pop("grade", False), "grade_id": grade_id, "locked": flags.pop("locked", False),
            "points": points, "schema_version": 3, "solution": flags.pop("solution", False), **flags}
    meta = {key: value for key, value in meta.items() if value is not None}
    return f"# %%{' [markdown]' if markdown else ''} nbgrader={json.dumps(meta)}\n"


IMPORTS = header("thing-imports") + "#| default_exp core.thing\n#| export\nimport numpy as np\n"
BRIEF = "# %% [markdown]\n# **Exercise (Task 99.1):** write `double`.\n"
EXERCISE = header("thing-double", solution=True) + '''#| export
def double(x):
    """Twice x."""
    # Task 99.1: add x to itself.
    ### BEGIN SOLUTION
    a = x
    b = x
    total = a + b
    result = total
    return result
    ### END SOLUTION
'''
TEST_CELL = header("thing-double-tests", grade=True, locked=True, points=2) + "assert double(2) == 4\n"
GOOD = HEADER + "\n" + "\n\n".join([IMPORTS, BRIEF, EXERCISE, TEST_CELL])
GOOD_TESTS = 'import pytest\n\n\n@pytest.mark.task("thing-double")\ndef test_double():\n    assert True\n'


def write_module(root: Path, text: str = GOOD, tests: str | None = GOOD_TESTS) -> Path:
    path = root / "modules" / "99_thing" / "thing_dev.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if tests is not None:
        (root / "tests" / "99_thing").mkdir(parents=True, exist_ok=True)
        (root / "tests" / "99_thing" / "test_thing.py").write_text(tests)
    return path


def variant(*replacements: tuple[str, str], text: str = GOOD) -> str:
    for old, new in replacements:
        assert old in text, f"fixture text {old!r} not found"
        text = text.replace(old, new, 1)
    return text


def line_of(path: Path, needle: str, start: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if i > start and needle in line)


def only(path: Path, rule: str | None = None):
    findings = lint_source(path)
    assert len(findings) == 1, "\n".join(map(str, findings))
    if rule is not None:
        assert findings[0].rule == rule, findings[0]
    return findings[0]


def test_a_well_formed_module_has_no_findings(tmp_path):
    assert lint_source(write_module(tmp_path)) == []


def test_shipped_modules_are_clean():
    for source in sorted(REPO.glob("modules/*/*_dev.py")):
        assert lint_source(source) == [], source


def test_every_rule_is_in_the_table_of_the_docstring():
    import tito.lint

    for name in RULES:
        assert f"| {name} " in tito.lint.__doc__, name


def test_a_finding_reads_file_line_cell_message_fix(tmp_path):
    path = write_module(tmp_path, variant(('"locked": true, "points": 2', '"locked": false, "points": 2')))
    finding = only(path)
    assert str(finding) == (f"{path}:{finding.line}: cell {finding.cell}: {finding.message}; fix: {finding.fix}")


# --- cells and metadata ---------------------------------------------------------------------------

def test_malformed_header_json_is_named_with_cell_line_and_fix(tmp_path):
    path = write_module(tmp_path, GOOD + '\n\n# %% nbgrader={"grade": false, "schema_version": 3,}\nx = 1\n')
    finding = only(path, "header-json")
    assert "not valid JSON" in finding.message and "double quotes" in finding.fix
    assert finding.cell == 5 and finding.line == line_of(path, '"schema_version": 3,}')


def test_missing_schema_version(tmp_path):
    path = write_module(tmp_path, GOOD + '\n\n# %% nbgrader={"grade": false, "grade_id": "thing-x"}\nx = 1\n')
    finding = only(path, "nbgrader-schema")
    assert "schema_version" in finding.message and finding.fix == 'add "schema_version": 3'


def test_duplicate_invalid_and_foreign_grade_ids(tmp_path):
    cells = [header(grade_id, locked=True) + "x = 1" for grade_id in ("thing-x", "thing-x", "bad id!", "other-y")]
    path = write_module(tmp_path, GOOD + "\n\n" + "\n\n".join(cells))
    found = [str(f) for f in lint_source(path)]
    assert any("'thing-x' is already used by cell 5" in f for f in found)
    assert any("grade_id 'bad id!' is invalid" in f for f in found)
    assert any("'other-y' does not start with the module's name" in f and '"thing-other-y"' in f for f in found)


def test_graded_cell_needs_grade_id_and_positive_points(tmp_path):
    path = write_module(tmp_path, variant(('"grade_id": "thing-double-tests", "locked": true, "points": 2',
                                           '"locked": true, "points": 0')))
    found = {f.rule: f for f in lint_source(path)}
    assert "no grade_id" in found["grade-ids"].message
    assert "points=0" in found["graded-points"].message and "N > 0" in found["graded-points"].fix


def test_task_cells_are_markdown(tmp_path):
    path = write_module(tmp_path, GOOD + '\n\n# %% nbgrader={"grade": false, "grade_id": "thing-t", "locked": true, '
                                         '"schema_version": 3, "solution": false, "task": true}\nx = 1\n')
    assert "must be a markdown cell" in only(path, "task-cells").message


def test_export_directive_below_a_comment_is_flagged(tmp_path):
    path = write_module(tmp_path, GOOD + "\n\n# %%\n# helper\n#| export\ndef g():\n    return 2\n")
    finding = only(path, "directive-placement")
    assert "#| export" in finding.message and "first line" in finding.fix
    assert finding.line == line_of(path, "#| export", line_of(path, "# helper"))


def test_test_function_in_exported_cell_is_flagged(tmp_path):
    path = write_module(tmp_path, GOOD + "\n\n# %%\n#| export\ndef test_unit_g():\n    assert True\n")
    finding = only(path, "exported-tests")
    assert "test_unit_g" in finding.message and "without `#| export`" in finding.fix


def test_missing_default_exp(tmp_path):
    path = write_module(tmp_path, variant(("#| default_exp core.thing\n", "")))
    assert "default_exp" in only(path, "default-exp").message


# --- solution regions -----------------------------------------------------------------------------

def test_begin_solution_above_the_def_is_refused(tmp_path):
    """Issue 17: the release kept only `#| export / # YOUR CODE HERE / raise NotImplementedError()`."""
    text = variant(("    # Task 99.1: add x to itself.\n    ### BEGIN SOLUTION\n", ""),
                   ("#| export\ndef double(x):",
                    "#| export\n# Task 99.1: add x to itself.\n### BEGIN SOLUTION\ndef double(x):"))
    path = write_module(tmp_path, text)
    finding = only(path, "region-in-function-body")
    assert finding.line == line_of(path, "### BEGIN SOLUTION")
    assert "contains `def double`" in finding.message and "signature and docstring would vanish" in finding.message
    assert finding.fix.startswith("move `### BEGIN SOLUTION` below the signature and docstring of `double`")


def test_begin_solution_above_the_docstring_is_refused(tmp_path):
    text = variant(('    """Twice x."""\n    # Task 99.1: add x to itself.\n    ### BEGIN SOLUTION\n',
                    '    # Task 99.1: add x to itself.\n    ### BEGIN SOLUTION\n    """Twice x."""\n'))
    path = write_module(tmp_path, text)
    finding = only(path, "region-in-function-body")
    assert "the docstring of `double` is inside the solution region" in finding.message
    assert "below the signature and docstring of `double`" in finding.fix


def test_a_region_in_a_class_body_is_refused(tmp_path):
    text = variant(("def double(x):\n    \"\"\"Twice x.\"\"\"\n", "class Double:\n    \"\"\"Twice x.\"\"\"\n"),
                   ("    return result\n", "    value = result\n"),
                   ("assert double(2) == 4", "assert Double.value"))
    path = write_module(tmp_path, text)
    finding = only(path, "region-in-function-body")
    assert "is in the body of class `Double`, not inside a function body" in finding.message


def test_a_region_cutting_through_a_statement_is_refused(tmp_path):
    text = variant(("    a = x\n    b = x\n", "    if x:\n        a = x\n    ### END SOLUTION\n        b = x\n"),
                   ("    return result\n    ### END SOLUTION\n", "    return result\n"))
    path = write_module(tmp_path, text)
    found = {f.rule: f for f in lint_source(path)}
    assert "cuts through the `if x:`" in found["region-boundaries"].message
    assert found["region-boundaries"].line == line_of(path, "### BEGIN SOLUTION")


def _with_body(body: str) -> str:
    start = EXERCISE.index("    # Task 99.1")
    return GOOD.replace(EXERCISE, EXERCISE[:start] + body)


def test_a_region_at_the_end_of_a_loop_body_is_fine(tmp_path):
    body = ("    out = []\n    for v in [x]:\n        # Task 99.1: add x to itself.\n        ### BEGIN SOLUTION\n"
            + "".join(f"        a{i} = v\n" for i in range(4)) + "        out.append(a0 + a1)\n"
            "        ### END SOLUTION\n    return out[0]\n")
    assert lint_source(write_module(tmp_path, _with_body(body))) == []


def test_a_region_joining_an_if_and_its_else_is_refused(tmp_path):
    body = ("    if x:\n        # Task 99.1: add x to itself.\n        ### BEGIN SOLUTION\n"
            "        a = x\n        b = x\n"
            "    else:\n        a = b = 0\n        c = 1\n        ### END SOLUTION\n        c = 2\n    return a + b\n")
    path = write_module(tmp_path, _with_body(body))
    finding = only(path, "region-boundaries")
    assert f"cuts through the `if x:` at line {line_of(path, 'if x:')}" in finding.message


def test_a_one_line_region_is_too_short_and_a_long_one_too_long(tmp_path):
    whole = "    a = x\n    b = x\n    total = a + b\n    result = total\n    return result\n"
    path = write_module(tmp_path, variant((whole, "    return 2 * x\n")))
    finding = only(path, "region-length")
    assert "has 1 non-blank line(s); the rule is 5-40" in finding.message
    assert finding.line == line_of(path, "BEGIN SOLUTION")
    for extra, size in ((35, 40), (36, 41)):  # the region has 5 lines; 40 is allowed, 41 is not
        body = "".join(f"    v{i} = x\n" for i in range(extra)) + "\n"
        path = write_module(tmp_path, variant(("    a = x\n", body + "    a = x\n")))
        assert [f.message for f in lint_source(path)] == (
            [] if size == 40 else ["the solution region has 41 non-blank line(s); the rule is 5-40"])


def test_a_missing_end_solution_is_refused_before_nbgrader_sees_it(tmp_path):
    path = write_module(tmp_path, variant(("    ### END SOLUTION\n", "")))
    finding = only(path, "marker-balance")
    assert "`### BEGIN SOLUTION` has no `### END SOLUTION` below it" in finding.message
    assert "no end solution statement found" in finding.message and finding.line == line_of(path, "BEGIN SOLUTION")
    assert "add `### END SOLUTION`" in finding.fix


def test_a_stray_end_and_a_nested_begin_are_refused(tmp_path):
    path = write_module(tmp_path, variant(("    a = x\n", "    a = x\n    ### BEGIN SOLUTION\n")))
    assert "a second `### BEGIN SOLUTION` opens before" in only(path, "marker-balance").message
    path = write_module(tmp_path, variant(("    return result\n    ### END SOLUTION\n",
                                           "    return result\n    ### END SOLUTION\n    ### END SOLUTION\n")))
    finding = only(path, "marker-balance")
    assert "`### END SOLUTION` has no `### BEGIN SOLUTION` above it" in finding.message
    assert finding.line == line_of(path, "### END SOLUTION", line_of(path, "### END SOLUTION"))


def test_unbalanced_hidden_tests_are_refused(tmp_path):
    hidden = "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(3) == 6"
    path = write_module(tmp_path, variant(("assert double(2) == 4", hidden)))
    assert "`### BEGIN HIDDEN TESTS` has no `### END HIDDEN TESTS`" in only(path, "marker-balance").message


def test_markers_outside_marked_cells_are_refused(tmp_path):
    helper = "# %%\ndef helper(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    path = write_module(tmp_path, GOOD + "\n\n" + helper)
    finding = only(path, "markers-in-marked-cells")
    assert "not a solution cell" in finding.message and '"solution": true' in finding.fix
    path = write_module(tmp_path, GOOD + "\n\n# %%\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS\n")
    assert "hidden-test marker in a cell that is not graded" in only(path, "markers-in-marked-cells").message


def test_an_exercise_without_a_region_is_refused(tmp_path):
    text = variant(("    # Task 99.1: add x to itself.\n    ### BEGIN SOLUTION\n", ""), ("    ### END SOLUTION\n", ""))
    path = write_module(tmp_path, text)
    finding = only(path, "exercise-has-region")
    assert "would replace the whole cell" in finding.message and finding.line == line_of(path, '"solution": true')


# --- graded tests ---------------------------------------------------------------------------------

def test_an_unlocked_test_cell_is_named_by_its_own_id_and_line(tmp_path):
    """Issue 17: the old structure test printed the exercise's metadata, not the test cell's."""
    path = write_module(tmp_path, variant(('"locked": true, "points": 2', '"locked": false, "points": 2')))
    finding = only(path, "graded-tests-locked")
    assert "graded test cell 'thing-double-tests' is not locked" in finding.message
    assert finding.line == line_of(path, '"grade_id": "thing-double-tests"') and '"locked": true' in finding.fix


def test_the_test_cell_must_come_right_after_its_exercise(tmp_path):
    text = variant((TEST_CELL, '# %%\nprint("between")\n\n\n' + TEST_CELL))
    path = write_module(tmp_path, text)
    found = {f.rule: f for f in lint_source(path)}
    assert set(found) == {"test-follows-exercise", "graded-tests-follow-exercises"}
    assert "the code cell after exercise 'thing-double' (Task 99.1) is cell 4, not its graded test cell" \
        in found["test-follows-exercise"].message
    assert found["test-follows-exercise"].line == line_of(path, 'print("between")') - 1
    assert "'thing-double-tests' does not come right after an exercise" \
        in found["graded-tests-follow-exercises"].message


def test_the_test_cell_is_named_after_the_exercise(tmp_path):
    path = write_module(tmp_path, variant(('"thing-double-tests"', '"thing-tests"')))
    finding = only(path, "test-follows-exercise")
    assert "is named 'thing-tests'" in finding.message and finding.fix == 'name it "thing-double-tests"'


def test_an_exercise_without_any_cell_after_it(tmp_path):
    path = write_module(tmp_path, variant(("\n\n" + TEST_CELL, "")))
    finding = only(path, "test-follows-exercise")
    assert "has no code cell after it" in finding.message and '"grade_id": "thing-double-tests"' in finding.fix


# --- task numbers ---------------------------------------------------------------------------------

def test_a_missing_task_comment_is_refused(tmp_path):
    path = write_module(tmp_path, variant(("    # Task 99.1: add x to itself.\n", "")))
    finding = only(path, "task-comment")
    assert "no `# Task 99.1: ...` comment on the line above `### BEGIN SOLUTION`" in finding.message
    assert finding.line == line_of(path, "BEGIN SOLUTION") and "`# Task 99.1: <what the student writes>`" in finding.fix


def test_a_wrong_or_empty_task_comment_is_refused(tmp_path):
    path = write_module(tmp_path, variant(("# Task 99.1: add", "# Task 99.2: add")))
    finding = only(path, "task-comment")
    assert "says Task 99.2, but 'thing-double' is exercise 1 of module 99: Task 99.1" in finding.message
    assert "--renumber" in finding.fix and finding.line == line_of(path, "# Task 99.2")
    path = write_module(tmp_path, variant(("# Task 99.1: add x to itself.", "# Task 99.1")))
    assert "does not say what to do" in only(path, "task-comment").message


def test_the_brief_must_name_the_task(tmp_path):
    path = write_module(tmp_path, variant(("**Exercise (Task 99.1):**", "**Exercise:**")))
    finding = only(path, "task-brief")
    assert "the brief of exercise 'thing-double' does not name Task 99.1" in finding.message
    assert "`**Exercise (Task 99.1):**" in finding.fix and finding.line == line_of(path, "# %% [markdown]")
    path = write_module(tmp_path, variant(("**Exercise (Task 99.1):**", "**Exercise (Task 99.3):**")))
    found = {f.rule: f for f in lint_source(path)}
    assert "(it says Task 99.3)" in found["task-brief"].message and "--renumber" in found["task-brief"].fix
    assert "`Task 99.3` names no exercise" in found["task-references"].message


def test_an_exercise_needs_a_brief(tmp_path):
    path = write_module(tmp_path, variant((BRIEF + "\n\n", "")))
    assert "has no brief" in only(path, "task-brief").message


def test_references_to_tasks_that_do_not_exist(tmp_path):
    path = write_module(tmp_path, GOOD + "\n\n# %% [markdown]\n# As in Task 99.1, and unlike Task 99.4.\n")
    finding = only(path, "task-references")
    assert "`Task 99.4` names no exercise: module 99 has 1 (Task 99.1)" in finding.message
    assert finding.line == line_of(path, "unlike Task 99.4")
    tests = GOOD_TESTS + '\n\ndef test_other():\n    """Checks Task 99.7."""\n'
    path = write_module(tmp_path, tests=tests)
    finding = only(path, "task-references")
    assert finding.path.name == "test_thing.py" and finding.line == line_of(finding.path, "Task 99.7")
    assert "@pytest.mark.task" in finding.fix


def test_typed_counts_and_ranges_must_agree(tmp_path):
    prose = "# %% [markdown]\n# Two exercises (Tasks 99.1 to 99.2) follow.\n\n"
    path = write_module(tmp_path, variant((BRIEF, prose + BRIEF)))
    found = {f.rule: f for f in lint_source(path)}
    assert "the prose says 'Two exercises', but module 99 has 1 exercise(s)" in found["task-counts"].message
    assert "`Task 99.2` names no exercise" in found["task-references"].message
    prose = "# %% [markdown]\n# One exercise here; see Tasks 99.1 to 99.1.\n\n"
    path = write_module(tmp_path, variant((BRIEF, prose + BRIEF)))
    assert "empty or reversed" in only(path, "task-counts").message


def test_each_exercise_needs_a_marked_pytest_test(tmp_path):
    path = write_module(tmp_path, tests="def test_double():\n    assert True\n")
    finding = only(path, "task-markers")
    assert "exercise 'thing-double' (Task 99.1) has no pytest test in tests/99_thing/ marked for it" in finding.message
    assert '@pytest.mark.task("thing-double")' in finding.fix


def test_markers_must_name_an_exercise(tmp_path):
    tests = GOOD_TESTS + '\n\n@pytest.mark.task("thing-tripple")\ndef test_other():\n    assert True\n'
    path = write_module(tmp_path, tests=tests)
    finding = only(path, "task-markers")
    assert finding.path.name == "test_thing.py" and finding.cell is None
    assert finding.line == line_of(finding.path, "thing-tripple")
    assert "marked with task 'thing-tripple', which is no exercise of module 99" in finding.message
    assert "thing-double" in finding.fix
    path = write_module(tmp_path, tests=GOOD_TESTS + "\n\npytestmark = pytest.mark.task(42)\n")
    assert "without a grade_id string" in only(path, "task-markers").message


def test_a_module_with_exercises_needs_its_pytest_folder(tmp_path):
    path = write_module(tmp_path, tests=None)
    assert "but no pytest folder" in only(path, "task-markers").message


def test_a_source_outside_modules_cannot_be_numbered(tmp_path):
    path = tmp_path / "thing_dev.py"
    path.write_text(GOOD)
    assert "not in a modules/NN_name/ folder" in only(path, "module-folder").message


# --- written answers ------------------------------------------------------------------------------

QUESTION = header("thing-q1-question", markdown=True, locked=True) + "# **Q1. Why?** Explain.\n"
ANSWER = header("thing-q1-why", markdown=True, grade=True, points=2, solution=True, task=False) + "# YOUR ANSWER HERE\n"


def test_written_answers_sit_below_locked_numbered_questions(tmp_path):
    assert lint_source(write_module(tmp_path, GOOD + "\n\n" + QUESTION + "\n\n" + ANSWER)) == []
    path = write_module(tmp_path, GOOD + "\n\n" + QUESTION.replace("**Q1.", "**Q2.") + "\n\n" + ANSWER)
    finding = only(path, "questions")
    assert "the question says Q2, but it is written answer 1" in finding.message
    unlocked = QUESTION.replace('"locked": true', '"locked": false')
    path = write_module(tmp_path, GOOD + "\n\n" + unlocked + "\n\n" + ANSWER)
    assert "has no locked question cell right above it" in only(path, "questions").message


# --- renumbering and the task list ----------------------------------------------------------------

def _second_exercise(name: str, number: str) -> str:
    return (f"# %% [markdown]\n# **Exercise (Task 99.{number}):** write `{name}`.\n\n\n"
            + EXERCISE.replace("double", name).replace("Task 99.1", f"Task 99.{number}")
            + "\n\n" + TEST_CELL.replace("double", name))


def test_renumber_after_inserting_an_exercise_in_the_middle(tmp_path):
    """Issue 17: adding an exercise in the middle needs no hand renumbering."""
    start = (GOOD + "\n\n" + _second_exercise("triple", "2")
             + "\n\n# %% [markdown]\n# Tasks 99.1 to 99.2; triple is Task 99.2.\n")
    inserted = variant((BRIEF, _second_exercise("half", "1") + "\n\n" + BRIEF), text=start)
    tests = GOOD_TESTS + "".join(f'\n\n@pytest.mark.task("thing-{n}")\ndef test_{n}():\n    assert True\n'
                                 for n in ("triple", "half"))
    path = write_module(tmp_path, inserted, tests)
    rules = sorted(f.rule for f in lint_source(path))
    assert rules == ["task-brief", "task-brief", "task-comment", "task-comment"], rules
    src = read_module_source(path)
    text, changes, notes = renumber(src)
    path.write_text(text)
    assert lint_source(path) == []
    assert "Task 99.1 was the number of exercises 99.1, 99.2" in notes[0]
    assert [e.label for e in read_module_source(path).exercises] == ["Task 99.1", "Task 99.2", "Task 99.3"]
    assert "# Task 99.2: add x to itself." in text and "**Exercise (Task 99.3):** write `triple`" in text
    assert "Tasks 99.1 to 99.3; triple is Task 99.3." in text, "cross-references follow the old numbering"
    assert len(changes) == 5
    assert renumber(read_module_source(path))[1] == [], "renumbering twice changes nothing"


def test_task_rows_list_number_id_points_and_marked_tests(tmp_path):
    path = write_module(tmp_path, GOOD + "\n\n" + QUESTION + "\n\n" + ANSWER)
    rows = task_rows(read_module_source(path))
    assert rows == [
        {"task": "Task 99.1", "grade_id": "thing-double", "points": 2,
         "line": line_of(path, '"thing-double", "locked"'), "tests": ["tests/99_thing/test_thing.py::test_double"]},
        {"task": "Q1", "grade_id": "thing-q1-why", "points": 2, "line": line_of(path, '"thing-q1-why"'),
         "tests": ["graded by hand"]}]


# --- the commands ---------------------------------------------------------------------------------

@pytest.fixture
def thing_project(tmp_path, monkeypatch):
    (tmp_path / "settings.ini").write_text((REPO / "settings.ini").read_text())
    monkeypatch.setenv("TITO_ROOT", str(tmp_path))
    return tmp_path


def test_module_lint_command_exit_codes_and_json(thing_project, capsys):
    from tito.main import main

    path = write_module(thing_project)
    assert main(["module", "lint", "99"]) == 0
    assert "99_thing: lint clean (1 exercise(s), 0 written answer(s))" in capsys.readouterr().out
    path.write_text(variant(("    ### END SOLUTION\n", "")))
    assert main(["module", "lint", "99"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line_of(path, 'BEGIN SOLUTION')}: cell 3: `### BEGIN SOLUTION` has no" in err
    assert main(["module", "lint", "thing", "--json", "--list"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] is False and [f["rule"] for f in report["findings"]] == ["marker-balance"]
    assert report["tasks"][0]["task"] == "Task 99.1"


def test_module_lint_renumber_writes_the_source(thing_project, capsys):
    from tito.main import main

    path = write_module(thing_project, variant(("# Task 99.1: add", "# Task 99.5: add"),
                                               ("**Exercise (Task 99.1):**", "**Exercise (Task 99.5):**")))
    assert main(["module", "lint", "99"]) == 1
    capsys.readouterr()
    assert main(["module", "lint", "99", "--renumber"]) == 0
    out = capsys.readouterr().out
    assert "renumbered modules/99_thing/thing_dev.py:" in out and "Task 99.5" in out
    assert path.read_text() == GOOD


def test_module_tasks_command(thing_project, capsys):
    from tito.main import main

    write_module(thing_project)
    assert main(["module", "tasks", "99"]) == 0
    out = capsys.readouterr().out
    assert "Task 99.1  thing-double" in out and "2 point(s)" in out
    assert "tests/99_thing/test_thing.py::test_double" in out
    assert main(["module", "tasks", "99", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["grade_id"] == "thing-double"
