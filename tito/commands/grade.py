"""`tito grade N SUBMISSIONS --out DIR`: autograde every student, write feedback and grades.csv."""
from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..console import err, out, print_json
from ..course import CourseSettings
from ..grading import grade_module
from ..project import find_root, resolve_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("grade", help="autograde submissions: feedback and a grades CSV")
    parser.add_argument("module", help="19, 19_benchmarking or benchmarking")
    parser.add_argument("submissions", type=Path, help="folder holding <student>/<name>_dev.ipynb")
    parser.add_argument("--out", required=True, type=Path,
                        help="the grading folder (nbgrader course): feedback/, gradebook.db, grades.csv")
    parser.add_argument("--jobs", type=int, default=None, help="students graded at once (default: cores, max 4)")
    parser.add_argument("--cell-timeout", type=int, default=CourseSettings.cell_timeout,
                        help="seconds a cell may run before it is interrupted (default: %(default)s)")
    parser.add_argument("--memory-limit-mb", type=int, default=CourseSettings.memory_limit_bytes // 2**20,
                        help="memory cap of each grading kernel in MiB (default: %(default)s)")
    parser.add_argument("--notebook-timeout", type=int, default=CourseSettings.notebook_timeout,
                        help="seconds a whole notebook may run; later cells fail (default: %(default)s)")
    parser.add_argument("--output-limit-kb", type=int, default=CourseSettings.output_limit_bytes // 1024,
                        help="output kept per cell, in KiB of text (default: %(default)s)")
    parser.add_argument("--scratch-limit-mb", type=int, default=CourseSettings.scratch_limit_bytes // 2**20,
                        help="size of a kernel's only writable folder, in MiB (default: %(default)s)")
    parser.add_argument("--max-processes", type=int, default=CourseSettings.max_processes,
                        help="processes and threads a kernel may run at once (default: %(default)s)")
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                        help="grade without the OS sandbox (trusted submissions only; grades.csv says so)")
    parser.add_argument("--no-feedback", dest="feedback", action="store_false",
                        help="autograde only; write the pages later with `tito feedback` (e.g. after manual grading)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=run)


def run(args) -> int:
    module = resolve_module(find_root(), args.module)
    settings = CourseSettings(cell_timeout=args.cell_timeout, memory_limit_bytes=args.memory_limit_mb * 2**20,
                              notebook_timeout=args.notebook_timeout, output_limit_bytes=args.output_limit_kb * 1024,
                              scratch_limit_bytes=args.scratch_limit_mb * 2**20, max_processes=args.max_processes,
                              sandbox=args.sandbox)
    if not settings.sandbox:
        err.print("tito grade: --no-sandbox: notebooks run with the rights of this user; grade only "
                  "submissions you trust", markup=False)
    progress = Progress(TextColumn("grading {task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=args.json, transient=False)
    task = progress.add_task(module.key, total=None)
    with progress:
        report = grade_module(module, args.submissions, args.out, settings, jobs=args.jobs, feedback=args.feedback,
                              on_start=lambda total: progress.update(task, total=total),
                              on_student=lambda grade: progress.advance(task))
    problems = [g for g in report["grades"] if g["status"] != "graded"]
    if args.json:
        print_json(report)
        return 1 if problems else 0
    table = Table("student", "score", "status", "failed tests", "flags / note", title=f"{module.key} grades")
    for grade in report["grades"]:
        score = "" if grade["score"] is None else f"{grade['score']:g} / {grade['max_score']:g}"
        color = {"graded": "green", "skipped": "yellow"}.get(grade["status"], "red")
        notes = "; ".join(filter(None, ["; ".join(grade["flags"]), grade["note"]]))
        table.add_row(Text(grade["student"]), score, Text(grade["status"], style=color),
                      ", ".join(grade["failed_tests"]), Text(notes))
    out.print(table)
    out.print(f"{report['graded']} graded, {len(problems)} skipped or failed, in {report['seconds']:.1f} s "
              f"({report['jobs']} at a time, kernels {report['kernels']}); "
              f"grades: {report['grades_csv']}; feedback: "
              f"{Path(report['course']) / 'feedback' if report['feedback'] else 'not written (tito feedback)'}",
              markup=False)
    return 1 if problems else 0
