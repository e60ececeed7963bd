"""Rules on solution and hidden-test regions: what nbgrader's release would do to each exercise.

nbgrader replaces every `### BEGIN SOLUTION` ... `### END SOLUTION` region with the course stub (at the
BEGIN marker's indentation), replaces a solution cell without any region by the stub entirely, and
removes hidden-test regions. These rules check, before nbgrader runs, that what is left is still the
exercise: a function whose signature and docstring the student can read, with a body to write.
"""
from __future__ import annotations

import ast
from typing import Iterator

from ..course import CODE_STUB
from .findings import Finding
from .source import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, Cell, ModuleSource, Region,
                     parse_cell, scan_markers, solution_regions)

MIN_REGION_LINES, MAX_REGION_LINES = 5, 40
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def check_marker_balance(src: ModuleSource) -> Iterator[Finding]:
    """Every BEGIN has its END below it in the same cell, with no region inside another."""
    for cell in src.cells:
        for begin, end, what in ((BEGIN_SOLUTION, END_SOLUTION, "solution"), (BEGIN_HIDDEN, END_HIDDEN, "hidden-test")):
            _, problems = scan_markers(cell, begin, end)
            for problem in problems:
                line = cell.line_of(problem.offset)
                if problem.kind == "unclosed":
                    yield src.finding(cell, f"`### {begin}` has no `### {end}` below it in the cell; nbgrader would "
                                            f"stop the release ('no end {what.split('-')[0]} statement found')",
                                      f"add `### {end}` after the last line of the {what} region, at the same "
                                      "indentation as its BEGIN", line=line)
                elif problem.kind == "stray-end":
                    yield src.finding(cell, f"`### {end}` has no `### {begin}` above it in the cell",
                                      f"add `### {begin}` where the {what} region starts, or delete this line",
                                      line=line)
                else:
                    yield src.finding(cell, f"a second `### {begin}` opens before the {what} region above it is "
                                            "closed; nbgrader refuses nested regions",
                                      f"close the first region with `### {end}` before opening another", line=line)


def check_markers_in_marked_cells(src: ModuleSource) -> Iterator[Finding]:
    """nbgrader refuses solution markers outside solution cells and hidden tests outside graded cells."""
    for cell in src.cells:
        for offset, line in enumerate(cell.lines):
            if (BEGIN_SOLUTION in line or END_SOLUTION in line) and not cell.nbgrader.get("solution"):
                yield src.finding(cell, "a solution marker in a cell that is not a solution cell; nbgrader would "
                                        "stop the release ('Solution region detected in a non-solution cell')",
                                  'give the cell nbgrader metadata with "solution": true (an exercise), or remove '
                                  "the marker", line=cell.line_of(offset))
                break
            if (BEGIN_HIDDEN in line or END_HIDDEN in line) and not cell.nbgrader.get("grade"):
                yield src.finding(cell, "a hidden-test marker in a cell that is not graded; nbgrader would stop "
                                        "the release ('Hidden test region detected in a non-grade cell')",
                                  "move the hidden tests into the exercise's graded test cell",
                                  line=cell.line_of(offset))
                break


def check_exercise_has_region(src: ModuleSource) -> Iterator[Finding]:
    """A solution cell without a region is replaced whole by the stub: code, signatures, `#| export` and all."""
    for cell in src.cells:
        if cell.is_exercise and not any(BEGIN_SOLUTION in line for line in cell.lines):
            yield src.finding(cell, f"exercise {cell.grade_id!r} has no `### BEGIN SOLUTION` region, so nbgrader "
                                    "would replace the whole cell (signatures, docstrings and `#| export` "
                                    "included) with the stub",
                              "wrap the part the student writes in `### BEGIN SOLUTION` / `### END SOLUTION` "
                              'inside a function body, or set "solution": false')


def check_region_in_function_body(src: ModuleSource) -> Iterator[Finding]:
    """A region sits inside one function or method body, below the signature and the docstring."""
    for cell, tree, region in _parsed_regions(src):
        inside = _statements_inside(tree, region)
        if not inside:
            continue  # an empty region: the length rule reports it
        parents = _parents(tree)
        first = inside[0]
        where = f"the solution region (lines {cell.line_of(region.begin)}-{cell.line_of(region.end)})"
        defs = [node for node in inside if isinstance(node, (*FUNCTIONS, ast.ClassDef))]
        owner = _innermost(first, parents, FUNCTIONS)
        if owner is None or owner in inside:
            if defs:
                kind = "class" if isinstance(defs[0], ast.ClassDef) else "def"
                yield src.finding(cell, f"{where} contains `{kind} {defs[0].name}` (line "
                                        f"{cell.line_of(defs[0].lineno - 1)}): its signature and docstring would "
                                        "vanish from the student release", _move_below(defs[0]),
                                  line=cell.line_of(region.begin))
            else:
                holder = _innermost(first, parents, (ast.ClassDef,))
                place = f"in the body of class `{holder.name}`" if holder else "at module level"
                yield src.finding(cell, f"{where} is {place}, not inside a function body",
                                  "put the region inside the body of the function or method the student writes",
                                  line=cell.line_of(region.begin))
            continue
        if owner.lineno - 1 > region.begin or any(d.lineno - 1 > region.begin for d in owner.decorator_list):
            yield src.finding(cell, f"{where} starts above the signature of `{owner.name}`", _move_below(owner),
                              line=cell.line_of(region.begin))
        elif _docstring(owner) in inside:
            yield src.finding(cell, f"the docstring of `{owner.name}` is inside {where}: the student release "
                                    "would lose it", _move_below(owner), line=cell.line_of(region.begin))


