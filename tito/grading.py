"""`tito grade N SUBMISSIONS --out DIR` (autograde every student, feedback, a grades CSV) and
`tito feedback N --out DIR` (feedback pages again, from the gradebook, e.g. after manual grading).

`DIR` is an nbgrader course folder: `source/` and `release/` (generated from the module), `submitted/`
(copies of the notebooks), `autograded/`, `feedback/<student>/<module_key>/*.html`, `gradebook.db`,
`grading-record.json` (each student's status, flags and note) and `grades.csv`. Only this process
and its workers write there; kernels run in the sandbox (`tito.sandbox`) and see none of it.
Scores are read from the gradebook, never from nbgrader's success flags, and grades.csv is rewritten
from the gradebook and the record at the end of every run and by `tito feedback`. One student's
failure is recorded and the next student is graded. Workers die with the grader (parent-death
signal), and the sandbox with them, so a killed run leaves no process; a rerun regrades everyone.
"""
from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import CourseSettings, assignment_id, grading_environment, nbgrader_api, notebook_name
from .fileio import write_json_atomic, write_text_atomic
from .project import Module, TitoError
from .release import check_output_folder, describe_release, generate_assignment
from .submissions import Submission, collect_submissions, student_folders

CSV_FIELDS = ["student", "score", "max_score", "status", "needs_manual_grade", "failed_tests", "flags", "note",
              "sandboxed"]
RECORD = "grading-record.json"
NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox): trusted submissions only"


@dataclass
class StudentGrade:
    student: str
    status: str  # graded | skipped | error
    score: float | None = None
    max_score: float | None = None
    failed_tests: list[str] = field(default_factory=list)
    needs_manual_grade: bool = False  # nbgrader's flag, e.g. for a deleted graded cell
    flags: list[str] = field(default_factory=list)
    note: str = ""
    feedback: str | None = None
    seconds: float = 0.0
    sandboxed: bool = True

    def csv_row(self) -> dict:
        return {"student": self.student, "score": "" if self.score is None else f"{self.score:g}",
                "max_score": "" if self.max_score is None else f"{self.max_score:g}", "status": self.status,
                "needs_manual_grade": "yes" if self.needs_manual_grade else "no",
                "failed_tests": ";".join(self.failed_tests), "flags": ";".join(self.flags), "note": self.note,
                "sandboxed": "yes" if self.sandboxed else "no"}

    def record(self) -> dict:
        """What the gradebook does not hold: kept in `grading-record.json` for rewriting grades.csv."""
        return {"status": self.status, "flags": self.flags, "note": self.note, "sandboxed": self.sandboxed,
                "max_score": self.max_score}


