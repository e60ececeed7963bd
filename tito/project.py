"""Where the project lives and which modules it has.

A module is a folder `modules/NN_name/` holding its lesson, `name_dev.py` (the one notebook students get
and are graded on), and optionally *provided sources*: other percent-format `.py` files beside it that hold
code the lesson imports but does not teach line by line (no exercises, no solution regions). Everything
else (the notebooks in `nbs/`, the package code in `tinytorch/`) is generated from these sources.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_MODULE_DIR = re.compile(r"^(\d{2})_([a-z][a-z0-9_]*)$")


class TitoError(Exception):
    """A problem the user can fix; the message names the thing and the fix. `exit_code` is 1 or 2."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Module:
    root: Path
    number: str  # "01"
    name: str  # "tensor"

    @property
    def key(self) -> str:
        return f"{self.number}_{self.name}"

    @property
    def folder(self) -> Path:
        return self.root / "modules" / self.key

    @property
    def source(self) -> Path:
        """The lesson: the notebook students receive, fill in and are graded on."""
        return self.folder / f"{self.name}_dev.py"

    @property
    def provided_sources(self) -> list[Path]:
        """The module's provided code, exported as it is: every other `*.py` in the folder, sorted.

        They hold no solutions, so a student course exports them unchanged beside the student's lesson.
        """
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.glob("*.py")
                      if path.name != self.source.name and not path.name.startswith((".", "_")))

    @property
    def sources(self) -> list[Path]:
        """The lesson first, then the provided sources."""
        return [self.source, *self.provided_sources]

    def notebook_of(self, source: Path) -> Path:
        """Where the notebook generated from `source` (one of `sources`) lives in `nbs/`."""
        return self.root / "nbs" / self.key / f"{Path(source).stem}.ipynb"

    @property
    def notebook(self) -> Path:
        return self.notebook_of(self.source)

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests" / self.key


def find_root(start: Path | None = None) -> Path:
    """The project root: $TITO_ROOT, else the first folder upwards holding settings.ini and modules/."""
    if os.environ.get("TITO_ROOT"):
        root = Path(os.environ["TITO_ROOT"]).resolve()
        if not (root / "modules").is_dir():
            raise TitoError(f"TITO_ROOT={root} has no modules/ folder; point it at the project root", 2)
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "settings.ini").is_file() and (folder / "modules").is_dir():
            return folder
    # Installed in editable mode: the project is the folder that holds this package.
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "settings.ini").is_file() and (package_root / "modules").is_dir():
        return package_root
    raise TitoError(
        f"no TinyTorch project found at or above {here}; run tito inside the repository "
        "(the folder with settings.ini and modules/) or set TITO_ROOT",
        2,
    )


def discover_modules(root: Path) -> list[Module]:
    modules = []
    for folder in sorted((root / "modules").iterdir()):
        match = _MODULE_DIR.match(folder.name)
        if folder.is_dir() and match:
            modules.append(Module(root, match.group(1), match.group(2)))
    return modules


def resolve_module(root: Path, spec: str) -> Module:
    """Accept `19`, `019`, `19_benchmarking` or `benchmarking`; an unknown one lists the known ones."""
    modules = discover_modules(root)
    wanted = spec.strip().lower()
    for module in modules:
        if wanted.isdigit() and int(wanted) == int(module.number):
            return module
        if wanted in (module.key, module.name):
            return module
    known = ", ".join(m.key for m in modules) or "(none)"
    raise TitoError(f"unknown module {spec!r}; known modules: {known}", 2)


def require_source(module: Module) -> Path:
    if not module.source.is_file():
        raise TitoError(
            f"module {module.key} has no source file {module.source.relative_to(module.root)}; "
            f"create it (jupytext percent format) or remove the folder modules/{module.key}",
            1,
        )
    return module.source
