"""Grading kernels forked from the zygote: isolated, limited, guarded and cleaned up like fresh ones.

Most of these run the zygote without the sandbox (`--no-sandbox`), where the kernels are plain
processes this test can signal; what the sandbox adds is in test_sandbox.py.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import start_new_kernel

from tito import kernel_zygote
from tito.course import KERNEL_NAME, CourseSettings, grading_environment
from tito.project import TitoError

from .kernels import run

REPO = Path(__file__).resolve().parents[2]
SETTINGS = CourseSettings(cell_timeout=10, memory_limit_bytes=1536 * 2**20, sandbox=False)




def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def warm(monkeypatch):
    monkeypatch.delenv(kernel_zygote.ZYGOTE_ENV, raising=False)
    assert kernel_zygote.provisioner_installed(), "reinstall the project: pip install -e ."
    with grading_environment(REPO, SETTINGS, warm_kernels=True) as kernels:
        assert kernel_zygote.ZYGOTE_ENV not in os.environ, "no kernel may ask the zygote before it is ready"
        assert kernels.ready()
        yield os.environ[kernel_zygote.ZYGOTE_ENV]


def test_a_forked_kernel_is_its_own_sandboxed_process_with_the_libraries_loaded(warm, tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(folder))
    try:
        assert km.provisioner.__class__.__name__ == "ZygoteProvisioner"
        facts = json.loads(run(kc, "import os, sys, json, resource\n"
                               "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), 'path0': sys.path[0],\n"
                               "  'preloaded': 'scipy.stats' in sys.modules, 'tmp': os.environ.get('TMPDIR'),\n"
                               "  'backend': os.environ.get('MPLBACKEND'), 'limit': resource.getrlimit(resource.RLIMIT_AS)[0]}))"))
        assert facts["pid"] == km.provisioner.pid != os.getpid()
        assert facts["cwd"] == facts["path0"] == facts["tmp"] == str(folder)
        assert facts["preloaded"] and facts["backend"] == "Agg"
        assert facts["limit"] == SETTINGS.memory_limit_bytes
        assert run(kc, "import os; print(sorted(k for k in os.environ if k.startswith('TITO')))") == "[]"
        assert "PermissionError" in run(kc, f"open({str(tmp_path / 'outside.txt')!r}, 'w')")
        assert not (tmp_path / "outside.txt").exists()
        assert run(kc, "open('inside.txt', 'w').write('ok'); print(open('inside.txt').read())") == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert gone(facts["pid"])
    assert km.provisioner is None or not km.has_kernel


def test_each_kernel_gets_fresh_randomness(warm, tmp_path):
    draws = []
    for _ in range(2):
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
        try:
            draws.append(run(kc, "import numpy as np; print(np.random.random())"))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert draws[0] != draws[1]


def test_an_interrupt_reaches_a_forked_kernel(warm, tmp_path):
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    try:
        # stop_on_error=False: otherwise ipykernel aborts the requests that arrive right after an error.
        kc.execute("import time\nwhile True: time.sleep(0.01)", stop_on_error=False)
        time.sleep(0.5)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert run(kc, "print(6 * 7)") == "42"  # still alive after the interrupt
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_exit_codes_come_back_over_the_socket(warm, tmp_path):
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    process = km.provisioner.process
    kc.stop_channels()
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert process.poll() == -signal.SIGKILL
    km.cleanup_resources()


def test_a_request_cannot_change_the_limits_of_its_kernel(warm, tmp_path):
    """Attack 1 of issue 13 at its root: whatever a request says, the kernel gets the zygote's limits."""
    connection_file, info = write_connection_file(str(tmp_path / "kernel.json"))
    process = kernel_zygote.ZygoteKernelProcess(warm, {
        "cwd": str(tmp_path), "env": dict(os.environ), "connection_file": connection_file,
        "argv": ["python", "-m", "tito.grading_kernel", "--allow-subprocesses", "--memory-limit", str(2**40)]})
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        assert "PermissionError" in run(client, "import subprocess; subprocess.run(['true'])")
        assert run(client, "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])") == str(
            SETTINGS.memory_limit_bytes)
    finally:
        client.stop_channels()
        process.kill()
        process.wait(timeout=10)


