"""A forked grading kernel isolates itself: what `tito.kernel_zygote` does in the child before any
student code runs, inside the sandbox (`tito.sandbox`), with the system calls of `tito.namespaces`.

    unshare(user, mount, pid, net, ipc, uts)  ->  one uid/gid mapped  ->  private mounts: a size-capped
    scratch tmpfs (also /tmp and /dev/shm), its own socket folder, every other kernel's hidden  ->
    fork: the kernel is pid 1 of a new PID namespace (whatever it starts dies with it), the first
    process waits for it  ->  a fresh /proc, process/CPU/file limits, no capabilities, no new privileges

Mounts inherited from the zygote's namespace are locked by the kernel: the kernel cannot unmount them,
and without capabilities it cannot mount anything either.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
from dataclasses import dataclass

_KERNEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SELF_TEST_ID = ".self-test"


@dataclass(frozen=True)
class KernelLimits:
    """What every kernel of one zygote gets; fixed when the zygote starts."""

    memory_bytes: int
    output_bytes: int
    processes: int = 128
    cpu_seconds: int = 600
    scratch_bytes: int = 256 * 2**20
    allow_subprocesses: bool = False

    def argv(self) -> list[str]:
        return ["--memory-limit", str(self.memory_bytes), "--output-limit", str(self.output_bytes),
                "--processes", str(self.processes), "--cpu-limit", str(self.cpu_seconds),
                "--scratch-limit", str(self.scratch_bytes)] + (["--allow-subprocesses"] if self.allow_subprocesses else [])

    @classmethod
    def parse_into(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--memory-limit", type=int, required=True)
        parser.add_argument("--output-limit", type=int, required=True)
        parser.add_argument("--processes", type=int, default=128)
        parser.add_argument("--cpu-limit", type=int, default=600)
        parser.add_argument("--scratch-limit", type=int, default=256 * 2**20)
        parser.add_argument("--allow-subprocesses", action="store_true")

    @classmethod
    def from_options(cls, options) -> KernelLimits:
        return cls(options.memory_limit, options.output_limit, options.processes, options.cpu_limit,
                   options.scratch_limit, options.allow_subprocesses)


def isolate(kernel_id: str, limits: KernelLimits, keep: frozenset[int] = frozenset()) -> int:
    """In a fork of the sandboxed zygote: enter the kernel's namespaces. Returns in the kernel (pid 1
    of its PID namespace) with 0; the intermediate process never returns (it waits, then exits with
    the kernel's exit code)."""
    from . import namespaces as ns
    from .sandbox import KERNEL_DIR, SANDBOX_KERNELS, SCRATCH

    if not _KERNEL_ID.match(kernel_id) or kernel_id in (".", ".."):
        raise ValueError(f"bad kernel folder name {kernel_id!r}")
    uid, gid = os.getuid(), os.getgid()
    ns.unshare(ns.CLONE_NEWUSER | ns.CLONE_NEWNS | ns.CLONE_NEWPID | ns.CLONE_NEWNET | ns.CLONE_NEWIPC
               | ns.CLONE_NEWUTS)
    ns.map_single_user(uid, gid)
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    ns.mount("tmpfs", SCRATCH, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, f"size={limits.scratch_bytes},mode=0700")
    os.mkdir(f"{SCRATCH}/.shm", 0o700)
    # The scratch becomes /tmp; a Python installed under /tmp (a project cloned there) would vanish
    # with the old /tmp, so its folders are bound into the scratch first (read-only, as mounted).
    for root in _python_roots_under_tmp():
        inside = f"{SCRATCH}/{root.relative_to('/tmp')}"
        os.makedirs(inside, 0o755)
        ns.mount(str(root), inside, None, ns.MS_BIND | ns.MS_REC)
    ns.mount(SCRATCH, "/tmp", None, ns.MS_BIND | ns.MS_REC)
    if os.path.isdir("/dev/shm"):
        ns.mount(f"{SCRATCH}/.shm", "/dev/shm", None, ns.MS_BIND)
    ns.mount(f"{SANDBOX_KERNELS}/{kernel_id}", KERNEL_DIR, None, ns.MS_BIND)
    # Every other kernel's socket folder disappears under an empty read-only tmpfs.
    ns.mount("tmpfs", SANDBOX_KERNELS, "tmpfs", ns.MS_RDONLY | ns.MS_NOSUID | ns.MS_NODEV, "size=4k,mode=0555")
    ns.close_fds_except(keep)  # no descriptor of the warm process reaches the kernel
    child = os.fork()
    if child:
        _wait_for_kernel(child)
    ns.die_with_parent()
    ns.mount("proc", "/proc", "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    os.setsid()
    ns.set_limits(processes=limits.processes, cpu_seconds=limits.cpu_seconds, file_bytes=limits.scratch_bytes)
    ns.drop_all_capabilities()
    os.chdir(SCRATCH)
    return 0


def _python_roots_under_tmp() -> list:
    from pathlib import Path

    from .sandbox import python_roots

    return [root for root in python_roots() if Path("/tmp") in root.parents]


def _wait_for_kernel(child: int) -> None:
    """The intermediate process: pass interrupts on, wait, exit with the kernel's code."""
    from . import namespaces as ns

    ns.redirect_stdio_to_null()
    signal.signal(signal.SIGINT, lambda signum, frame: os.kill(child, signal.SIGINT))
    # Asked to stop: kill the kernel (and with it its namespace), then collect it, CPU time included.
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(child, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)  # killed by signal N: 128 + N, as a shell reports it


def _python_as_a_kernel_sees_it() -> str:
    """Whether the Python installation is all there (a kernel imports lazily) and cannot be written."""
    import sys

    from .sandbox import python_roots

    missing = [str(root) for root in python_roots() if not os.path.isdir(root)]
    if missing or not os.access(sys.executable, os.X_OK):
        return f"missing: {missing or sys.executable}"
    probe = os.path.join(sys.prefix, ".tito-write-probe")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return "visible, read-only"
    os.unlink(probe)  # the grader refuses to start; the installation keeps nothing of the check
    return f"writable: {sys.prefix}"


def isolation_self_test() -> str:
    """Fork, isolate as a kernel would, check what the kernel sees; 'sandbox ok: ...' or raise.

    Uses the socket folder `SELF_TEST_ID`, which the grader made (see `tito.sandbox.make_socket_root`).
    """
    from .sandbox import SANDBOX_KERNELS

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            isolate(SELF_TEST_ID, KernelLimits(memory_bytes=2**30, output_bytes=2**20, processes=16,
                                                scratch_bytes=2**20), keep=frozenset({write}))
            seen = sorted(name for name in os.listdir("/proc") if name.isdigit())
            report = {"pid": os.getpid(), "processes": seen, "kernels": os.listdir(SANDBOX_KERNELS),
                      "python": _python_as_a_kernel_sees_it()}
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1)
                report["network"] = "reachable"
            except OSError as error:
                report["network"] = error.strerror or str(error)
            os.write(write, json.dumps(report).encode())
            os._exit(0)
        except BaseException as error:  # noqa: BLE001 - reported to the parent, then exit
            os.write(write, json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
            os._exit(1)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    report = json.loads(data or b'{"error": "the isolated process died without a word"}')
    if "error" in report:
        raise RuntimeError(f"a kernel cannot isolate itself: {report['error']}")
    if (report["pid"] != 1 or report["processes"] != ["1"] or report["kernels"] or report["network"] == "reachable"
            or report["python"] != "visible, read-only"):
        raise RuntimeError(f"a kernel's isolation is incomplete: {report}")
    return "sandbox ok: kernel is pid 1, sees 1 process, no other kernel's sockets, network: " + report["network"]


