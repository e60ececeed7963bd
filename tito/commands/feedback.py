"""`tito feedback N --out DIR`: (re)write every autograded student's feedback page from the gradebook."""
from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..console import err, out, print_json
from ..grading import feedback_module
from ..project import find_root, resolve_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("feedback", help="write feedback pages of a graded course (after manual grading)")
    parser.add_argument("module", help="19, 19_benchmarking or benchmarking")
    parser.add_argument("--out", required=True, type=Path, help="the grading folder `tito grade` wrote")
    parser.add_argument("--jobs", type=int, default=None, help="pages written at once (default: cores, max 4)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=run)


def run(args) -> int:
    module = resolve_module(find_root(), args.module)
    progress = Progress(TextColumn("feedback {task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=args.json, transient=False)
    task = progress.add_task(module.key, total=None)
    with progress:
        report = feedback_module(module, args.out, jobs=args.jobs,
                                 on_start=lambda total: progress.update(task, total=total),
                                 on_student=lambda row: progress.advance(task))
    missing = [row for row in report["rows"] if not row["feedback"]]
    if args.json:
        print_json(report)
        return 1 if missing else 0
    table = Table("student", "feedback page", title=f"{module.key} feedback")
    for row in report["rows"]:
        table.add_row(Text(row["student"]), Text(row["feedback"] or row["note"], style="" if row["feedback"] else "red"))
    out.print(table)
    out.print(f"{len(report['rows']) - len(missing)} page(s) written, {len(missing)} missing, "
              f"in {report['seconds']:.1f} s", markup=False)
    return 1 if missing else 0
