"""Module 19 as students receive it and as the grader scores it (issue 12: nobody holds the solutions,
and a notebook scores only by its own code)."""
from __future__ import annotations

import copy
import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from tito.main import main
from tito.pipeline import plan_export, read_module_notebook
from tito.project import discover_modules, resolve_module
from tito.student_course import _student_tests, released_notebook, solution_regions

from .conftest import REPO, TEST_SETTINGS

pytestmark = pytest.mark.slow

NAME = "benchmarking_dev.ipynb"
MODULE = resolve_module(REPO, "19")
MARK = "# written by the student, not copied from anywhere"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TITO_ROOT", str(REPO))
        import contextlib
        import io
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["release", "19", "--out", str(out), "--json"]) == 0
    return out / MODULE.key, json.loads(buffer.getvalue())


def solved(notebook, mark: bool = False):
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in read_module_notebook(MODULE.source).cells}
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = source[meta["grade_id"]]
            if mark:
                cell.source = cell.source.replace("### BEGIN SOLUTION", f"### BEGIN SOLUTION\n    {MARK}", 1)
    return notebook


def secret_lines() -> set[str]:
    """Lines of module 19's solution regions (and of any later module's) found nowhere a student may
    legitimately look: not in the lower modules' package code, the shipped tests, or the release."""
    later = [m for m in discover_modules(REPO) if int(m.number) >= int(MODULE.number)]
    generated = {rel for m in later for rel in plan_export(m, released_notebook(m)).files}
    allowed = [p.read_text() for p in (REPO / "tinytorch").rglob("*.py")
               if p.relative_to(REPO).as_posix() not in generated and "__pycache__" not in p.parts]
    allowed += [p.read_text(errors="ignore") for p in _student_tests(MODULE)]
    allowed += [p.read_text() for m in later for p in m.provided_sources]  # given to students as they are
    allowed.append("\n".join(cell.source for cell in released_notebook(MODULE).cells))
    candidates = {line.strip() for m in later for region in solution_regions(m) for line in region.splitlines()}
    return {line for line in candidates if len(line) >= 20 and not line.startswith("#")
            and not any(line in text for text in allowed)}


