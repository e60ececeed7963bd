"""`tito validate NOTEBOOK`: run a notebook as the grader would and say what fails, where and why."""
from __future__ import annotations

from pathlib import Path

from ..console import err, out, print_json
from ..project import find_root
from ..validation import validate_notebook


def register(subparsers) -> None:
    parser = subparsers.add_parser("validate", help="run a notebook and report its failing graded tests")
    parser.add_argument("notebook", type=Path, help="the notebook to check, e.g. tensor_dev.ipynb")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=run)


def run(args) -> int:
    report = validate_notebook(args.notebook, find_root())
    if args.json:
        print_json(report)
        return 0 if report["passed"] else 1
    for cell in report["broken_cells"]:
        line = f", line {cell['line']}" if cell["line"] else ""
        err.print(f"[red]ERROR[/] in your cell {cell['grade_id']} (cell {cell['cell']}{line}): {cell['message']}; "
                  "the tests after it fail because of it", markup=True, highlight=False)
    for cell in report["changed"]:
        err.print(f"[red]changed[/] locked cell {cell['grade_id']}: the grader restores the original, "
                  "so your edits there do not count", markup=True, highlight=False)
    for cell in report["failed"]:
        where = f" line {cell['line']}: {cell['source']}" if cell["line"] and cell["source"] else ""
        err.print(f"[red]FAIL[/] {cell['grade_id']} ({cell['points']:g} point(s)):{where} -> {cell['message']}",
                  markup=True, highlight=False)
    for answer in report["unanswered"]:
        err.print(f"[yellow]unanswered[/] {answer['grade_id']} ({answer['points']:g} point(s), graded by hand)",
                  markup=True, highlight=False)
    if report["passed"]:
        out.print(f"{report['notebook']}: all {report['graded_cells']} graded test cell(s) pass", markup=False)
    else:
        err.print(f"{report['notebook']}: {len(report['failed'])} of {report['graded_cells']} graded test "
                  f"cell(s) fail; {len(report['changed'])} locked cell(s) changed", markup=False)
    return 0 if report["passed"] else 1
