"""`tito module list|test|export|complete|lint|tasks N`."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ..console import err, out, print_json
from ..fileio import write_text_atomic
from ..lint import lint, read_module_source
from ..lint.renumber import renumber
from ..lint.tasks import task_rows
from ..progress import load_progress
from ..project import discover_modules, find_root, require_source, resolve_module
from ..workflow import complete_module, export_module, test_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("module", help="work on one module: list, test, export, complete, lint, tasks")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the modules and whether each is completed")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.set_defaults(run=run_list)
    for name, handler, text in (
        ("test", run_test, "run the module's inline tests and its tests/ folder"),
        ("export", run_export, "export the module source into nbs/ and tinytorch/"),
        ("complete", run_complete, "test, export, import-check, run its pytest folder, record progress"),
        ("lint", run_lint, "check the source for everything export and release depend on"),
        ("tasks", run_tasks, "list the exercises: Task NN.k, grade_id, points, marked pytest tests"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("module", help="19, 19_benchmarking or benchmarking")
        action.add_argument("--json", action="store_true", help="print JSON for machines")
        if name == "complete":
            action.add_argument("--notebook", type=Path, default=None,
                                help="complete from your own notebook of the module instead of the source")
        if name == "lint":
            action.add_argument("--renumber", action="store_true",
                                help="rewrite task numbers (briefs, `# Task` comments, references) in file order")
            action.add_argument("--list", action="store_true", help="also list the tasks (as `tito module tasks`)")
        action.set_defaults(run=handler)


def run_list(args) -> int:
    root = find_root()
    done = load_progress(root)["modules"]
    rows = [{"module": m.key, "source": m.source.relative_to(root).as_posix(),
             "completed": m.key in done, "completed_at": done.get(m.key, {}).get("completed_at")}
            for m in discover_modules(root)]
    if args.json:
        print_json(rows)
        return 0
    table = Table("module", "source", "completed")
    for row in rows:
        table.add_row(row["module"], row["source"], row["completed_at"] or "no")
    out.print(table)
    return 0


def run_test(args) -> int:
    module = resolve_module(find_root(), args.module)
    report = test_module(module)
    if args.json:
        print_json(report)
    else:
        out.print(f"{module.key}: {report['inline']['summary']}")
        if "pytest" in report:
            out.print(f"{module.key}: pytest: {report['pytest']['summary']}")
        if not report["passed"]:
            _print_tail(report.get("pytest", report["inline"])["output_tail"])
    return 0 if report["passed"] else 1


def run_export(args) -> int:
    module = resolve_module(find_root(), args.module)
    report = export_module(module)
    if args.json:
        print_json(report)
    else:
        written = ", ".join(report["written"]) or "nothing changed"
        out.print(f"{module.key}: exported {', '.join(report['exports'])}; written: {written}")
    return 0


def run_complete(args) -> int:
    module = resolve_module(find_root(), args.module)

    def show(name, result):
        ok, detail = result
        if not args.json:
            mark = "[green]ok[/]  " if ok else "[red]FAIL[/]"
            out.print(f"{mark} {name}: {detail}")

    report = complete_module(module, on_step=show, notebook_path=args.notebook)
    if args.json:
        print_json(report)
    elif report["passed"]:
        out.print(f"[bold green]{module.key} completed[/]")
    else:
        _print_tail(report.get("pytest_output", ""))
        err.print(f"[bold red]{module.key} not completed:[/] {report['error']}")
    return 0 if report["passed"] else 1


def _print_tail(text: str) -> None:
    if text.strip():
        err.print(text.strip()[-3000:], markup=False)


def run_lint(args) -> int:
    module = resolve_module(find_root(), args.module)
    src = read_module_source(require_source(module), module.tests_dir)
    changes, notes = [], []
    if args.renumber:
        text, changes, notes = renumber(src)
        if changes:
            write_text_atomic(module.source, text)
            src = read_module_source(module.source, module.tests_dir)
    findings = lint(src)
    if args.json:
        print_json({"module": module.key, "clean": not findings, "findings": [f.as_dict() for f in findings],
                    "renumbered": [str(c) for c in changes], "notes": notes,
                    **({"tasks": task_rows(src)} if args.list else {})})
        return 0 if not findings else 1
    shown = module.source.relative_to(module.root)
    for change in changes:
        out.print(f"renumbered {shown}:{change}", markup=False)
    for note in notes:
        err.print(f"note: {note}", markup=False)
    if args.list:
        _print_tasks(module, src)
    for finding in findings:
        err.print(str(finding), markup=False)
    if findings:
        err.print(f"{module.key}: {len(findings)} lint finding(s)", markup=False)
        return 1
    out.print(f"{module.key}: lint clean ({len(src.exercises)} exercise(s), {len(src.questions)} written "
              "answer(s))", markup=False)
    return 0


def run_tasks(args) -> int:
    module = resolve_module(find_root(), args.module)
    src = read_module_source(require_source(module), module.tests_dir)
    if args.json:
        print_json(task_rows(src))
    else:
        _print_tasks(module, src)
    return 0


def _print_tasks(module, src) -> None:
    """One line per task (a table would cut the long test names), its marked tests below it."""
    source = module.source.relative_to(module.root).as_posix()
    rows = task_rows(src)
    out.print(f"{module.key}: {len(src.exercises)} task(s) and {len(src.questions)} written answer(s), in file order",
              markup=False)
    for row in rows:
        points = "no points" if row["points"] is None else f"{row['points']:g} point(s)"
        out.print(f"{row['task']:<10} {row['grade_id'] or '(no grade_id)':<40} {points:<12} {source}:{row['line']}",
                  markup=False)
        for test in row["tests"] or ["no marked pytest test"]:
            out.print(f"    {test}", markup=False)
