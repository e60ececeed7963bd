"""`tito system doctor`: what is installed, what is missing, and how to fix each missing piece."""
from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from rich.table import Table

from ..console import out, print_json

INSTALL = "pip install -e '.[dev,grading]' (or `make install`)"
# The toolchain set that works together (see README); the rest only needs to be present.
REQUIREMENTS = [
    ("numpy", "numpy>=1.26"), ("scipy", "scipy>=1.11"), ("pandas", "pandas>=2.1"),
    ("matplotlib", "matplotlib>=3.8"), ("psutil", "psutil>=5.9"), ("rich", "rich>=13"),
    ("threadpoolctl", "threadpoolctl>=3.2"), ("jupytext", "jupytext==1.19.*"), ("nbdev", "nbdev==2.4.14"),
    ("execnb", "execnb==0.1.18"), ("fastcore", "fastcore<2"), ("nbgrader", "nbgrader==0.9.6"),
    ("nbclient", "nbclient>=0.10"), ("ipykernel", "ipykernel>=6.29"), ("pytest", "pytest>=8"),
    ("hypothesis", "hypothesis>=6.100"),
]


def register(subparsers) -> None:
    parser = subparsers.add_parser("system", help="check the machine")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    doctor = actions.add_parser("doctor", help="Python, packages, Jupyter kernel, nbgrader's alembic")
    doctor.add_argument("--json", action="store_true", help="print JSON for machines")
    doctor.set_defaults(run=run_doctor)


def diagnose() -> list[dict]:
    checks = []
    ok_python = sys.version_info >= (3, 11)
    checks.append({"check": "python", "ok": ok_python, "found": sys.version.split()[0],
                   "fix": None if ok_python else "use Python 3.11 or newer"})
    for dist, spec in REQUIREMENTS:
        requirement = Requirement(spec)
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            checks.append({"check": dist, "ok": False, "found": "missing", "fix": f"{INSTALL}; wants {spec}"})
            continue
        fits = requirement.specifier.contains(version, prereleases=True)
        checks.append({"check": dist, "ok": fits, "found": version,
                       "fix": None if fits else f"pip install '{spec}' (found {version})"})
    checks.append(_kernel_check())
    checks.append(_warm_kernel_check())
    # tito puts this interpreter's bin/ on PATH for nbgrader itself; alembic must be there.
    venv_bin = Path(sys.executable).parent
    alembic = shutil.which("alembic", path=str(venv_bin)) or shutil.which("alembic")
    checks.append({"check": "alembic (nbgrader gradebook)", "ok": alembic is not None,
                   "found": alembic or f"not in {venv_bin} nor on PATH",
                   "fix": None if alembic else f"{INSTALL} (alembic comes with nbgrader)"})
    return checks


def _kernel_check() -> dict:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        return {"check": "jupyter kernel python3", "ok": False, "found": "jupyter_client missing", "fix": INSTALL}
    specs = KernelSpecManager().find_kernel_specs()
    found = "python3" in specs
    return {"check": "jupyter kernel python3", "ok": found, "found": specs.get("python3", "none"),
            "fix": None if found else "python -m ipykernel install --sys-prefix"}


def _warm_kernel_check() -> dict:
    """`tito grade` forks kernels from a warm process when its provisioner is registered (an entry point)."""
    from .. import kernel_zygote

    found = kernel_zygote.provisioner_installed()
    return {"check": "warm grading kernels (tito grade)", "ok": found,
            "found": kernel_zygote.PROVISIONER_NAME if found else "provisioner not registered",
            "fix": None if found else f"{INSTALL}: registers it; without it grading is slower, not different"}


def run_doctor(args) -> int:
    checks = diagnose()
    healthy = all(c["ok"] for c in checks)
    if args.json:
        print_json({"healthy": healthy, "checks": checks})
    else:
        table = Table("check", "status", "found", "fix")
        for c in checks:
            table.add_row(c["check"], "[green]ok[/]" if c["ok"] else "[red]missing[/]", str(c["found"]),
                          c["fix"] or "")
        out.print(table)
        out.print("all good" if healthy else "some pieces are missing: see the fix column")
    return 0 if healthy else 1
