"""The course's nbgrader configuration, committed as code, and the environment nbgrader runs in.

Everything nbgrader needs is built here: no `nbgrader_config.py` is looked up anywhere, so the same
settings apply on every machine. Notebooks run in the `tito-grader` kernel (see `tito.grading_kernel`),
which limits memory and refuses writes outside the notebook's folder.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .project import Module, TitoError

KERNEL_NAME = "tito-grader"
# The course-wide stub that replaces every solution region in the student release.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
# Student ids become folder names and gradebook keys: keep them to a portable set.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class CourseSettings:
    """Knobs of the grading setup. The defaults are the course's; tests shrink the limits.

    Attributes:
        cell_timeout: seconds one cell may run before it is interrupted and scored as failed.
        memory_limit_bytes: address-space limit of the grading kernel (resource.RLIMIT_AS).
        allow_subprocesses: whether notebook code may start programs (they escape the write guard).
    """

    cell_timeout: int = 60
    memory_limit_bytes: int = 3 * 1024**3
    allow_subprocesses: bool = False

    def __post_init__(self):
        if self.cell_timeout < 1:
            raise TitoError(f"cell_timeout must be at least 1 s, got {self.cell_timeout}", 2)
        if self.memory_limit_bytes < 256 * 1024**2:
            raise TitoError(f"memory_limit_bytes must be at least 256 MiB, got {self.memory_limit_bytes}", 2)


def assignment_id(module: Module) -> str:
    """The nbgrader assignment of a module is the module key, e.g. `01_tensor`."""
    return module.key


def notebook_name(module: Module) -> str:
    """The file name students see and submit, e.g. `tensor_dev.ipynb`."""
    return f"{module.name}_dev.ipynb"


def nbgrader_config(course_root: Path, settings: CourseSettings):
    """The traitlets Config for a course folder: stub, timeouts, kernel, missing-cell policy."""
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = f"sqlite:///{Path(course_root) / 'gradebook.db'}"
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.ClearSolutions.text_stub = TEXT_STUB
    config.Execute.timeout = settings.cell_timeout
    config.Execute.kernel_name = KERNEL_NAME
    config.Execute.interrupt_on_timeout = True
    # A deleted graded cell scores 0 and is flagged. nbgrader 0.9.6 can restore it
    # (OverwriteCells.add_missing_cells) but then crashes on any nbgrader cell without a grade_id.
    config.OverwriteCells.add_missing_cells = False
    # One stray data file in a submission folder must not be copied around or graded.
    config.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    # Feedback pages colour only the graded and solution cells (see tito.feedback: ~6x faster).
    config.HTMLExporter.filters = {"highlight_code": "tito.feedback.GradedCellHighlighter"}
    return config


def nbgrader_api(course_root: Path, settings: CourseSettings):
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(config=nbgrader_config(course_root, settings))
    api.log.setLevel("ERROR")  # its warnings are returned in each call's captured log
    return api


def ensure_gradebook(course_root: Path) -> str:
    """Create `course_root/gradebook.db` the way nbgrader does, but in-process; return its URL.

    nbgrader stamps a new gradebook with the alembic head it gets by running the `alembic heads`
    program, which costs ~3 s a course. The head is read here from nbgrader's own migration scripts;
    an existing gradebook is left as it is.
    """
    db = Path(course_root) / "gradebook.db"
    url = f"sqlite:///{db}"
    if db.exists():
        return url
    import nbgrader
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    head = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()
    db.parent.mkdir(parents=True, exist_ok=True)
    scratch = db.with_name(f".{db.name}.tmp")
    scratch.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{scratch}", future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()
    os.replace(scratch, db)
    return url


def kernel_env(project_root: Path) -> dict[str, str]:
    """What the grading kernel's environment adds: the project first on the path (its tinytorch), then
    the folder holding this tito (the kernel launcher); plots without a screen; no bytecode files."""
    tito_home = str(Path(__file__).resolve().parent.parent)
    paths = [str(project_root), tito_home, os.environ.get("PYTHONPATH")]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
            "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def write_kernelspec(folder: Path, project_root: Path, settings: CourseSettings,
                     provisioner: str | None = None) -> Path:
    """A kernelspec `tito-grader` under `folder/kernels/`: our interpreter, the sandbox launcher.

    `provisioner` names a jupyter_client kernel provisioner (see `tito.kernel_zygote`); None for the
    default, a subprocess per kernel.
    """
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "tito.grading_kernel",
            "--memory-limit", str(settings.memory_limit_bytes)]
    if settings.allow_subprocesses:
        argv.append("--allow-subprocesses")
    argv += ["-f", "{connection_file}"]
    metadata = {"debugger": False}
    if provisioner:
        metadata["kernel_provisioner"] = {"provisioner_name": provisioner}
    spec = {"argv": argv, "display_name": "TinyTorch grader (sandboxed Python)", "language": "python",
            "env": kernel_env(project_root), "metadata": metadata}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


def _say_kernels_are_fresh(error: Exception) -> None:
    print(f"tito: warm grading kernels unavailable ({error}); starting a fresh kernel per student", file=sys.stderr)


class KernelStart:
    """How grading kernels start: forked from a warm zygote once `ready()` says so, else fresh processes."""

    def __init__(self, zygote=None):
        self.zygote = zygote

    def ready(self) -> bool:
        """Wait for the zygote (if any) and route new kernels through it; False means fresh processes."""
        from . import kernel_zygote

        if self.zygote is None:
            return False
        try:
            os.environ[kernel_zygote.ZYGOTE_ENV] = self.zygote.wait_ready()
            return True
        except RuntimeError as error:
            # Without the variable the provisioner starts each kernel as a fresh process: slower, same grades.
            self.zygote = None
            _say_kernels_are_fresh(error)
            return False


@contextlib.contextmanager
def grading_environment(project_root: Path, settings: CourseSettings, warm_kernels: bool = False):
    """Set up, for the duration of the block, what nbgrader and the kernel need from the process.

    - the venv's `bin/` on PATH: nbgrader runs `alembic` by name when it creates a gradebook;
    - JUPYTER_PATH pointing at a scratch kernelspec for the sandboxed kernel;
    - IN_TEST removed (nbdev exports nothing when it is set);
    - with `warm_kernels`, a kernel zygote (see `tito.kernel_zygote`) starts importing at once, when its
      provisioner is installed (the project installed with pip).

    Yields a `KernelStart`: call its `ready()` before the first kernel is needed (it waits for the
    zygote; until then, and if it fails, kernels are fresh processes).
    """
    from . import kernel_zygote

    saved = {key: os.environ.get(key) for key in ("PATH", "JUPYTER_PATH", "IN_TEST", kernel_zygote.ZYGOTE_ENV)}
    with tempfile.TemporaryDirectory(prefix="tito-kernel-") as scratch, contextlib.ExitStack() as stack:
        warm = warm_kernels and kernel_zygote.provisioner_installed()
        write_kernelspec(Path(scratch), project_root, settings,
                         provisioner=kernel_zygote.PROVISIONER_NAME if warm else None)
        venv_bin = str(Path(sys.executable).parent)
        os.environ["PATH"] = os.pathsep.join(filter(None, [venv_bin, saved["PATH"]]))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [scratch, saved["JUPYTER_PATH"]]))
        os.environ.pop("IN_TEST", None)
        os.environ.pop(kernel_zygote.ZYGOTE_ENV, None)
        kernels = KernelStart()
        if warm:
            try:
                kernels.zygote = stack.enter_context(kernel_zygote.running_zygote(Path(scratch),
                                                                                  kernel_env(project_root)))
            except OSError as error:
                _say_kernels_are_fresh(error)
        try:
            yield kernels
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