def test_a_kernel_whose_requester_left_is_killed(warm, tmp_path):
    connection_file, _ = write_connection_file(str(tmp_path / "kernel.json"))
    process = kernel_zygote.ZygoteKernelProcess(warm, {"cwd": str(tmp_path), "env": dict(os.environ),
                                                       "connection_file": connection_file})
    with pytest.raises(TimeoutError, match="still running"):
        process.wait(timeout=0.3)
    assert process.poll() is None
    process._conn.close()  # as if the grading worker had died
    assert gone(process.pid)


def test_stopping_the_zygote_stops_its_kernels(tmp_path, monkeypatch):
    monkeypatch.delenv(kernel_zygote.ZYGOTE_ENV, raising=False)
    with grading_environment(REPO, SETTINGS, warm_kernels=True) as kernels:
        assert kernels.ready()
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
        pid = km.provisioner.pid
        kc.stop_channels()
    assert kernel_zygote.ZYGOTE_ENV not in os.environ
    assert gone(pid)


def test_without_the_installed_provisioner_kernels_are_fresh_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_zygote, "provisioner_installed", lambda: False)
    monkeypatch.delenv(kernel_zygote.ZYGOTE_ENV, raising=False)
    with grading_environment(REPO, SETTINGS, warm_kernels=True) as kernels:
        assert not kernels.ready() and kernel_zygote.ZYGOTE_ENV not in os.environ
        spec = json.loads(next(Path(p) for p in os.environ["JUPYTER_PATH"].split(os.pathsep))
                          .joinpath("kernels", KERNEL_NAME, "kernel.json").read_text())
        assert "kernel_provisioner" not in spec["metadata"]


def test_a_zygote_that_cannot_start_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # a tito that fails on import shadows the real one
    (tmp_path / "tito").mkdir()
    (tmp_path / "tito" / "__init__.py").write_text("raise ImportError('broken tito')\n")
    with kernel_zygote.running_zygote(tmp_path, {"PYTHONPATH": str(tmp_path)}, SETTINGS.kernel_limits()) as zygote:
        with pytest.raises(RuntimeError, match="exited with code 1"):
            zygote.wait_ready()


def test_a_sandboxed_zygote_that_cannot_start_stops_grading_instead_of_falling_back(tmp_path, monkeypatch):
    def never_ready(self):
        raise RuntimeError("the grading-kernel zygote exited with code 3 before it was ready")

    monkeypatch.delenv(kernel_zygote.ZYGOTE_ENV, raising=False)
    monkeypatch.setattr(kernel_zygote.Zygote, "wait_ready", never_ready)
    with grading_environment(REPO, CourseSettings(memory_limit_bytes=1536 * 2**20), warm_kernels=True,
                             course_package=True) as kernels:
        with pytest.raises(TitoError, match="sandbox could not start.*--no-sandbox"):
            kernels.ready()
        assert kernel_zygote.ZYGOTE_ENV not in os.environ



def test_a_zygote_that_fails_to_start_leaves_grading_to_fresh_kernels(tmp_path, monkeypatch, capsys):
    def cannot_start(folder, env, limits, sandbox=None):
        raise OSError("too many open files")

    def never_ready(self):
        raise RuntimeError("the grading-kernel zygote exited with code 1 before it was ready")

    monkeypatch.delenv(kernel_zygote.ZYGOTE_ENV, raising=False)
    with monkeypatch.context() as patch:
        patch.setattr(kernel_zygote, "running_zygote", cannot_start)
        with grading_environment(REPO, SETTINGS, warm_kernels=True) as kernels:
            assert not kernels.ready()
        assert "too many open files" in capsys.readouterr().err
    monkeypatch.setattr(kernel_zygote.Zygote, "wait_ready", never_ready)
    with grading_environment(REPO, SETTINGS, warm_kernels=True) as kernels:
        assert not kernels.ready() and kernel_zygote.ZYGOTE_ENV not in os.environ
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
        try:
            assert run(kc, "import sys; print('scipy.stats' in sys.modules)") == "False"  # a fresh process
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert "starting a fresh kernel per student" in capsys.readouterr().err


def test_a_zygote_that_died_mid_run_costs_speed_not_grades(warm, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(kernel_zygote.ZYGOTE_ENV, str(tmp_path / "no-such.sock"))  # as if it had been killed
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    try:
        assert run(kc, "print(6 * 7)") == "42"
        assert not isinstance(km.provisioner.process, kernel_zygote.ZygoteKernelProcess)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "starting a fresh one" in capsys.readouterr().err
