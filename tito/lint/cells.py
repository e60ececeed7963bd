"""Rules on cells and their metadata: what jupytext, nbdev and nbgrader would silently get wrong."""
from __future__ import annotations

import ast
import re
from typing import Iterator

from .findings import Finding
from .source import DIRECTIVE, EXPORT_DIRECTIVES, ModuleSource, is_exported, leading_directives, parse_cell

GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def check_header_json(src: ModuleSource) -> Iterator[Finding]:
    """jupytext keeps malformed header JSON as a string instead of failing."""
    for cell in src.cells:
        bad = cell.metadata.get("incorrectly_encoded_metadata")
        if bad is not None:
            yield src.finding(cell, f"the cell header metadata is not valid JSON: {bad!r}",
                              'write it as nbgrader={"key": value, ...} with double quotes, true/false and '
                              "no trailing comma")


def check_nbgrader_schema(src: ModuleSource) -> Iterator[Finding]:
    """nbgrader 0.9 refuses metadata without schema_version 3."""
    for cell in src.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        if not isinstance(meta, dict):
            yield src.finding(cell, f"nbgrader metadata must be a JSON object, got {meta!r}",
                              'write nbgrader={"grade": false, ...}')
        elif meta.get("schema_version") != 3:
            yield src.finding(cell, f"nbgrader metadata has schema_version={meta.get('schema_version')!r}; "
                                    "nbgrader 0.9 refuses it", 'add "schema_version": 3')


def check_grade_ids(src: ModuleSource) -> Iterator[Finding]:
    """Graded, solution, locked and task cells need a unique `<module>-<concept>` grade_id."""
    seen: dict[str, int] = {}
    for cell in src.cells:
        meta = cell.nbgrader
        if not meta:
            continue
        grade_id = meta.get("grade_id")
        if grade_id is None:
            if any(meta.get(key) for key in ("grade", "solution", "locked", "task")):
                yield src.finding(cell, "a graded, solution, locked or task cell has no grade_id",
                                  f'add "grade_id": "{src.name or "<module>"}-<concept>"')
        elif not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
            yield src.finding(cell, f"grade_id {grade_id!r} is invalid", "use only letters, digits, '-' and '_'")
        elif grade_id in seen:
            yield src.finding(cell, f"grade_id {grade_id!r} is already used by cell {seen[grade_id] + 1}",
                              "give every cell a unique grade_id")
        else:
            seen[grade_id] = cell.index
            if src.name and not grade_id.startswith(f"{src.name}-"):
                yield src.finding(cell, f"grade_id {grade_id!r} does not start with the module's name",
                                  f'name it "{src.name}-<concept>", e.g. "{src.name}-{grade_id}"')


def check_graded_points(src: ModuleSource) -> Iterator[Finding]:
    """A graded cell is worth a positive number of points."""
    for cell in src.cells:
        if not cell.nbgrader.get("grade"):
            continue
        points = cell.nbgrader.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)):
            yield src.finding(cell, "a graded cell has no numeric points", 'add "points": N')
        elif points <= 0:
            yield src.finding(cell, f"a graded cell has points={points!r}; it could never earn anything",
                              'give it "points": N with N > 0, or make it "grade": false')


def check_task_cells(src: ModuleSource) -> Iterator[Finding]:
    """nbgrader's "task" cells are markdown."""
    for cell in src.cells:
        if cell.nbgrader.get("task") and cell.cell_type != "markdown":
            yield src.finding(cell, "a task cell must be a markdown cell",
                              "use `# %% [markdown] nbgrader={...}` for task cells")


def check_directive_placement(src: ModuleSource) -> Iterator[Finding]:
    """nbdev honours directives only in a cell's leading lines."""
    for cell in src.cells:
        if cell.cell_type != "code":
            continue
        leading = len(leading_directives(cell.source))
        for offset, line in enumerate(cell.source.splitlines()):
            match = DIRECTIVE.match(line.strip())
            if match and match.group(1) in EXPORT_DIRECTIVES | {"default_exp"} and offset >= leading:
                yield src.finding(cell, f"`{line.strip()}` is on line {offset + 1} of the cell, after other lines, "
                                        "so nbdev ignores it", "move the directive to the cell's first line",
                                  line=cell.line_of(offset))


def check_exported_tests(src: ModuleSource) -> Iterator[Finding]:
    """Everything in an exported cell ships in the package, tests included."""
    for cell in src.cells:
        if cell.cell_type != "code" or not is_exported(cell.source):
            continue
        tree = parse_cell(cell.source)
        if isinstance(tree, SyntaxError):
            yield src.finding(cell, f"the exported cell is not valid Python: {tree.msg} (cell line {tree.lineno})",
                              "fix the syntax error", line=cell.line_of((tree.lineno or 1) - 1))
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and node.name.lower().startswith("test"):
                yield src.finding(cell, f"test `{node.name}` is in an exported cell: it would ship in the package",
                                  "move tests to a separate cell without `#| export`",
                                  line=cell.line_of(node.lineno - 1))


def check_default_exp(src: ModuleSource) -> Iterator[Finding]:
    """Without `#| default_exp`, nbdev exports nothing."""
    if not any(cell.cell_type == "code" and "default_exp" in leading_directives(cell.source) for cell in src.cells):
        yield Finding(src.path, 1, None, "no `#| default_exp` directive, so nbdev would export nothing",
                      "start the first code cell with `#| default_exp package.module`")

