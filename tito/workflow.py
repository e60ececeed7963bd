"""The module workflows behind `tito module ...` and `tito export`: plain functions returning data."""
from __future__ import annotations

from pathlib import Path

from .pipeline import (apply_export, declared_exports, exported_module_names, import_check, lint_or_raise,
                       notebook_text, plan_export, read_module_notebook, stale_generated_files)
from .progress import record_completion
from .project import Module, TitoError, discover_modules
from .runner import run_inline_tests, run_module_pytest
from .student import check_notebook_matches, run_notebook
from .validation import read_notebook_or_raise


def export_module(module: Module, notebook=None) -> dict:
    """Export the module source (or a student's `notebook` of it) into tinytorch/, then import-check."""
    plan = plan_export(module, notebook)
    written = apply_export(plan)
    names = exported_module_names(plan)
    import_check(module.root, names)
    return {"module": module.key, "written": written, "exports": names}


def test_module(module: Module) -> dict:
    """Inline tests, then the module's pytest folder against the package as it is."""
    inline = run_inline_tests(module)
    report = {"module": module.key, "inline": inline.__dict__ | {"summary": inline.summary()}}
    if not inline.passed:
        report["passed"] = False
        return report
    pytest = run_module_pytest(module)
    report["pytest"] = pytest.__dict__ | {"summary": pytest.summary()}
    report["passed"] = pytest.ok
    return report


def complete_module(module: Module, on_step=lambda name, detail: None, notebook_path: Path | None = None) -> dict:
    """lint -> test (inline) -> export -> import check -> pytest -> progress. Stops at the first failure.

    With `notebook_path` (a student's notebook of the module), that notebook is run in a kernel
    instead of the source, and its exported cells are what goes into `tinytorch/`.
    """
    report = {"module": module.key, "passed": False, "steps": []}

    def step(name: str, ok: bool, detail: str) -> bool:
        report["steps"].append({"step": name, "ok": ok, "detail": detail})
        on_step(name, (ok, detail))
        return ok

    notebook = None
    if notebook_path is not None:
        notebook = read_notebook_or_raise(notebook_path)
        check_notebook_matches(module, notebook)
        report["notebook"] = str(Path(notebook_path).resolve())
        inline = run_notebook(notebook_path, module.root)
        name = "notebook run"
    else:
        # The source is linted first: a mistake that would break export or release stops here, before any run.
        problem = _lint_problem(module)
        if not step("lint", problem is None, problem or "clean"):
            report["error"] = problem
            return report
        inline = run_inline_tests(module)
        name = "inline tests"
    if not step(name, inline.passed, inline.summary()):
        report["error"] = inline.summary()
        return report
    try:
        exported = export_module(module, notebook)
    except TitoError as error:
        step("export + import check", False, str(error))
        report["error"] = str(error)
        return report
    step("export + import check", True,
         f"{len(exported['exports'])} module(s) import cleanly; {len(exported['written'])} file(s) updated")
    pytest = run_module_pytest(module)
    if not step("pytest", pytest.ok, pytest.summary()):
        report["error"] = f"pytest: {pytest.summary()}"
        report["pytest_output"] = pytest.output_tail
        return report
    report["passed"] = True
    record_completion(module.root, module.key, {
        "inline_seconds": round(inline.seconds, 2), "pytest_passed": pytest.passed,
        "exports": exported["exports"], "notebook": report.get("notebook")})
    step("progress recorded", True, ".tito/progress.json")
    return report


def _lint_problem(module: Module) -> str | None:
    try:
        lint_or_raise(module)
    except TitoError as error:
        return str(error)
    return None


def check_export(root: Path) -> dict:
    """What regenerating every module would change, without writing anything."""
    changed: list[str] = []
    planned: set[str] = set()
    problems: list[str] = []
    for module in discover_modules(root):
        planned |= declared_exports(module)
        try:
            plan = plan_export(module)
        except TitoError as error:
            problems.append(str(error))
            continue
        planned |= set(plan.files)
        changed += plan.changed()
    stale = stale_generated_files(root, planned)
    return {"clean": not (changed or stale or problems), "changed": changed, "stale": stale,
            "problems": problems}


