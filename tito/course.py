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


# A grading kernel forked from the warm process needs the address space the warm process has mapped
# (its imports: 423-496 MiB here, more on machines with many cores, where BLAS starts more threads)
# plus what starting ipykernel adds (its threads' stacks and malloc arenas) and a first cell: 330-403
# MiB measured here by bench/kernel_memory_floor.py (smallest working cap 826 MiB). 576 MiB leaves room
# for a module's own imports. `tito grade` refuses a cap below the warm process's own size plus this,
# before any student runs.
KERNEL_START_BYTES = 576 * 2**20
MIN_MEMORY_BYTES = 512 * 2**20  # below this not even a fresh kernel starts (300 MiB failed, 512 MiB worked)


def memory_floor_message(limit: int, floor: int) -> str:
    return (f"--memory-limit-mb {limit // 2**20} is below the {-(-floor // 2**20)} MiB a grading kernel needs to "
            f"start on this machine (measured; with less every student would score 0, error); give at least "
            f"{-(-floor // 2**20)}")


@dataclass(frozen=True)
class CourseSettings:
    """Knobs of the grading setup. The defaults are the course's; tests shrink the limits.

    Attributes:
        cell_timeout: seconds one cell may run before it is interrupted and scored as failed.
        memory_limit_bytes: address-space limit of each grading kernel (resource.RLIMIT_AS).
        allow_subprocesses: whether notebook code may start programs (the write guard cannot follow them).
        notebook_timeout: seconds the whole notebook may run; cells after it are scored as failed.
        output_limit_bytes: characters one cell may print; the rest is dropped with a note.
        scratch_limit_bytes: size of a sandboxed kernel's only writable folder (a tmpfs).
        max_processes: processes and threads a sandboxed kernel may have at once (RLIMIT_NPROC).
        sandbox: grade inside the OS sandbox (tito.sandbox); False only for trusted submissions.
    """

    cell_timeout: int = 60
    memory_limit_bytes: int = 3 * 1024**3
    allow_subprocesses: bool = False
    notebook_timeout: int = 600
    output_limit_bytes: int = 2**20
    scratch_limit_bytes: int = 256 * 2**20
    max_processes: int = 128
    sandbox: bool = True

    def __post_init__(self):
        if self.cell_timeout < 1:
            raise TitoError(f"cell_timeout must be at least 1 s, got {self.cell_timeout}", 2)
        if self.notebook_timeout < 1:
            raise TitoError(f"--notebook-timeout must be at least 1 s, got {self.notebook_timeout}", 2)
        if self.memory_limit_bytes < MIN_MEMORY_BYTES:
            raise TitoError(memory_floor_message(self.memory_limit_bytes, MIN_MEMORY_BYTES), 2)
        if self.output_limit_bytes < 1024:
            raise TitoError(f"--output-limit-kb must be at least 1, got {self.output_limit_bytes} bytes", 2)
        if self.scratch_limit_bytes < 2**20:
            raise TitoError(f"--scratch-limit-mb must be at least 1, got {self.scratch_limit_bytes} bytes", 2)
        if self.max_processes < 32:
            raise TitoError(f"--max-processes must be at least 32 (a kernel runs ~10 threads), got "
                            f"{self.max_processes}", 2)

    def kernel_limits(self):
        from .isolation import KernelLimits

        # CPU seconds: a notebook that used its whole time limit on two threads at once still fits.
        return KernelLimits(memory_bytes=self.memory_limit_bytes, output_bytes=self.output_limit_bytes,
                            processes=self.max_processes, cpu_seconds=2 * self.notebook_timeout,
                            scratch_bytes=self.scratch_limit_bytes, allow_subprocesses=self.allow_subprocesses)


def assignment_id(module: Module) -> str:
    """The nbgrader assignment of a module is the module key, e.g. `01_tensor`."""
    return module.key


def notebook_name(module: Module) -> str:
    """The file name students see and submit, e.g. `tensor_dev.ipynb`."""
    return f"{module.name}_dev.ipynb"


