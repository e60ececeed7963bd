"""`tito release N --out DIR`: the student course of module N (its notebook with solutions replaced by the
course stub, and a tinytorch package in which this module and the later ones are stubs)."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ..console import out, print_json
from ..project import find_root, resolve_module
from ..release import release_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("release", help="write the student course of a module (nbgrader release)")
    parser.add_argument("module", help="19, 19_benchmarking or benchmarking")
    parser.add_argument("--out", required=True, type=Path,
                        help="folder to write the course <module_key>/ into (its <name>_dev.ipynb, tinytorch/, ...)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=run)


def run(args) -> int:
    module = resolve_module(find_root(), args.module)
    report = release_module(module, args.out)
    if args.json:
        print_json(report)
        return 0
    out.print(f"{module.key}: student course written to {report['course']} (notebook {report['notebook']}; "
              f"its tinytorch has the release stubs of {', '.join(report['stubbed_modules'])})", markup=False)
    table = Table("cell", "kind", "points")
    for exercise in report["exercises"]:
        table.add_row(exercise["grade_id"], f"exercise ({exercise['cell_type']})", "")
    for test in report["graded_cells"]:
        table.add_row(test["grade_id"], "graded test", f"{test['points']:g}")
    out.print(table)
    out.print(f"{len(report['exercises'])} exercise(s), {report['max_score']:g} point(s) in graded cells")
    return 0
