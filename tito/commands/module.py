"""`tito module list|test|export|complete N`."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ..console import err, out, print_json
from ..progress import load_progress
from ..project import discover_modules, find_root, resolve_module
from ..workflow import complete_module, export_module, test_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("module", help="work on one module: list, test, export, complete")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the modules and whether each is completed")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.set_defaults(run=run_list)
    for name, handler, text in (
        ("test", run_test, "run the module's inline tests and its tests/ folder"),
        ("export", run_export, "export the module source into nbs/ and tinytorch/"),
        ("complete", run_complete, "test, export, import-check, run its pytest folder, record progress"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("module", help="19, 19_benchmarking or benchmarking")
        action.add_argument("--json", action="store_true", help="print JSON for machines")
        if name == "complete":
            action.add_argument("--notebook", type=Path, default=None,
                                help="complete from your own notebook of the module instead of the source")
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
