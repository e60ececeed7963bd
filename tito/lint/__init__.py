"""The module lint: everything a release depends on, checked before jupytext, nbdev or nbgrader see a module.

`tito module lint NN` runs it, and so do `tito module export`, `tito export`, `tito module complete` and
`tito release`. Each finding names file:line (and the cell), what is wrong, and the fix. The rules, one
function each:

| rule                     | catches                                                                    |
|--------------------------|----------------------------------------------------------------------------|
| header-json              | cell header metadata that is not JSON (jupytext keeps it as a string)      |
| nbgrader-schema          | nbgrader metadata that is not an object or lacks "schema_version": 3      |
| grade-ids                | a missing, invalid or duplicate grade_id, or one not named `<module>-...`   |
| graded-points            | graded cells without numeric points > 0                                    |
| task-cells               | nbgrader "task" cells that are not markdown                                |
| directive-placement      | `#| export` / `#| default_exp` below other lines (nbdev ignores them)       |
| exported-tests           | test functions in exported cells (they would ship in the package)          |
| default-exp              | no `#| default_exp` (nbdev would export nothing)                            |
| marker-balance           | BEGIN without END, END without BEGIN, nested regions (solution, hidden tests) |
| markers-in-marked-cells  | solution markers outside solution cells, hidden tests outside graded cells |
| exercise-has-region      | an exercise without a region (nbgrader would stub the whole cell)          |
| region-in-function-body  | a region not inside one function body, or holding a signature or docstring |
| region-length            | a region outside 5-40 non-blank lines                                      |
| region-boundaries        | a region cutting through a statement; a released cell that is not Python   |
| module-folder            | exercises in a source outside modules/NN_name/ (they cannot be numbered)   |
| test-follows-exercise    | an exercise whose next code cell is not its graded test `<grade_id>-tests` |
| graded-tests-locked      | a graded test cell that is not locked                                      |
| graded-tests-follow-exercises | a graded test cell that does not come right after an exercise         |
| task-comment             | a missing or wrong `# Task NN.k: <what>` above `### BEGIN SOLUTION`        |
| task-brief               | an exercise brief that does not name its `Task NN.k`                       |
| task-references          | a "Task NN.k" in prose, comments or tests naming no exercise               |
| task-counts              | a typed count of exercises or a range of tasks that disagrees              |
| task-markers             | an exercise without `@pytest.mark.task("<grade_id>")` tests; unknown markers |
| questions                | a written answer not graded or not below a locked question `**Qk.`        |
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator

from . import cells, regions, tasks
from .findings import Finding
from .source import ModuleSource, read_module_source

Rule = Callable[[ModuleSource], Iterator[Finding]]

RULES: dict[str, Rule] = {
    "header-json": cells.check_header_json,
    "nbgrader-schema": cells.check_nbgrader_schema,
    "grade-ids": cells.check_grade_ids,
    "graded-points": cells.check_graded_points,
    "task-cells": cells.check_task_cells,
    "directive-placement": cells.check_directive_placement,
    "exported-tests": cells.check_exported_tests,
    "default-exp": cells.check_default_exp,
    "marker-balance": regions.check_marker_balance,
    "markers-in-marked-cells": regions.check_markers_in_marked_cells,
    "exercise-has-region": regions.check_exercise_has_region,
    "region-in-function-body": regions.check_region_in_function_body,
    "region-length": regions.check_region_length,
    "region-boundaries": regions.check_region_boundaries,
    "module-folder": tasks.check_module_folder,
    "test-follows-exercise": tasks.check_test_follows_exercise,
    "graded-tests-locked": tasks.check_graded_tests_locked,
    "graded-tests-follow-exercises": tasks.check_graded_tests_follow_exercises,
    "task-comment": tasks.check_task_comment,
    "task-brief": tasks.check_task_brief,
    "task-references": tasks.check_task_references,
    "task-counts": tasks.check_task_counts,
    "task-markers": tasks.check_task_markers,
    "questions": tasks.check_questions,
}


def lint(src: ModuleSource) -> list[Finding]:
    """Every rule's findings, labelled with the rule's name: the source's first, by line, then the tests'."""
    found = [dataclasses.replace(finding, rule=name) for name, rule in RULES.items() for finding in rule(src)]
    return sorted(found, key=lambda f: (Path(f.path) != Path(src.path), str(f.path), f.line or 0))


def lint_source(path: Path, tests_dir: Path | None = None) -> list[Finding]:
    """Lint a module source file; its pytest folder defaults to tests/NN_name/ of the same project."""
    return lint(read_module_source(path, tests_dir))


__all__ = ["Finding", "ModuleSource", "RULES", "lint", "lint_source", "read_module_source"]
