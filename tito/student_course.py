"""What a student receives for module N, and the package a grading kernel imports: no solutions in either.

`course_package(module, target)` writes a `tinytorch/` package in which every module from N on is
generated from its *release* (nbgrader's ClearSolutions: each solution region is the course stub,
`raise NotImplementedError()`), while the modules below N, which the lesson imports, are the reference
implementation. Data files (datasets, reference weights) are copied; compiled files never are.

`write_student_course(module, released_notebook, folder)` adds what a student needs around it:

    <name>_dev.ipynb       the notebook to fill in and submit
    Makefile, pyproject.toml, settings.ini, README.md
                           `make validate` / `make complete` (each creates .venv on first use)
    modules/NN_name/       the release in percent format (how tito finds the module), beside the
                           module's provided sources as they are (code the lesson imports; no solutions)
    tests/NN_name/         the module's pytest suite, without the files that read the instructor's source
    tito/                  the course CLI

`tito module complete N --notebook <name>_dev.ipynb` there exports the student's own cells into that
package and runs the tests against them.
"""
from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

from .course import CODE_STUB, TEXT_STUB, notebook_name
from .fileio import write_text_atomic
from .pipeline import plan_export, read_module_notebook
from .project import Module, discover_modules

_SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION", re.MULTILINE | re.DOTALL)
_COMPILED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints")


def released_notebook(module: Module):
    """The module's notebook with solutions replaced by the course stub and hidden tests removed."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    notebook = read_module_notebook(module.source)
    resources: dict = {}
    notebook, resources = ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB).preprocess(
        notebook, resources)
    notebook, resources = ClearHiddenTests().preprocess(notebook, resources)
    return notebook


def solution_regions(module: Module) -> list[str]:
    """The text of every solution region of the module's source (what a student must never receive)."""
    return [match.group(1) for match in _SOLUTION.finditer(module.source.read_text(encoding="utf-8"))]


def course_package(module: Module, target: Path) -> list[str]:
    """Write `target/tinytorch/` for a course at `module`; return the modules generated from a release."""
    root = module.root
    destination = Path(target) / "tinytorch"
    shutil.copytree(root / "tinytorch", destination, ignore=_COMPILED, dirs_exist_ok=True)
    stubbed = []
    for later in discover_modules(root):
        if int(later.number) < int(module.number) or not later.source.is_file():
            continue
        plan = plan_export(later, released_notebook(later))
        for rel, text in plan.files.items():
            if rel.startswith("tinytorch/"):
                write_text_atomic(Path(target) / rel, text)
        stubbed.append(later.key)
    return stubbed


_ABOUT_THE_SOURCE = re.compile(r"""^\s*(from|import)\s+tito\b|["']modules(/|["'])""", re.MULTILINE)


def _student_tests(module: Module) -> list[Path]:
    """The module's test files, except those about the instructor's source rather than the package
    (they open `modules/...` or use tito's lint): a student has neither."""
    if not module.tests_dir.is_dir():
        return []
    return [path for path in sorted(module.tests_dir.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
            and not (path.suffix == ".py" and _ABOUT_THE_SOURCE.search(path.read_text(encoding="utf-8")))]


def _pyproject(module: Module) -> str:
    """The course's pyproject: the instructor's dependencies, the student's package and tito."""
    project = tomllib.loads((module.root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    quote = lambda items: ",\n    ".join(f'"{item}"' for item in items)  # noqa: E731
    extras = project.get("optional-dependencies", {})
    return f'''[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "tinytorch-course-{module.key.replace("_", "-")}"
version = "{project.get("version", "0.1.0")}"
description = "TinyTorch module {module.key}: your notebook, your package"
requires-python = "{project.get("requires-python", ">=3.11")}"
dependencies = [
    {quote(project.get("dependencies", []))},
]

[project.optional-dependencies]
dev = [{", ".join(f'"{item}"' for item in extras.get("dev", []))}]
grading = [{", ".join(f'"{item}"' for item in extras.get("grading", []))}]
olympics = [{", ".join(f'"{item}"' for item in extras.get("olympics", []))}]

[project.scripts]
tito = "tito.main:main"

[tool.setuptools.packages.find]
include = ["tinytorch*", "tito*"]

[tool.setuptools.package-data]
tinytorch = ["**/*.npz", "**/*.json"]
tito = ["feedback_templates/*/*"]

{_pytest_section(module)}'''


def _pytest_section(module: Module) -> str:
    """The instructor's pytest settings (markers such as `task`, warnings), verbatim."""
    text = (module.root / "pyproject.toml").read_text(encoding="utf-8")
    start = text.find("[tool.pytest.ini_options]")
    if start < 0:
        return '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    end = text.find("\n[", start + 1)
    return text[start:] if end < 0 else text[start:end + 1]


_MAKEFILE = """# Two commands, each creating the virtual environment .venv on first use:
#   make validate   check {notebook} the way the grader will (names each failing test)
#   make complete   export your code from {notebook} into tinytorch/ and run the module's tests
PYTHON ?= python3
BIN := .venv/bin
STAMP := .venv/.installed

.PHONY: validate complete install

$(STAMP): pyproject.toml
\t$(PYTHON) -m venv .venv
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -e '.[dev,grading,olympics]'
\ttouch $(STAMP)

install: $(STAMP)

validate: $(STAMP)
\tPATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito validate {notebook}

complete: $(STAMP)
\tPATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito module complete {number} --notebook {notebook}
"""

_README = """# TinyTorch module {key}

Your notebook is `{notebook}`: fill in every `# YOUR CODE HERE` and every `YOUR ANSWER HERE`, run it,
then, from this folder (Python 3.11 or newer):

```bash
make validate   # runs the notebook as the grader will and names each failing graded test (and its line)
make complete   # exports *your* code into tinytorch/ and runs the module's tests against it
```

Each creates `.venv/` on first use (a minute or two). `source .venv/bin/activate` then gives you `tito`
and your package: `tito module list`, `tito validate {notebook}`.

`tinytorch/` holds the modules this one builds on, ready to use, and the stubs of this module and of
the later ones: `make complete` replaces this module's stubs with your code. Submit `{notebook}`.
"""


def write_student_course(module: Module, released_text: str, folder: Path) -> dict:
    """Write the student course of `module` into `folder` (see the module docstring); return what it holds."""
    import jupytext
    import nbformat

    folder = Path(folder)
    name = notebook_name(module)
    if folder.exists():
        shutil.rmtree(folder)  # a course is written whole: nothing of an older release may linger
    folder.mkdir(parents=True)
    write_text_atomic(folder / name, released_text)
    stubbed = course_package(module, folder)
    notebook = nbformat.reads(released_text, as_version=4)
    write_text_atomic(folder / "modules" / module.key / module.source.name, jupytext.writes(notebook, fmt="py:percent"))
    for source in module.provided_sources:  # exported as they are by `make complete`
        shutil.copy2(source, folder / "modules" / module.key / source.name)
    for path in _student_tests(module):
        target = folder / "tests" / module.key / path.relative_to(module.tests_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copytree(Path(__file__).resolve().parent, folder / "tito", ignore=_COMPILED)
    shutil.copy2(module.root / "settings.ini", folder / "settings.ini")
    write_text_atomic(folder / "pyproject.toml", _pyproject(module))
    fields = {"key": module.key, "notebook": name, "number": module.number}
    write_text_atomic(folder / "Makefile", _MAKEFILE.format(**fields))
    write_text_atomic(folder / "README.md", _README.format(**fields))
    return {"course": str(folder), "stubbed_modules": stubbed,
            "files": sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())}