def grades_csv_text(grades: list[StudentGrade]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for grade in grades:
        writer.writerow(grade.csv_row())
    return buffer.getvalue()


def read_gradebook_scores(db_url: str, aid: str, student: str) -> tuple[float, float, list[str], bool]:
    """(score, max_score, failed graded cells, needs manual grade) of one submission, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(aid, student)
        failed = []
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                # A written answer awaiting the instructor has not failed: it is counted by the
                # needs_manual_grade column instead.
                if grade.max_score and grade.score < grade.max_score and not grade.needs_manual_grade:
                    failed.append(grade.name)
        return (float(submission.score), float(submission.max_score), sorted(failed),
                bool(submission.needs_manual_grade))


def _fill_scores(grade: StudentGrade, db_url: str, aid: str) -> None:
    grade.score, grade.max_score, grade.failed_tests, grade.needs_manual_grade = read_gradebook_scores(
        db_url, aid, grade.student)


def _stage_submission(course: Path, aid: str, submission: Submission, name: str) -> None:
    """Write only the notebook into `submitted/<student>/<aid>/`, replacing any earlier copy."""
    import nbformat

    folder = course / "submitted" / submission.student / aid
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    released = nbformat.read(course / "release" / aid / name, as_version=4)
    nbformat.write(submission.staged_notebook(released), folder / name)


def _zero_submission(db_url: str, aid: str, student: str) -> None:
    """A notebook whose grading could not finish scores 0 on every graded cell, in the gradebook.

    This is nbgrader's own rule for a missing notebook; it also clears partial scores that a run
    stopped half way may have left, so the gradebook stays consistent with grades.csv.
    """
    import warnings

    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes about nbgrader's own objects
        with Gradebook(db_url) as gradebook:
            submission = gradebook.update_or_create_submission(aid, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.manual_score = None
                    grade.needs_manual_grade = False
            gradebook.db.commit()


_EXCEPTION_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*(Error|Exception)\b(: .*)?$")
_KNOWN_FAILURES = {
    "DeadKernelError": "the notebook's kernel died (os._exit, a crash, or killed)",
    "UnresponsiveKernelError": "the notebook's kernel hung and could not be interrupted",
}


def _failure_reason(result: dict) -> str:
    text = "\n".join(filter(None, [result.get("log"), result.get("error")]))
    for marker, meaning in _KNOWN_FAILURES.items():
        if marker in text:
            return f"grading stopped: {meaning}"
    causes = [m.group(0).strip() for m in map(_EXCEPTION_LINE.match, text.splitlines())
              if m and "NbGraderException" not in m.group(0)]
    return f"grading failed: {(causes[0] if causes else 'no details in the nbgrader log')[:300]}"


def _quiet_call(function, *args, **kwargs):
    """nbgrader's own SQLAlchemy usage emits autoflush warnings that say nothing about the student."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def write_feedback(api, course: Path, aid: str, name: str, student: str) -> tuple[str | None, str]:
    """nbgrader's feedback page of one autograded student: (path, "") or (None, the reason)."""
    result = _quiet_call(api.generate_feedback, aid, student, force=True)
    html = course / "feedback" / student / aid / (Path(name).stem + ".html")
    if result.get("success") and html.is_file():
        return str(html), ""
    return None, "no feedback: " + _failure_reason(result)


def grade_one(api, course: Path, db_url: str, aid: str, name: str, submission: Submission,
              feedback: bool = True) -> StudentGrade:
    from .executor import RUNS

    start = time.perf_counter()
    grade = StudentGrade(submission.student, "graded", flags=list(submission.flags))
    _stage_submission(course, aid, submission, name)
    result = _quiet_call(api.autograde, aid, submission.student, force=True, create=True)
    run = RUNS.pop((submission.student, Path(name).stem), None)
    if run is not None:
        grade.flags += [flag for flag in run.flags if flag not in grade.flags]
    if not result.get("success"):
        _zero_submission(db_url, aid, submission.student)
        grade.status, grade.note = "error", _failure_reason(result) + "; scored 0"
        _fill_scores(grade, db_url, aid)
        grade.seconds = time.perf_counter() - start
        return grade
    _fill_scores(grade, db_url, aid)
    if feedback:
        grade.feedback, grade.note = write_feedback(api, course, aid, name, submission.student)
    else:  # an earlier page would show the earlier grade: `tito feedback` writes the new one
        shutil.rmtree(course / "feedback" / submission.student / aid, ignore_errors=True)
    grade.seconds = time.perf_counter() - start
    return grade


_WORKER_API = {}


def _worker_api(course: Path, settings: CourseSettings, aid: str | None = None, name: str | None = None):
    """The nbgrader API object of this process, built once per worker."""
    key = (str(course), settings, aid, name)
    if key not in _WORKER_API:
        release = course / "release" / aid / name if aid and name else None
        _WORKER_API[key] = nbgrader_api(course, settings, release)
    return _WORKER_API[key]


def _grade_in_worker(course: Path, settings: CourseSettings, aid: str, name: str,
                     submission: Submission, feedback: bool = True) -> StudentGrade:
    """One student in a worker process."""
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    grade = grade_one(_worker_api(course, settings, aid, name), course, db_url, aid, name, submission, feedback)
    grade.sandboxed = settings.sandbox
    return grade


def _grade_all(gradable: list[Submission], course: Path, settings: CourseSettings, aid: str, name: str,
               jobs: int, on_student, feedback: bool = True) -> dict[str, StudentGrade]:
    """Grade every submission, `jobs` kernels at a time; a crashed worker costs one student, not all."""
    results: dict[str, StudentGrade] = {}
    if jobs <= 1 or len(gradable) <= 1:
        for submission in gradable:
            results[submission.student] = _safe_grade(course, settings, aid, name, submission, feedback)
            on_student(results[submission.student])
        return results
    context = multiprocessing.get_context(_start_method())
    orphans: list[Submission] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_die_with_grader,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_grade_in_worker, course, settings, aid, name, submission, feedback): submission
                   for submission in gradable}
        for future in as_completed(futures):
            submission = futures[future]
            try:
                grade = future.result()
            except BrokenProcessPool:  # a worker was killed (OOM killer, signal): grade these here
                orphans.append(submission)
                continue
            except Exception as error:  # nbgrader raises many kinds; the other students still get graded
                grade = StudentGrade(submission.student, "error", flags=list(submission.flags),
                                     note=f"grading failed: {type(error).__name__}: {error}")
            results[submission.student] = grade
            on_student(grade)
    for submission in orphans:
        results[submission.student] = _safe_grade(course, settings, aid, name, submission, feedback)
        on_student(results[submission.student])
    return results