def test_the_course_is_what_a_student_needs(course):
    folder, report = course
    files = set(report["files"])
    assert {NAME, "Makefile", "pyproject.toml", "settings.ini", "README.md", f"modules/{MODULE.key}/benchmarking_dev.py",
            "tinytorch/benchmarking/benchmark.py", "tinytorch/core/tensor.py", "tito/main.py"} <= files
    assert {f"modules/{MODULE.key}/{path.name}" for path in MODULE.provided_sources} <= files  # exported as they are
    assert report["stubbed_modules"] == [MODULE.key]
    assert any(f.startswith(f"tests/{MODULE.key}/test_") for f in files)
    assert not any(f.endswith(".pyc") or "__pycache__" in f for f in files)
    assert f"tests/{MODULE.key}/test_notebook_structure.py" not in files  # it reads the instructor's source
    for target, command in (("validate", f"tito validate {NAME}"), ("complete", f"tito module complete 19 --notebook {NAME}")):
        dry = subprocess.run(["make", "-n", target], cwd=folder, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0 and "pip install" in dry.stdout and command in dry.stdout, dry.stdout + dry.stderr
    done = subprocess.run([sys.executable, "-c", "import tinytorch.benchmarking.benchmark as b, inspect; "
                           "print(inspect.getsource(b.t_confidence_interval).count('NotImplementedError'))"],
                          cwd=folder, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr


def test_no_solution_of_the_instructor_is_in_any_file_of_the_course(course):
    folder, _ = course
    secrets = secret_lines()
    instructor = "\n".join(p.read_text() for p in sorted((REPO / "tinytorch/benchmarking").glob("*.py")))
    assert len(secrets) >= 20 and all(line in instructor for line in secrets)  # the check can fail
    regions = ["\n".join(line.strip() for line in region.strip().splitlines()) for region in solution_regions(MODULE)]
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        flat = "\n".join(line.strip() for line in text.splitlines())
        leaked = [line for line in secrets if line in text or json.dumps(line)[1:-1] in text]
        assert not leaked, (path, leaked[:3])
        assert not any(region in flat for region in regions), path


def test_a_student_completes_the_module_with_their_own_code_in_the_course(course, tmp_path, monkeypatch, capsys):
    folder = shutil.copytree(course[0], tmp_path / "course")
    notebook = folder / NAME
    nbformat.write(solved(nbformat.read(notebook, as_version=4), mark=True), notebook)
    monkeypatch.setenv("TITO_ROOT", str(folder))
    assert main(["module", "complete", "19", "--notebook", str(notebook), "--json"]) == 0, capsys.readouterr()
    report = json.loads(capsys.readouterr().out)
    assert [s["step"] for s in report["steps"]][-1] == "progress recorded"
    assert MARK in (folder / "tinytorch/benchmarking/statistics.py").read_text()  # their code, in their package
    assert MARK not in (REPO / "tinytorch/benchmarking/statistics.py").read_text()


WARNS = """    p_value = float(stats.ttest_ind(b, a, equal_var=False).pvalue)  # nan and a warning on zero spread
    if a.size < 2 or b.size < 2:"""


def test_the_grader_scores_only_a_notebooks_own_code(tmp_path, monkeypatch):
    """Untouched, and untouched plus `from tinytorch.benchmarking.benchmark import *` after every
    exercise, both score 0; right answers score every automatic point, even one that makes scipy warn."""
    released = nbformat.read(main_release(tmp_path), as_version=4)
    submissions = tmp_path / "submissions"
    importer = copy.deepcopy(released)
    for index in reversed([i for i, c in enumerate(importer.cells) if c.metadata.get("nbgrader", {}).get("solution")
                           and c.cell_type == "code"]):
        importer.cells.insert(index + 1, nbformat.v4.new_code_cell("from tinytorch.benchmarking.benchmark import *\n"
                                                                   "import tinytorch.benchmarking.benchmark"))
    warns = solved(released)
    compare = next(c for c in warns.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "benchmarking-compare")
    assert "    if a.size < 2 or b.size < 2:" in compare.source
    compare.source = compare.source.replace("    if a.size < 2 or b.size < 2:", WARNS, 1)
    answer = next(c for c in warns.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("benchmarking-q1-")
                  and c.metadata["nbgrader"].get("solution"))
    answer.source = "The median: one slow block moves it at most one rank."
    for student, notebook in (("correct", solved(released)), ("warns", warns), ("untouched", released),
                              ("importer", importer)):
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / NAME)
    monkeypatch.setenv("TITO_ROOT", str(REPO))
    assert main(["grade", "19", str(submissions), "--out", str(tmp_path / "out"), "--jobs", "2",
                 "--memory-limit-mb", str(3 * 1024)]) == 0
    rows = {row["student"]: row for row in csv.DictReader((tmp_path / "out/grades.csv").open())}
    automatic = sum(float(c.metadata["nbgrader"]["points"]) for c in released.cells
                    if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert rows["correct"]["score"] == rows["warns"]["score"] == f"{automatic:g}", rows
    assert rows["correct"]["flags"] == rows["warns"]["flags"] == "", rows  # a right answer raises no flag
    assert rows["untouched"]["score"] == rows["importer"]["score"] == "0", rows
    assert "the graded module" in rows["importer"]["flags"]
    page = (tmp_path / "out/feedback/warns" / MODULE.key / "benchmarking_dev.html").read_text()
    assert "costs no points" in page  # the warning is shown, on stdout
    assert "pending manual grading" in page and "2.0 point(s) in" in page


def main_release(tmp_path):
    from tito.release import release_module

    return release_module(MODULE, tmp_path / "release", TEST_SETTINGS, student_course=False)["notebook"]
