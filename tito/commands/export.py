"""`tito export [--check]`: regenerate every module, or report what regenerating would change."""
from __future__ import annotations

from ..console import err, out, print_json
from ..project import discover_modules, find_root
from ..workflow import check_export, export_module


def register(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export every module; --check only reports differences")
    parser.add_argument("--check", action="store_true", help="exit 1 if exporting would change nbs/ or tinytorch/")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=run)


def run(args) -> int:
    root = find_root()
    if args.check:
        report = check_export(root)
        if args.json:
            print_json(report)
        elif report["clean"]:
            out.print("export is up to date: regenerating would change nothing")
        else:
            for problem in report["problems"]:
                err.print(problem, markup=False)
            for rel in report["changed"]:
                err.print(f"out of date: {rel} (run `tito export` and commit the result)", markup=False)
            for rel in report["stale"]:
                err.print(f"stale generated file: {rel} (no source under modules/ produces it any more: its module "
                          "or source was removed, renamed or moved; delete the file, or restore the source)",
                          markup=False)
        return 0 if report["clean"] else 1
    reports = [export_module(module) for module in discover_modules(root)]
    if args.json:
        print_json(reports)
    else:
        for report in reports:
            out.print(f"{report['module']}: {len(report['written'])} file(s) written", markup=False)
    return 0
