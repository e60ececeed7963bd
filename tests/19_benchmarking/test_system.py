"""The machine: system information, and a machine loaded on purpose (busy_machine)."""
import os
import time

import psutil
import pytest

from tinytorch.benchmarking.benchmark import busy_machine


def _spinners():
    return [child for child in psutil.Process().children() if "getppid" in " ".join(child.cmdline())]


def test_busy_machine_starts_one_spinning_process_per_core_and_stops_them():
    with busy_machine() as count:
        assert count == (os.cpu_count() or 1)
        spinners = _spinners()
        assert len(spinners) == count
        time.sleep(0.2)  # let them spin: they use CPU, unlike sleeping processes
        assert all(spinner.cpu_times().user > 0 for spinner in spinners)
    assert not _spinners() and not any(spinner.is_running() and spinner.status() != psutil.STATUS_ZOMBIE
                                       for spinner in spinners)


def test_a_spinner_stops_by_itself_after_its_time_limit():
    with busy_machine(processes=1, max_seconds=0.2):
        [spinner] = _spinners()
        assert spinner.wait(timeout=10) == 0, "it returned by itself"


def test_a_spinner_that_cannot_start_leaves_none_behind(monkeypatch):
    import subprocess
    real_popen, started = subprocess.Popen, []

    def second_fails(*args, **kwargs):
        if started:
            raise PermissionError("no new processes here")
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", second_fails)
    with pytest.raises(PermissionError):
        with busy_machine(processes=2):
            pass
    assert started[0].poll() is not None, "the one that started was stopped"