def nbgrader_config(course_root: Path, settings: CourseSettings, release_notebook: Path | None = None):
    """The traitlets Config for a course folder: stub, timeouts, kernel, missing-cell policy, and the
    course's executor (`tito.executor`) and feedback pages (`tito.feedback`).

    `release_notebook`: the release, whose non-solution cells the executor runs as written.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)
    from traitlets.config import Config

    from .executor import GradingExecute
    from .feedback import TEMPLATES, MarkPendingGrades

    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = f"sqlite:///{Path(course_root) / 'gradebook.db'}"
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.ClearSolutions.text_stub = TEXT_STUB
    config.Execute.timeout = settings.cell_timeout
    config.Execute.kernel_name = KERNEL_NAME
    config.Execute.interrupt_on_timeout = True
    config.Execute.error_on_timeout = {"ename": "CellTimeoutError", "evalue": f"the cell ran longer than "
                                       f"{settings.cell_timeout} s and was interrupted", "traceback": []}
    config.GradingExecute.notebook_timeout = settings.notebook_timeout
    config.GradingExecute.output_limit = settings.output_limit_bytes
    config.GradingExecute.release_path = str(release_notebook or "")
    config.Autograde.autograde_preprocessors = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    # A deleted graded cell scores 0 and is flagged. nbgrader 0.9.6 can restore it
    # (OverwriteCells.add_missing_cells) but then crashes on any nbgrader cell without a grade_id.
    config.OverwriteCells.add_missing_cells = False
    # One stray data file in a submission folder must not be copied around or graded.
    config.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    # Feedback pages colour only the graded and solution cells (see tito.feedback: ~6x faster).
    config.HTMLExporter.filters = {"highlight_code": "tito.feedback.GradedCellHighlighter"}
    import nbgrader

    # nbgrader's API insists on the template name `feedback`: ours is a file of a folder of that name,
    # found first, that extends nbgrader's page (tito/feedback_templates/feedback/page.html.j2).
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.template_file = "page.html.j2"
    config.HTMLExporter.extra_template_basedirs = [
        str(TEMPLATES), str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]
    config.GenerateFeedback.preprocessors = [GetGrades, MarkPendingGrades, CSSHTMLHeaderPreprocessor]
    config.GenerateFeedback.exporter_class = "tito.feedback.FeedbackHTMLExporter"
    return config


def nbgrader_api(course_root: Path, settings: CourseSettings, release_notebook: Path | None = None):
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(config=nbgrader_config(course_root, settings, release_notebook))
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


def kernel_env(package_root: Path) -> dict[str, str]:
    """What an unsandboxed grading kernel's environment adds: the package it imports first on the path,
    then the folder holding this tito (the kernel launcher); plots without a screen; no bytecode files."""
    tito_home = str(Path(__file__).resolve().parent.parent)
    paths = [str(package_root), tito_home, os.environ.get("PYTHONPATH")]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
            "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


# Variables that decide how fast numpy runs (BLAS threads, CPU kind): a sandboxed kernel keeps them.
# The same prefixes as tinytorch.benchmarking.benchmark's timing_environment (kept in step by a test).
_PASSED_THROUGH = ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_", "VECLIB_", "NUMEXPR_", "NVPL_", "KMP_", "GOMP_")


def sandbox_env() -> dict[str, str]:
    """The whole environment of the sandboxed zygote and its kernels (bwrap clears everything else)."""
    from .sandbox import SANDBOX_LIB

    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "PYTHONPATH": SANDBOX_LIB, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp",
           "MPLCONFIGDIR": "/tmp/matplotlib", "LANG": "C.UTF-8"}
    env.update({key: value for key, value in os.environ.items() if key.startswith(_PASSED_THROUGH)})
    return env


def write_kernelspec(folder: Path, package_root: Path, settings: CourseSettings,
                     provisioner: str | None = None) -> Path:
    """A kernelspec `tito-grader` under `folder/kernels/`: our interpreter, the grading kernel.

    `provisioner` names a jupyter_client kernel provisioner (see `tito.kernel_zygote`); None for the
    default, a subprocess per kernel. Interrupts are messages: a sandboxed kernel is in a PID
    namespace of its own, where no signal of ours can name it.
    """
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "tito.grading_kernel", *settings.kernel_limits().argv(), "-f", "{connection_file}"]
    metadata = {"debugger": False}
    if provisioner:
        metadata["kernel_provisioner"] = {"provisioner_name": provisioner}
    spec = {"argv": argv, "display_name": "TinyTorch grader (sandboxed Python)", "language": "python",
            "interrupt_mode": "message", "env": kernel_env(package_root), "metadata": metadata}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


def _say_kernels_are_fresh(error: Exception) -> None:
    print(f"tito: warm grading kernels unavailable ({error}); starting a fresh kernel per student", file=sys.stderr)


class KernelStart:
    """How grading kernels start: forked from a warm zygote once `ready()` says so, else fresh processes.

    Attributes:
        package_dir: the folder whose `tinytorch/` the kernels import (`tito grade` builds the course
            package into it; read-only inside the sandbox).
        sandboxed: kernels run inside the OS sandbox; then there is no unsandboxed fallback.
    """

    def __init__(self, package_dir: Path, sandboxed: bool = False, zygote=None, sockets: Path | None = None,
                 memory_limit: int | None = None):
        self.package_dir = package_dir
        self.sandboxed = sandboxed
        self.zygote = zygote
        self.sockets = sockets
        self.memory_limit = memory_limit
        self.memory_floor: int | None = None

    def ready(self) -> bool:
        """Wait for the zygote (if any) and route new kernels through it; False means fresh processes."""
        from . import kernel_zygote
        from .sandbox import ENABLE_HINT

        if self.zygote is None:
            return False
        try:
            socket_path = self.zygote.wait_ready()
            self.memory_floor = self.zygote.mapped_bytes + KERNEL_START_BYTES
            if self.memory_limit is not None and self.memory_limit < self.memory_floor:
                raise TitoError(memory_floor_message(self.memory_limit, self.memory_floor), 2)
            os.environ[kernel_zygote.ZYGOTE_ENV] = socket_path
            if self.sandboxed:
                os.environ[kernel_zygote.SOCKETS_ENV] = str(self.sockets)
            return True
        except RuntimeError as error:
            if self.sandboxed:
                raise TitoError(f"the grading sandbox could not start: {error}; {ENABLE_HINT}", 1) from error
            # Without the variable the provisioner starts each kernel as a fresh process: slower, same grades.
            self.zygote = None
            _say_kernels_are_fresh(error)
            return False


@contextlib.contextmanager
def grading_environment(project_root: Path, settings: CourseSettings, warm_kernels: bool = False,
                        course_package: bool = False):
    """Set up, for the duration of the block, what nbgrader and the kernel need from the process.

    - the venv's `bin/` on PATH: nbgrader runs `alembic` by name when it creates a gradebook;
    - JUPYTER_PATH pointing at a scratch kernelspec for the grading kernel;
    - IN_TEST removed (nbdev exports nothing when it is set);
    - with `course_package`, kernels import the `tinytorch` the caller builds into
      `KernelStart.package_dir` (the student release, `tito grade`); else the project's own;
    - with `warm_kernels`, a kernel zygote (see `tito.kernel_zygote`) starts importing at once, when its
      provisioner is installed, inside the sandbox when `settings.sandbox` (`tito grade`).

    Yields a `KernelStart`: call its `ready()` before the first kernel is needed (it waits for the
    zygote; until then, and if an unsandboxed one fails, kernels are fresh processes).
    """
    from . import kernel_zygote

    keys = ("PATH", "JUPYTER_PATH", "IN_TEST", kernel_zygote.ZYGOTE_ENV, kernel_zygote.SOCKETS_ENV)
    saved = {key: os.environ.get(key) for key in keys}
    with tempfile.TemporaryDirectory(prefix="tito-kernel-") as scratch, contextlib.ExitStack() as stack:
        scratch = Path(scratch)
        sandboxed = warm_kernels and settings.sandbox
        package_dir = scratch / "lib" if course_package else Path(project_root)
        if course_package:
            (package_dir / "tinytorch").mkdir(parents=True)
        plan = None
        if sandboxed:
            plan = _sandbox_plan(package_dir, scratch / "kernels")
        warm = warm_kernels and kernel_zygote.provisioner_installed()
        if sandboxed and not warm:
            raise TitoError("sandboxed grading forks kernels from a warm process whose provisioner is not "
                            "registered; reinstall the project (`pip install -e '.[grading]'`)", 2)
        write_kernelspec(scratch, package_dir, settings, provisioner=kernel_zygote.PROVISIONER_NAME if warm else None)
        venv_bin = str(Path(sys.executable).parent)
        os.environ["PATH"] = os.pathsep.join(filter(None, [venv_bin, saved["PATH"]]))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(scratch), saved["JUPYTER_PATH"]]))
        for key in ("IN_TEST", kernel_zygote.ZYGOTE_ENV, kernel_zygote.SOCKETS_ENV):
            os.environ.pop(key, None)
        kernels = KernelStart(package_dir, sandboxed, sockets=scratch / "kernels", memory_limit=settings.memory_limit_bytes)
        if warm:
            try:
                kernels.zygote = stack.enter_context(kernel_zygote.running_zygote(
                    scratch, kernel_env(package_dir), settings.kernel_limits(), sandbox=plan))
            except OSError as error:
                if sandboxed:
                    raise TitoError(f"the grading sandbox could not start: {error}", 1) from error
                _say_kernels_are_fresh(error)
        try:
            yield kernels
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _sandbox_plan(package_dir: Path, sockets: Path):
    from .sandbox import ENABLE_HINT, SandboxPlan, SandboxUnavailable, make_socket_root

    make_socket_root(sockets)
    try:
        return SandboxPlan(package_dir, sockets, env=sandbox_env())
    except SandboxUnavailable as error:
        raise TitoError(f"grading needs a sandbox and none can be made here: {error}; {ENABLE_HINT}", 2) from error