def _die_with_grader(grader: int) -> None:
    """In a worker: die when the grader dies (kill -9 included), so that no worker outlives a run."""
    try:
        from .namespaces import die_with_parent

        die_with_parent()
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown is all there is
        return
    if os.getppid() != grader:  # the grader died before the signal was armed
        os._exit(1)


def _start_method() -> str:
    """fork where it exists: workers inherit the imported nbgrader stack (spawn re-imports it, ~3 s
    a worker). The forked workers touch nothing the parent's threads (a progress bar) hold."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _safe_grade(course, settings, aid, name, submission, feedback: bool = True) -> StudentGrade:
    try:
        return _grade_in_worker(course, settings, aid, name, submission, feedback)
    except Exception as error:  # nbgrader raises many kinds; the other students still get graded
        return StudentGrade(submission.student, "error", flags=list(submission.flags),
                            note=f"grading failed: {type(error).__name__}: {error}", sandboxed=settings.sandbox)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def grade_module(module: Module, submissions_dir: Path, out_dir: Path, settings: CourseSettings | None = None,
                 jobs: int | None = None, on_start=lambda total: None, on_student=lambda grade: None,
                 feedback: bool = True) -> dict:
    """Autograde `submissions_dir/<student>/<name>_dev.ipynb` into the course folder `out_dir`.

    Args:
        module: the module whose release the submissions answer.
        submissions_dir: one folder per student.
        out_dir: the nbgrader course folder; created if missing, reused (regraded) if present.
        settings: limits of the grading kernel and whether to sandbox it; the course defaults if None.
        jobs: students graded at once (one kernel each); `default_jobs()` if None.
        on_start: called with the number of students before grading starts (progress bars).
        on_student: called with each `StudentGrade` as soon as it exists.
        feedback: write each student's feedback page right after grading; False leaves it to
            `feedback_module` (e.g. once the written answers have been graded by hand).

    Returns:
        A dict with the module, the grades (one per student folder, sorted), the paths written, timings.
    """
    from .student_course import course_package

    settings = settings or CourseSettings()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}", 2)
    submissions_dir = Path(submissions_dir)
    inputs = submissions_dir.resolve()
    course = Path(out_dir).resolve()
    if inputs in (course, *course.parents) or course in inputs.parents:
        # nbgrader's folders would be read as students, or its clean-up would delete the originals.
        raise TitoError(f"--out {out_dir} and the submissions folder {submissions_dir} must not be inside "
                        "one another; choose an output folder elsewhere", 2)
    aid, name = assignment_id(module), notebook_name(module)
    student_folders(submissions_dir, name)  # fail fast, before the release is built
    course = check_output_folder(out_dir).resolve()
    course.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with grading_environment(module.root, settings, warm_kernels=True, course_package=True) as kernels:
        import nbformat  # local: importing the notebook stack costs ~1 s that other commands skip

        released_path = generate_assignment(module, course, settings)
        stubbed = course_package(module, kernels.package_dir)  # what the kernels import: no solutions
        released = nbformat.read(released_path, as_version=4)
        submissions = collect_submissions(submissions_dir, name, module.key, released)
        max_score = describe_release(released)["max_score"]
        warm = kernels.ready()  # the zygote imported while the release was built
        on_start(len(submissions))
        grades: dict[str, StudentGrade] = {}
        for submission in submissions:
            if not submission.gradable:
                grades[submission.student] = StudentGrade(submission.student, "skipped", note=submission.skip_reason,
                                                          sandboxed=settings.sandbox)
                on_student(grades[submission.student])
        gradable = [s for s in submissions if s.gradable]
        grades.update(_grade_all(gradable, course, settings, aid, name, jobs, on_student, feedback))
    ordered = [grades[s.student] for s in submissions]
    for grade in ordered:
        if grade.max_score is None:
            grade.max_score = max_score
    write_json_atomic(course / RECORD, {"module": module.key, "sandboxed": settings.sandbox,
                                        "students": {grade.student: grade.record() for grade in ordered}})
    csv_path = write_grades_csv(course, aid)
    seconds = time.perf_counter() - start
    kernels_how = ("forked from a warm process" if warm else "fresh processes") + (
        ", each in its own sandbox" if settings.sandbox else " WITHOUT a sandbox")
    zygote = kernels.zygote
    sandbox_cpu = zygote.cpu_seconds if settings.sandbox and zygote is not None else None
    return {"module": module.key, "course": str(course), "grades_csv": str(csv_path),
            "gradebook": f"sqlite:///{course / 'gradebook.db'}", "jobs": jobs, "seconds": round(seconds, 2),
            "kernels": kernels_how, "sandboxed": settings.sandbox, "stubbed_modules": stubbed,
            "sandbox_cpu_seconds": sandbox_cpu,
            "feedback": feedback, "graded": len(gradable), "grades": [asdict(grade) for grade in ordered]}


def write_grades_csv(course: Path, aid: str) -> Path:
    """Rewrite `course/grades.csv` from the gradebook (scores) and the grading record (status, flags).

    Students of the record come first, in its order; a student the gradebook holds from an earlier run
    but the last run did not see is listed too, with a note.
    """
    import json
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    record_path = course / RECORD
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {"students": {}}
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(db_url) as gradebook:
            try:
                assignment_max = float(gradebook.find_assignment(aid).max_score)
                in_gradebook = [sub.student.id for sub in gradebook.find_assignment(aid).submissions]
            except MissingEntry:
                assignment_max, in_gradebook = None, []
    students = list(record["students"]) + sorted(set(in_gradebook) - set(record["students"]))
    for student in students:
        kept = record["students"].get(student, {"status": "graded", "flags": [], "sandboxed": record.get("sandboxed", True),
                                                "note": "not in the latest `tito grade` run"})
        grade = StudentGrade(student, kept["status"], flags=list(kept.get("flags", [])), note=kept.get("note", ""),
                             sandboxed=kept.get("sandboxed", True), max_score=kept.get("max_score", assignment_max))
        if kept["status"] != "skipped" and student in in_gradebook:
            _fill_scores(grade, db_url, aid)
        if not grade.sandboxed and NO_SANDBOX_NOTE not in grade.note:
            grade.note = "; ".join(filter(None, [grade.note, NO_SANDBOX_NOTE]))
        rows.append(grade)
    path = course / "grades.csv"
    write_text_atomic(path, grades_csv_text(rows))
    return path


def _feedback_in_worker(course: Path, settings: CourseSettings, aid: str, name: str, student: str) -> dict:
    try:
        path, note = write_feedback(_worker_api(course, settings, aid, name), course, aid, name, student)
    except Exception as error:  # nbgrader raises many kinds; the other students still get their pages
        path, note = None, f"no feedback: {type(error).__name__}: {error}"
    return {"student": student, "feedback": path, "note": note}


def feedback_module(module: Module, out_dir: Path, settings: CourseSettings | None = None, jobs: int | None = None,
                    on_start=lambda total: None, on_student=lambda row: None) -> dict:
    """(Re)write the feedback page of every student autograded in the course folder `out_dir`, and grades.csv.

    The pages and grades.csv show the gradebook's current scores, manual grades included: run this
    after grading the written answers (nbgrader's formgrader), or after `tito grade --no-feedback`.

    Returns:
        A dict with the module, one row per student (`student`, `feedback` path or None, `note`), timings.
    """
    settings = settings or CourseSettings()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}", 2)
    course = Path(out_dir).resolve()
    aid, name = assignment_id(module), notebook_name(module)
    autograded = course / "autograded"
    students = sorted(p.parent.parent.name for p in autograded.glob(f"*/{aid}/{name}")) if autograded.is_dir() else []
    if not (course / "gradebook.db").is_file() or not students:
        raise TitoError(f"no autograded {module.key} submissions in {course}: run `tito grade {module.number} "
                        f"SUBMISSIONS --out {out_dir}` first", 2)
    start = time.perf_counter()
    with grading_environment(module.root, settings):
        on_start(len(students))
        rows = []
        if jobs == 1 or len(students) == 1:
            for student in students:
                rows.append(_feedback_in_worker(course, settings, aid, name, student))
                on_student(rows[-1])
        else:
            context = multiprocessing.get_context(_start_method())
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_die_with_grader,
                                     initargs=(os.getpid(),)) as pool:
                futures = [pool.submit(_feedback_in_worker, course, settings, aid, name, s) for s in students]
                for future in as_completed(futures):
                    rows.append(future.result())
                    on_student(rows[-1])
    rows.sort(key=lambda row: row["student"])
    csv_path = write_grades_csv(course, aid)
    return {"module": module.key, "course": str(course), "jobs": jobs, "rows": rows, "grades_csv": str(csv_path),
            "seconds": round(time.perf_counter() - start, 2)}
