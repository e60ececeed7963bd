"""`kill -9` of `tito grade` in the middle of a class: no process survives it, and a rerun finishes the
class with the grades an uninterrupted run gives, the gradebook and grades.csv agreeing.

This test process makes itself a child subreaper, so that every process the killed grader leaves
behind becomes its child, where it can be seen (and reaped).
"""
from __future__ import annotations

import csv
import ctypes
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import TEST_SETTINGS, fresh, insert_after, solve_checks, write_submission

pytestmark = pytest.mark.slow

PR_SET_CHILD_SUBREAPER = 36
NAME = "checks_dev.ipynb"
EXPECTED = {"first": "4", "second": "4", "slow": "4", "stub": "0"}


def children_of_me() -> set[int]:
    me, found = os.getpid(), set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(pid))
    return found


def reap(pids) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue


@pytest.fixture
def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def grade_command(submissions, out) -> list[str]:
    return [sys.executable, "-m", "tito.main", "grade", "02", str(submissions), "--out", str(out), "--jobs", "2",
            "--cell-timeout", str(TEST_SETTINGS.cell_timeout),
            "--memory-limit-mb", str(TEST_SETTINGS.memory_limit_bytes // 2**20)]


def test_a_killed_grade_leaves_no_process_and_a_rerun_finishes_the_class(checks_project, checks_release, tmp_path,
                                                                         subreaper):
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    write_submission(submissions, "first", solve_checks(fresh(checks_release)), NAME)
    write_submission(submissions, "second", solve_checks(fresh(checks_release)), NAME)
    slow = solve_checks(fresh(checks_release))
    for _ in range(4):
        insert_after(slow, "checks-helper", "import time\ntime.sleep(1.5)")
    write_submission(submissions, "slow", slow, NAME)
    write_submission(submissions, "stub", fresh(checks_release), NAME)
    env = {**os.environ, "TITO_ROOT": str(checks_project)}
    before = children_of_me()
    grader = subprocess.Popen(grade_command(submissions, out), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not list((out / "autograded").glob(f"*/02_checks/{NAME}")):  # a student has started: kill mid-run
        assert grader.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 20
    while (left := children_of_me() - before) and time.monotonic() < deadline:
        reap(left)
        time.sleep(0.05)
    assert not left, [open(f"/proc/{pid}/cmdline").read().replace("\0", " ") for pid in left]

    rerun = subprocess.run(grade_command(submissions, out), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert {name: row["score"] for name, row in rows.items()} == EXPECTED
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert {name: f"{gradebook.find_submission('02_checks', name).score:g}" for name in EXPECTED} == EXPECTED
