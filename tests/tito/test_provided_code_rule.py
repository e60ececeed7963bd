"""Provided code never calls the code students write: it works in a student's package, where that is stubbed.

The static test reads every provided source's imports; the slow one runs Module 19's lesson (its
solutions) against a package whose Module 19 rooms are the release stubs, as a student's package is.
"""
import re
import shutil
import subprocess
import sys

import pytest

from tito.pipeline import EXPORT_TARGET, apply_export, plan_export, read_module_notebook
from tito.project import discover_modules, find_root, resolve_module

ROOT = find_root()
IMPORT = re.compile(r"^\s*from (tinytorch[\w.]*) import|^\s*import (tinytorch[\w.]*)", re.MULTILINE)


# Imports of a room with exercises that cannot reach a stub, each with the reason.
SAFE = {("utilities.py", "tinytorch.core.tensor"): "as_array only asks isinstance(output, Tensor) and reads .data",
        ("latency_workers.py", "tinytorch.benchmarking.timing"):
            "called only inside worker processes (Benchmark(processes=N)), never in the notebook's process; "
            "a worker whose calibration is still the stub says to run tito module complete 19"}


def lesson_rooms(module) -> set[str]:
    """The package modules a lesson with exercises writes: in a student's package their code is stubbed,
    or calls code that is (one room imports another), so none is safe for provided code to call."""
    text = module.source.read_text(encoding="utf-8")
    if '"solution": true' not in text:
        return set()
    return {"tinytorch." + name for name in EXPORT_TARGET.findall(text)}


@pytest.mark.parametrize("module", [m for m in discover_modules(ROOT) if m.provided_sources], ids=lambda m: m.key)
def test_provided_sources_import_no_room_students_write(module):
    rooms = lesson_rooms(module)
    for source in module.provided_sources:
        imported = {a or b for a, b in IMPORT.findall(source.read_text(encoding="utf-8"))}
        unsafe = sorted(name for name in imported & rooms if (source.name, name) not in SAFE)
        assert not unsafe, f"{source.name} imports {unsafe}, whose exercises are stubs in a student's package"


@pytest.mark.slow
def test_the_lesson_runs_against_a_package_of_stubs(tmp_path):
    from nbgrader.preprocessors import ClearSolutions

    from tito.course import CODE_STUB

    for rel in ("settings.ini", "modules", "tinytorch"):
        copy = shutil.copytree if (ROOT / rel).is_dir() else shutil.copy
        copy(ROOT / rel, tmp_path / rel, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                           if (ROOT / rel).is_dir() else {}))
    module = resolve_module(tmp_path, "19")
    released, _ = ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(read_module_notebook(module.source), {})
    apply_export(plan_export(module, released))
    assert "raise NotImplementedError" in (tmp_path / "tinytorch/benchmarking/statistics.py").read_text()
    run = subprocess.run([sys.executable, str(ROOT / module.source.relative_to(tmp_path))], cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]


def test_modules_depend_only_on_modules_before_them():
    from tito.pipeline import declared_exports

    modules = discover_modules(ROOT)
    owner = {rel[:-3].replace("/", "."): module for module in modules for rel in declared_exports(module)}
    for module in modules:
        for source in module.sources:
            for a, b in IMPORT.findall(source.read_text(encoding="utf-8")):
                name = a or b
                target = owner.get(name)
                assert target is not None or name in ("tinytorch", "tinytorch.utils"), f"{source}: {name} is no room"
                if target is not None:
                    assert int(target.number) <= int(module.number), \
                        f"{source.relative_to(ROOT)} imports {name} of the later module {target.key}"


def test_generated_code_imports_the_package_relatively():
    """nbdev makes `from tinytorch.x import y` relative; it misses a multi-line import whose last line is
    shorter than its `from` part (nbdev 2.4.14 slices the first line at the last line's end column)."""
    absolute = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "tinytorch").rglob("*.py"))
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                if line.startswith("from tinytorch")]
    assert not absolute, f"write these imports so that their last line is longer: {absolute}"
