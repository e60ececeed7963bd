"""Checks a module source before export, for the mistakes that jupytext, nbdev and nbgrader swallow.

Each finding names the file, the cell (number and line in the source) and the fix.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext

GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
DIRECTIVE = re.compile(r"^#\|\s*(\w+)")
EXPORT_DIRECTIVES = {"export", "exports", "exporti"}


@dataclass(frozen=True)
class Finding:
    path: Path
    cell: int  # 1-based, counting every cell
    line: int | None  # line of the cell's `# %%` header in the source
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: cell {self.cell}: {self.message}; fix: {self.fix}"


def cell_header_lines(source_text: str) -> list[int]:
    return [i for i, line in enumerate(source_text.splitlines(), start=1) if line.startswith("# %%")]


def leading_directives(cell_source: str) -> list[str]:
    """The directives nbdev honours: `#|` lines before the first other line of the cell."""
    names = []
    for line in cell_source.splitlines():
        match = DIRECTIVE.match(line.strip())
        if not match:
            break
        names.append(match.group(1))
    return names


def is_exported(cell_source: str) -> bool:
    return bool(EXPORT_DIRECTIVES & set(leading_directives(cell_source)))


def lint_source(path: Path) -> list[Finding]:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    headers = cell_header_lines(text)
    line_of = (lambda i: headers[i]) if len(headers) == len(notebook.cells) else (lambda i: None)
    findings: list[Finding] = []

    def add(index: int, message: str, fix: str) -> None:
        findings.append(Finding(path, index + 1, line_of(index), message, fix))

    seen_ids: dict[str, int] = {}
    default_exp_seen = False
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata
        if "incorrectly_encoded_metadata" in meta:
            add(index, f"the cell header metadata is not valid JSON: {meta['incorrectly_encoded_metadata']!r}",
                'write it as nbgrader={"key": value, ...} with double quotes, true/false and no trailing comma')
        nbgrader = meta.get("nbgrader")
        if nbgrader is not None:
            _lint_nbgrader(index, cell, nbgrader, seen_ids, add)
        if cell.cell_type != "code":
            continue
        if "default_exp" in leading_directives(cell.source):
            default_exp_seen = True
        _lint_directive_placement(index, cell.source, add)
        if is_exported(cell.source):
            _lint_exported_tests(index, cell.source, add)
    if not default_exp_seen:
        findings.append(Finding(path, 1, None, "no `#| default_exp` directive, so nbdev would export nothing",
                                "start the first code cell with `#| default_exp package.module`"))
    return findings


def _lint_nbgrader(index, cell, nbgrader, seen_ids, add) -> None:
    if not isinstance(nbgrader, dict):
        add(index, f"nbgrader metadata must be a JSON object, got {nbgrader!r}", 'write nbgrader={"grade": false, ...}')
        return
    if nbgrader.get("schema_version") != 3:
        add(index, f"nbgrader metadata has schema_version={nbgrader.get('schema_version')!r}; nbgrader 0.9 refuses it",
            'add "schema_version": 3')
    needs_id = any(nbgrader.get(k) for k in ("grade", "solution", "locked", "task"))
    grade_id = nbgrader.get("grade_id")
    if grade_id is None:
        if needs_id:
            add(index, "a graded, solution, locked or task cell has no grade_id", 'add "grade_id": "<module>-<concept>"')
    elif not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
        add(index, f"grade_id {grade_id!r} is invalid", "use only letters, digits, '-' and '_'")
    elif grade_id in seen_ids:
        add(index, f"grade_id {grade_id!r} is already used by cell {seen_ids[grade_id] + 1}",
            "give every cell a unique grade_id")
    else:
        seen_ids[grade_id] = index
    if nbgrader.get("grade") and not isinstance(nbgrader.get("points"), (int, float)):
        add(index, "a graded cell has no numeric points", 'add "points": N')
    if nbgrader.get("task") and cell.cell_type != "markdown":
        add(index, "a task cell must be a markdown cell", "use `# %% [markdown] nbgrader={...}` for task cells")


def _lint_directive_placement(index, source, add) -> None:
    leading = len(leading_directives(source))
    for offset, line in enumerate(source.splitlines()):
        match = DIRECTIVE.match(line.strip())
        if match and match.group(1) in EXPORT_DIRECTIVES | {"default_exp"} and offset >= leading:
            add(index, f"`{line.strip()}` is on line {offset + 1} of the cell, after other lines, so nbdev ignores it",
                "move the directive to the cell's first line")


def _lint_exported_tests(index, source, add) -> None:
    try:
        tree = ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith("%")))
    except SyntaxError as error:
        add(index, f"the exported cell is not valid Python: {error.msg} (cell line {error.lineno})",
            "fix the syntax error")
        return
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name.lower().startswith("test"):
            add(index, f"test `{node.name}` is in an exported cell: it would ship in the package",
                "move tests to a separate cell without `#| export`")