def check_region_length(src: ModuleSource) -> Iterator[Finding]:
    """A region is 5-40 non-blank lines: long enough to be an exercise, short enough to be one step."""
    for cell in src.cells:
        if not cell.is_exercise:
            continue
        for region in solution_regions(cell):
            size = sum(1 for offset in region.body if cell.lines[offset].strip())
            if not MIN_REGION_LINES <= size <= MAX_REGION_LINES:
                yield src.finding(cell, f"the solution region has {size} non-blank line(s); the rule is "
                                        f"{MIN_REGION_LINES}-{MAX_REGION_LINES}",
                                  "leave more of the body to the student" if size < MIN_REGION_LINES else
                                  "split the work into two exercises, or keep the set-up outside the region",
                                  line=cell.line_of(region.begin))


def check_region_boundaries(src: ModuleSource) -> Iterator[Finding]:
    """Markers sit between whole statements, and the cell with its regions stubbed is still Python."""
    for cell, tree, region in _parsed_regions(src):
        cut = next((node for node in _statements(tree) if _cuts(cell, node, region)), None)
        if cut is None:
            cut = _first_of_another_block(tree, region)
        if cut is not None:
            yield src.finding(cell, f"the solution region (lines {cell.line_of(region.begin)}-"
                                    f"{cell.line_of(region.end)}) cuts through the `{_head(cell, cut)}` at line "
                                    f"{cell.line_of(cut.lineno - 1)}",
                              "put BEGIN and END at the same indentation, between whole statements of one block",
                              line=cell.line_of(region.begin))
    for cell in src.cells:
        if not cell.is_exercise or isinstance(parse_cell(cell.source), SyntaxError) or not solution_regions(cell):
            continue
        released = parse_cell(_stubbed(cell))
        if isinstance(released, SyntaxError):
            yield src.finding(cell, f"with its regions replaced by the stub, the cell is not valid Python: "
                                    f"{released.msg} (released cell line {released.lineno})",
                              "put each region inside a function body, its markers at the indentation of the body",
                              line=cell.header_line)


def _parsed_regions(src: ModuleSource) -> Iterator[tuple[Cell, ast.Module, Region]]:
    for cell in src.cells:
        regions = solution_regions(cell) if cell.cell_type == "code" else []
        if not regions:
            continue
        tree = parse_cell(cell.source)
        if isinstance(tree, SyntaxError):
            continue  # inline tests and export report syntax errors with their own message
        for region in regions:
            yield cell, tree, region


def _statements(tree: ast.AST) -> list[ast.stmt]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]


def _span(node: ast.stmt) -> tuple[int, int]:
    """First and last line of a statement, 0-based (decorators count as part of a definition)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first - 1, node.end_lineno - 1


def _statements_inside(tree: ast.Module, region: Region) -> list[ast.stmt]:
    inside = [n for n in _statements(tree) if region.begin < _span(n)[0] and _span(n)[1] < region.end]
    return sorted(inside, key=lambda n: (_span(n)[0], n.col_offset))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _cuts(cell: Cell, node: ast.stmt, region: Region) -> bool:
    first, last = _span(node)
    if last < region.begin or first > region.end or (region.begin < first and last < region.end):
        return False  # outside, or wholly inside
    if first < region.begin and hasattr(node, "body"):
        # A block that starts above the region encloses it when both markers are indented deeper than
        # the block's own line (trailing comments do not extend `end_lineno`, so `last` may be inside).
        deeper = min(_indent(cell.lines[region.begin]), _indent(cell.lines[region.end])) > node.col_offset
        return not deeper or region.begin < last < region.end and _continues_after(cell, node, region)
    return True


def _continues_after(cell: Cell, node: ast.stmt, region: Region) -> bool:
    """Whether code of the block `node` follows its END marker (then the region cut it in two)."""
    for offset in range(region.end + 1, len(cell.lines)):
        line = cell.lines[offset]
        if line.strip() and not line.lstrip().startswith("#"):
            return _indent(line) > node.col_offset and offset <= _span(node)[1]
    return False


def _first_of_another_block(tree: ast.Module, region: Region) -> ast.stmt | None:
    """The region's statements belong to one block (one body, else or handler list); else the compound
    statement whose block the region leaves (or, at the top level, the first statement outside it)."""
    inside = _statements_inside(tree, region)
    block = {child: (parent, name) for parent in ast.walk(tree) for name, value in ast.iter_fields(parent)
             if isinstance(value, list) for child in value if isinstance(child, ast.stmt)}
    top = [node for node in inside if block.get(node, (None,))[0] not in inside]
    for node in top[1:]:
        if block.get(node) != block.get(top[0]):
            owner = block[top[0]][0]
            return owner if isinstance(owner, ast.stmt) else node
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _innermost(node: ast.AST, parents: dict, kinds: tuple) -> ast.AST | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, kinds):
            return node
    return None


def _docstring(function: ast.AST) -> ast.stmt | None:
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _move_below(node: ast.AST) -> str:
    what = "signature and docstring" if _docstring(node) is not None else "signature"
    return f"move `### BEGIN SOLUTION` below the {what} of `{node.name}`, to the first line the student writes"


def _head(cell: Cell, node: ast.stmt) -> str:
    return cell.lines[node.lineno - 1].strip()[:60]


def _stubbed(cell: Cell) -> str:
    """The cell as nbgrader releases it: each region replaced by the stub at the BEGIN marker's indentation."""
    lines, out, inside = cell.lines, [], False
    for line in lines:
        if BEGIN_SOLUTION in line:
            inside = True
            out += [line[:_indent(line)] + stub for stub in CODE_STUB.split("\n")]
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)
