"""Autograding throughput: 20 submissions of a module, graded by `tito grade` and by nbgrader's CLI.

Run: .venv/bin/python bench/grading_throughput.py [--module 19] [--students 20] [--jobs 1 2] [--no-peer]
     [--feedback with|without|both] [--sandbox on|off|both]

Submissions are the module's real release: two in three solved with the source's solutions, the rest
left untouched (the stub). Each configuration grades them into a fresh folder (release, course package,
autograde in a kernel, feedback HTML unless --no-feedback, grades.csv), with the OS sandbox (the
default of `tito grade`) and/or without it (`--no-sandbox`, the peer that shows what the sandbox
costs). Printed: submissions per minute (target: at least 30 on 2 cores, Module 19, with feedback),
wall seconds per student, CPU seconds per student (of every process involved: with the machine
shared, this is the steadier figure, and it bounds the throughput of idle cores), and the peer (the
`nbgrader autograde` command over the same course, no feedback) as a ratio. The machine is shared, so
the load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from tito.course import CourseSettings, notebook_name  # noqa: E402
from tito.grading import grade_module  # noqa: E402
from tito.pipeline import read_module_notebook  # noqa: E402
from tito.project import resolve_module  # noqa: E402
from tito.release import release_module  # noqa: E402


def make_submissions(module, folder: Path, students: int) -> None:
    released = nbformat.read(release_module(module, folder / "_release")["notebook"], as_version=4)
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
              for c in read_module_notebook(module.source).cells}
    for index in range(students):
        notebook = copy.deepcopy(released)
        if index % 3 != 2:  # solved
            for cell in notebook.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("solution"):
                    cell.source = source[meta["grade_id"]]
        path = folder / "submissions" / f"student{index:02d}" / notebook_name(module)
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)


def cpu_seconds() -> float:
    """CPU time of this process and of every finished child (workers, the unsandboxed zygote and its
    kernels; a sandboxed zygote reports its own and its kernels' in the grading report)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_tito(module, submissions: Path, jobs: int, feedback: bool,
               sandbox: bool) -> tuple[float, float, float, list[float], list]:
    """Wall and CPU seconds of one `tito grade` run, and the wall seconds before the first student starts."""
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as out:
        cpu, start = cpu_seconds(), time.perf_counter()
        setup = []
        report = grade_module(module, submissions, Path(out), CourseSettings(sandbox=sandbox), jobs=jobs,
                              feedback=feedback,
                              on_start=lambda total: setup.append(time.perf_counter() - start))
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        cpu += report["sandbox_cpu_seconds"] or 0.0  # the sandbox's processes are not our waited-for children
    return wall, cpu, setup[0], [g["seconds"] for g in report["grades"]], report["grades"]


def bench_nbgrader_cli(module, submissions: Path) -> float:
    """The peer: nbgrader's own command autogrades the same submissions (one process, no feedback)."""
    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as course:
        course = Path(course)
        aid = module.key
        shutil.copytree(submissions.parent / "_release" / aid, course / "source" / aid)
        # the release has no solutions; nbgrader needs the instructor's source notebook
        nbformat.write(read_module_notebook(module.source), course / "source" / aid / notebook_name(module))
        for student in submissions.iterdir():
            shutil.copytree(student, course / "submitted" / student.name / aid)
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   PYTHONPATH=str(ROOT))
        nbgrader = [sys.executable, "-m", "nbgrader"]
        common = [f"--CourseDirectory.root={course}", "--log-level=ERROR"]
        subprocess.run([*nbgrader, "generate_assignment", aid, "--force", *common], cwd=course, env=env,
                       check=True, capture_output=True)
        start = time.perf_counter()
        subprocess.run([*nbgrader, "autograde", aid, "--force", *common], cwd=course, env=env,
                       check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default="19")
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-peer", action="store_true", help="skip the nbgrader CLI comparison")
    parser.add_argument("--feedback", choices=("with", "without", "both"), default="both",
                        help="time `tito grade` with feedback pages, without (autograde only, as the peer), or both")
    parser.add_argument("--sandbox", choices=("on", "off", "both"), default="both",
                        help="grade in the OS sandbox (tito grade's default), without it (--no-sandbox), or both")
    args = parser.parse_args()
    module = resolve_module(ROOT, args.module)
    print(f"grading {args.students} submissions of {module.key}; {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-subs-") as scratch:
        scratch = Path(scratch)
        make_submissions(module, scratch, args.students)
        submissions = scratch / "submissions"
        modes = {"with": [True], "without": [False], "both": [True, False]}[args.feedback]
        sandboxes = {"on": [True], "off": [False], "both": [True, False]}[args.sandbox]
        walls = {}
        for jobs, feedback, sandbox in [(j, f, b) for j in args.jobs for f in modes for b in sandboxes]:
            wall, cpu, setup, per_student, grades = bench_tito(module, submissions, jobs, feedback, sandbox)
            walls[(jobs, feedback, sandbox)] = (wall, cpu)
            scores = sorted({(g["score"], g["max_score"]) for g in grades})
            label = (f"tito grade --jobs {jobs}" + ("" if feedback else " --no-feedback")
                     + ("" if sandbox else " --no-sandbox"))
            rate = 60 * args.students / wall
            print(f"{label}: {wall:6.1f} s total, {rate:5.1f} submissions/min (target >= 30: "
                  f"{'met' if rate >= 30 else 'NOT met'}); per student median {statistics.median(per_student):.2f} s "
                  f"(autograde{' + feedback' if feedback else ''}, one kernel); scores seen {scores}; "
                  f"load average now {os.getloadavg()[0]:.2f}")
            print(f"  set-up before the first student (release, warm-kernel process): {setup:.1f} s")
            # CPU time does not depend on what else the machine runs: it bounds what 2 idle cores can do.
            print(f"  CPU {cpu:.1f} s in all, {cpu / args.students:.2f} s a student: on {os.cpu_count()} idle cores "
                  f"at most {60 * args.students * os.cpu_count() / cpu:.1f} submissions/min")
            tito_wall, tito_label = wall, label
            if not sandbox and (jobs, feedback, True) in walls:
                sandboxed_wall, sandboxed_cpu = walls[(jobs, feedback, True)]
                print(f"  the sandbox costs: wall ratio sandboxed / --no-sandbox {sandboxed_wall / wall:.2f}, "
                      f"CPU ratio {sandboxed_cpu / cpu:.2f}")
        if not args.no_peer:
            peer = bench_nbgrader_cli(module, submissions)
            print(f"nbgrader autograde CLI (peer, no feedback, 1 kernel at a time): {peer:6.1f} s, "
                  f"{60 * args.students / peer:5.1f} submissions/min; `{tito_label}` / peer time ratio "
                  f"{tito_wall / peer:.2f}")


if __name__ == "__main__":
    main()
