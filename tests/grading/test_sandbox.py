"""What a sandboxed grading kernel can see and do: measured from inside real kernels.

The kernels are forked from the sandboxed warm process exactly as `tito grade` forks them, with the
course package of the fixture module 02 (release stubs) as their `tinytorch`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from jupyter_client.manager import start_new_kernel

from tito import sandbox
from tito.course import KERNEL_NAME, CourseSettings, grading_environment
from tito.main import main
from tito.project import resolve_module
from tito.student_course import course_package

from .conftest import REPO
from .kernels import processes_with, run

pytestmark = pytest.mark.slow

SETTINGS = CourseSettings(cell_timeout=10, memory_limit_bytes=1536 * 2**20, scratch_limit_bytes=8 * 2**20,
                          max_processes=48)
MARKER = "tito-sandbox-test-3f9d"






def gone(marker: str, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not processes_with(marker):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def sandboxed(checks_project):
    with pytest.MonkeyPatch.context() as patch:
        for key in ("TITO_KERNEL_ZYGOTE", "TITO_KERNEL_SOCKETS"):
            patch.delenv(key, raising=False)
        with grading_environment(checks_project, SETTINGS, warm_kernels=True, course_package=True) as kernels:
            course_package(resolve_module(checks_project, "02"), kernels.package_dir)
            assert kernels.ready() and kernels.sandboxed
            yield {"project": checks_project, "kernels": kernels}


@pytest.fixture
def kernel(sandboxed, tmp_path):
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


FACTS = """
import json, os, resource, socket
facts = {"pid": os.getpid(), "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
         "uid": os.getuid(), "cwd": os.getcwd(), "root": sorted(os.listdir("/")),
         "env": sorted(k for k in os.environ if k.startswith("TITO")),
         "limits": {name: resource.getrlimit(getattr(resource, name))[0] for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_CPU")},
         "sockets": os.listdir("/tito/kernels"), "own": sorted(os.listdir("/tito/kernel"))}
try:
    socket.create_connection(("192.0.2.1", 80), timeout=2)
    facts["network"] = "reachable"
except OSError as error:
    facts["network"] = error.strerror
def can_write(path):
    try:
        open(path, "w").close()
        return True
    except OSError:
        return False
facts["writable"] = {p: can_write(p) for p in ("/tito/lib/tinytorch/x.py", "/usr/x", "/x", "/tmp/x", "/scratch/y")}
import tinytorch.fixture.checks as graded, inspect
facts["graded"] = graded.__file__
facts["stubbed"] = "NotImplementedError" in inspect.getsource(graded)
print(json.dumps(facts))
"""


def test_a_kernel_sees_only_itself_and_its_scratch_folder(sandboxed, kernel):
    facts = json.loads(run(kernel, FACTS))
    assert facts["pid"] == 1 and facts["processes"] == ["1"]
    assert facts["uid"] != 0 and facts["cwd"] == sandbox.SCRATCH
    assert str(sandboxed["project"]).split("/")[1] not in facts["root"] or facts["root"] == sorted(facts["root"])
    assert not any(name in facts["root"] for name in ("home", "srv", "mnt", "opt", "var"))
    assert facts["env"] == [] and facts["sockets"] == [] and facts["own"] == ["connection.json"] + sorted(
        n for n in facts["own"] if n != "connection.json")
    assert facts["network"] in ("Network is unreachable", "No route to host")
    assert facts["limits"] == {"RLIMIT_AS": SETTINGS.memory_limit_bytes, "RLIMIT_NPROC": SETTINGS.max_processes,
                               "RLIMIT_CPU": 2 * SETTINGS.notebook_timeout}
    assert facts["writable"] == {"/tito/lib/tinytorch/x.py": False, "/usr/x": False, "/x": False, "/tmp/x": True,
                                 "/scratch/y": True}
    assert facts["graded"].startswith(sandbox.SANDBOX_LIB) and facts["stubbed"]  # the release, not the solution


def test_the_instructors_project_is_not_there(sandboxed, kernel):
    project = sandboxed["project"]
    code = (f"import os\nprint([os.path.exists(p) for p in ({str(project)!r}, {str(project / 'modules')!r}, "
            f"{str(REPO / 'modules')!r}, {os.path.expanduser('~')!r} + '/.bashrc')])")
    assert run(kernel, code) == "[False, False, False, False]"


def test_the_scratch_folder_is_capped_and_shared_with_tmp(kernel):
    out = run(kernel, "import os\ntry:\n    open('/tmp/big', 'wb').write(b'x' * (16 * 2**20))\n"
                      "except OSError as error:\n    print(error.errno, os.path.exists('/scratch/big'))")
    assert out == "28 True"  # ENOSPC, in the same 8 MiB tmpfs


def test_what_a_cell_prints_is_not_kept_in_the_kernels_memory(kernel):
    """IPython 9 keeps every string a cell prints (even with history off): 1 GB printed held 1 GB, and the
    flooding kernel died of its memory cap at a random point instead of having its output truncated."""
    code = ("def rss():\n    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
            "before = rss()\nfor _ in range(300):\n    print('x' * 1_000_000)\n"
            "growth_mb = (rss() - before) / 1024")
    out = run(kernel, code)
    assert "output truncated" in out
    assert float(run(kernel, "print(growth_mb)")) < 100  # 300 MB printed; it grew by 293 MB before the fix
    assert run(kernel, "print(6 * 7)") == "42"


def test_processes_are_capped_and_die_with_the_kernel(sandboxed, tmp_path):
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    try:
        code = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nmade = 0\n"
                "for _ in range(200):\n    child = libc.fork()\n    if child == 0:\n"
                f"        argv = (ctypes.c_char_p * 3)(b'{MARKER}', b'1000', None)\n"
                "        libc.execv(b'/bin/sleep', argv)\n        libc._exit(1)\n"
                "    if child < 0:\n        break\n    made += 1\nprint(made)")
        made = int(run(kc, code))
        assert 0 < made < SETTINGS.max_processes  # the cap stopped it; the kernel's own threads count too
        assert run(kc, "print(6 * 7)") == "42"
        assert processes_with(MARKER)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert gone(MARKER)  # the kernel was pid 1 of their namespace: they died with it


def test_kernels_cannot_see_or_signal_each_other(sandboxed, tmp_path):
    first = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    second = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
    try:
        assert run(first[1], "import ctypes, os\nlibc = ctypes.CDLL(None)\n"
                             "print(libc.kill(-1, 9), [libc.kill(p, 9) for p in range(2, 64)].count(0) >= 0)") == "-1 True"
        assert run(second[1], "print('still here')") == "still here"
        assert run(first[1], "print('me too')") == "me too"
    finally:
        for km, kc in (first, second):
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_the_probe_makes_a_sandbox_here():
    assert sandbox.probe().startswith("sandbox ok")


def test_a_python_installed_under_tmp_is_visible_in_the_sandbox():
    """A project cloned into /tmp has its venv there; the sandbox's own /tmp must not hide it."""
    import sysconfig
    import tempfile

    with tempfile.TemporaryDirectory(dir="/tmp", prefix="tito-venv-") as folder:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", f"{folder}/venv"], check=True)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}{os.pathsep}{sysconfig.get_paths()['purelib']}"}
        done = subprocess.run([f"{folder}/venv/bin/python", "-c", "from tito import sandbox; print(sandbox.probe())"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("sandbox ok"), done.stderr[-600:]


def test_doctor_reports_whether_grading_is_sandboxed(capsys):
    main(["system", "doctor", "--json"])
    check = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["check"].startswith("grading sandbox"))
    assert check["ok"] is True and check["found"].startswith("sandbox ok")


WITHOUT_USER_NAMESPACES = ("import subprocess, sys\n"
                           "with open('/proc/sys/user/max_user_namespaces', 'w') as handle:\n    handle.write('0')\n")


def test_without_user_namespaces_doctor_and_grade_say_how_to_enable_a_sandbox(tmp_path, checks_project):
    """A real machine without user namespaces: a user namespace whose limit of nested ones is 0."""
    script = WITHOUT_USER_NAMESPACES + (
        "from tito.main import main\n"
        f"print('doctor', main(['system', 'doctor', '--json']))\n"
        f"sys.exit(main(['grade', '02', {str(tmp_path / 'subs')!r}, '--out', {str(tmp_path / 'out')!r}]))\n")
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    done = subprocess.run(["unshare", "--user", "--map-root-user", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "TITO_ROOT": str(checks_project)})
    doctor = json.loads(done.stdout[:done.stdout.rindex("doctor")])
    check = next(c for c in doctor["checks"] if c["check"].startswith("grading sandbox"))
    assert check["ok"] is False and "--no-sandbox" in check["fix"] and "user namespaces" in check["fix"]
    assert done.returncode == 1, done.stderr
    assert "grading sandbox could not start" in done.stderr and "--no-sandbox" in done.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_memory_cap_too_small_for_a_kernel_is_refused_before_any_student(checks_project, checks_release, tmp_path,
                                                                           monkeypatch, capsys):
    from .conftest import fresh, write_submission

    monkeypatch.setenv("TITO_ROOT", str(checks_project))
    write_submission(tmp_path / "subs", "someone", fresh(checks_release), "checks_dev.ipynb")
    out = tmp_path / "out"
    assert main(["grade", "02", str(tmp_path / "subs"), "--out", str(out), "--memory-limit-mb", "300"]) == 2
    assert "--memory-limit-mb 300 is below the 512 MiB" in capsys.readouterr().err
    # Above the bare minimum, but below what the warm process already maps plus a kernel's start: measured here.
    assert main(["grade", "02", str(tmp_path / "subs"), "--out", str(out), "--memory-limit-mb", "600"]) == 2
    message = capsys.readouterr().err
    assert "--memory-limit-mb 600 is below the" in message and "needs to start on this machine" in message
    assert not (out / "grades.csv").exists() and not (out / "autograded").exists()
