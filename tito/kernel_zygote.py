"""Grading kernels forked from a warm process, so that twenty students do not pay twenty imports.

A fresh Python kernel for Module 19 spends ~3 s before the student's first line runs: starting
ipykernel, then importing numpy, scipy.stats, pandas and matplotlib. `tito grade` therefore starts
one *zygote* per run, a process that has imported those libraries and nothing of the course, and
each grading kernel is a fork of it.

With the sandbox (the default, see `tito.sandbox`) the zygote itself runs inside bubblewrap, and each
fork isolates itself further before any student code runs (`tito.isolation`): a user namespace of its own,
a PID namespace in which the kernel is process 1 (it sees and can signal nothing else; when it
exits, everything it started dies with it), no network, a size-capped scratch tmpfs as the only
writable folder (also its /tmp and /dev/shm), its own socket folder and no view of any other
kernel's, resource limits, no capabilities. Without the sandbox (`--no-sandbox`) a fork is a plain
process with the memory cap and the write guard of `tito.grading_kernel`.

Two halves:
- `serve()` is the zygote (`python -m tito.kernel_zygote --listen-fd N ...`). It accepts requests on
  a Unix socket it inherited (it has no path a kernel could look up); for each it forks a kernel,
  answers with its pid, forwards signals the requester asks for, and reports the exit code. The
  limits of every kernel are fixed on its own command line: a request cannot change them. It kills
  a kernel whose requester went away, and all of them when it is stopped or orphaned.
- `ZygoteProvisioner` is the jupyter_client kernel provisioner that nbgrader's executor uses (named in
  the `tito-grader` kernelspec, registered as an entry point). It asks the zygote named by
  `$TITO_KERNEL_ZYGOTE` for a kernel; with `$TITO_KERNEL_SOCKETS` set (sandboxed grading) the kernel
  talks over Unix sockets in a folder made for it. Without the variables it is the default (local)
  provisioner.

Only third-party libraries are preloaded: importing them has no effect that depends on the student
or the folder. The course's `tinytorch` is imported by each notebook, in its kernel.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

from .isolation import KernelLimits, isolate, isolation_self_test

ZYGOTE_ENV = "TITO_KERNEL_ZYGOTE"
SOCKETS_ENV = "TITO_KERNEL_SOCKETS"
PROVISIONER_NAME = "tito-zygote-provisioner"
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "sqlite3",  # the kernel itself
           "numpy", "scipy.stats", "pandas", "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg",
           "psutil", "threadpoolctl")


# ---------------------------------------------------------------- the zygote

def _preload(modules) -> list[str]:
    """Import what can be imported; a course without pandas simply does not preload it."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except ImportError:
            continue
    return loaded


def _mapped_bytes() -> int:
    """This process's address space (VmSize): every kernel forked from it starts with that much mapped."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _read_line(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > limit:
            raise ConnectionError("the request ended early")
        data += chunk
    return data


def _become_kernel(request: dict, limits: KernelLimits, sandboxed: bool) -> None:
    """In the forked child: isolate (sandboxed), take on the kernel's folder and environment, run it, exit."""
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)
        if sandboxed:
            from .sandbox import KERNEL_DIR, SCRATCH

            env = {**os.environ, "HOME": SCRATCH, "TMPDIR": SCRATCH, "IPYTHONDIR": f"{SCRATCH}/.ipython",
                   "MPLCONFIGDIR": f"{SCRATCH}/.matplotlib"}
            connection = dict(request["connection"])
            isolate(request["kernel_id"], limits)
            from . import namespaces as ns

            ns.redirect_stdio_to_null()
            connection_file = f"{KERNEL_DIR}/connection.json"
            with open(connection_file, "w") as handle:
                json.dump(connection, handle)
            folder, writable = SCRATCH, [SCRATCH, "/tmp", "/dev/shm"]  # one tmpfs, three names
        else:
            os.setsid()  # its own process group: interrupts and kills reach the kernel and its children only
            os.chdir(request["cwd"])
            env = {key: value for key, value in request["env"].items() if key not in (ZYGOTE_ENV, SOCKETS_ENV)}
            connection_file = request["connection_file"]
            folder = os.getcwd()
            writable = [folder]
        os.environ.clear()
        os.environ.update(env)
        sys.path[0] = folder  # what `python -m` puts first: the kernel's own folder
        if "numpy" in sys.modules:  # a fresh interpreter seeds numpy's global generator afresh; so do we
            sys.modules["numpy"].random.seed()
        argv = [*limits.argv(), *(f"--folder={path}" for path in writable), "-f", connection_file]
        sys.argv = ["tito.grading_kernel", *argv]
        from tito import grading_kernel

        grading_kernel.main(argv, limits_applied=sandboxed)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                continue
        os._exit(code)


class _Zygote:
    def __init__(self, listener: socket.socket, limits: KernelLimits, sandboxed: bool):
        self.listener = listener
        self.limits = limits
        self.sandboxed = sandboxed
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        # stdin is a pipe from the grader: its end (the grader closed it, or died) means stop.
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
        self.children: dict[int, socket.socket] = {}  # kernel pid -> the requester's connection
        self.pending: dict[int, bytes] = {}  # kernel pid -> partial line from its requester
        self.parent = os.getppid()
        self.report_fd: int | None = None

    def fork_kernel(self) -> None:
        conn, _ = self.listener.accept()
        try:
            conn.settimeout(10)
            request = json.loads(_read_line(conn))
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except (OSError, ValueError, ConnectionError) as error:
            print(f"tito kernel zygote: bad request ({error}); ignored", file=sys.stderr)
            conn.close()
            return
        pid = os.fork()
        if pid == 0:  # the kernel keeps none of the zygote's descriptors
            self.selector.close()
            self.listener.close()
            if self.report_fd is not None:
                os.close(self.report_fd)
            os.dup2(os.open(os.devnull, os.O_RDONLY), sys.stdin.fileno())
            for other in self.children.values():
                other.close()
            conn.close()
            _become_kernel(request, self.limits, self.sandboxed)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        conn.setblocking(False)
        self.children[pid] = conn
        self.pending[pid] = b""
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def from_requester(self, conn: socket.socket, pid: int) -> None:
        """A line from a requester (`signal N`), or its end: then nobody could stop this kernel: kill it."""
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unregister(conn)
            self.kill(pid)  # reaping sees it exit
            return
        buffer = self.pending.get(pid, b"") + data
        *lines, self.pending[pid] = buffer.split(b"\n")
        for line in lines:
            words = line.split()
            if len(words) == 2 and words[0] == b"signal" and words[1].isdigit():
                signum = int(words[1])
                if signum in (signal.SIGKILL, signal.SIGTERM):
                    self.kill(pid)
                elif signum == signal.SIGINT:
                    _signal(pid, signal.SIGINT)

    def kill(self, pid: int) -> None:
        """A sandboxed kernel's first process is ours (it never runs student code): asked to stop, it
        kills the kernel and collects it. An unsandboxed kernel is killed with its process group."""
        if self.sandboxed:
            _signal(pid, signal.SIGTERM)
        else:
            _kill_group(pid)

    def _unregister(self, conn: socket.socket) -> None:
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):  # already unregistered when its requester left
            pass

    def reap(self) -> None:
        """Collect the kernels that have exited, without waiting for the others."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._report_exit(pid, status)

    def _report_exit(self, pid: int, status: int) -> None:
        conn = self.children.pop(pid, None)
        self.pending.pop(pid, None)
        if conn is None:
            return
        self._unregister(conn)
        try:
            conn.setblocking(True)
            conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        except OSError:
            pass  # its requester is gone: nobody to tell
        conn.close()

    def run(self) -> None:
        while self.sandboxed or os.getppid() == self.parent:  # orphaned (tito grade was killed): stop
            for key, _ in self.selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    self.fork_kernel()
                elif key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                else:
                    self.from_requester(key.fileobj, key.data)
            self.reap()

    def stop(self) -> None:
        """Kill every kernel still running and collect it (SIGKILL cannot be ignored)."""
        for pid in list(self.children):
            self.kill(pid)
        for pid in list(self.children):
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = -signal.SIGKILL
            self._report_exit(pid, status)


def _signal(pid: int, signum: int) -> None:
    for send in (lambda: os.killpg(pid, signum), lambda: os.kill(pid, signum)):
        try:
            send()
            return
        except OSError:
            continue


def _kill_group(pid: int) -> None:
    _signal(pid, signal.SIGKILL)


def serve(listener: socket.socket, limits: KernelLimits, sandboxed: bool, preload=PRELOAD) -> None:
    """Preload, then fork kernels for requests on `listener` until SIGTERM or until the parent dies.

    Prints one line, `ready <bytes mapped>`, on stdout once it accepts requests (after a self-test of the isolation
    when sandboxed), then points stdout at /dev/null (kernels must not write into the pipe their
    grader reads).
    """
    _preload(preload)
    if sandboxed:
        try:
            isolation_self_test()
        except (OSError, RuntimeError) as error:
            print(f"tito kernel zygote: {error}", file=sys.stderr, flush=True)
            raise SystemExit(3) from error
    print(f"ready {_mapped_bytes()}", flush=True)
    report = os.dup(sys.stdout.fileno())  # for the last line, the CPU time (see Zygote.stop)
    os.set_inheritable(report, False)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    zygote = _Zygote(listener, limits, sandboxed)
    zygote.report_fd = report

    def terminate(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    try:
        zygote.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        zygote.stop()
        listener.close()
        # The sandbox's processes are not children the grader waits for: their CPU time is told instead.
        used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        os.write(report, f"cpu {sum(u.ru_utime + u.ru_stime for u in used):.3f}\n".encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tito.kernel_zygote")
    parser.add_argument("--listen-fd", type=int, required=True, help="an inherited, listening Unix socket")
    parser.add_argument("--sandboxed", action="store_true", help="isolate each kernel (inside tito.sandbox)")
    KernelLimits.parse_into(parser)
    options = parser.parse_args(argv)
    listener = socket.socket(fileno=options.listen_fd)
    serve(listener, KernelLimits.from_options(options), options.sandboxed)


# ---------------------------------------------------------------- the requester's side

def provisioner_installed() -> bool:
    """Whether jupyter_client can find `ZygoteProvisioner` (an entry point of the installed project)."""
    from importlib.metadata import entry_points

    return any(point.name == PROVISIONER_NAME for point in entry_points(group="jupyter_client.kernel_provisioners"))


class Zygote:
    """A zygote process started in `folder`; `wait_ready()` returns its socket once it accepts requests.

    Starting returns at once, so the grader can build the release while the zygote imports.
    `sandbox` is a `tito.sandbox.SandboxPlan` (the zygote runs inside bubblewrap) or None (a plain
    process whose environment adds `kernel_env`).
    """

    def __init__(self, folder: Path, kernel_env: dict[str, str], limits: KernelLimits, sandbox=None,
                 start_timeout: float = 120.0):
        self.socket_path = str(Path(folder) / "zygote.sock")
        self.start_timeout = start_timeout
        self.sandbox = sandbox
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.socket_path)
            listener.listen(64)
            command = [sys.executable, "-m", "tito.kernel_zygote", "--listen-fd", str(listener.fileno()),
                       *limits.argv()]
            self.stage = None
            if sandbox is not None:
                # The root launcher's mount point: `nobody` must be able to pass through its parents.
                self.stage = tempfile.mkdtemp(prefix="tito-stage-")
                os.chmod(self.stage, 0o711)
                stage = Path(self.stage)
                self.process = sandbox.popen([*command, "--sandboxed"], stage, pass_fds=(listener.fileno(),),
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            else:
                self.process = subprocess.Popen(command, env={**os.environ, **kernel_env}, cwd=folder,
                                                pass_fds=(listener.fileno(),), stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE)
        finally:
            listener.close()  # the zygote holds its copy; no kernel or worker inherits ours
        self._ready = False
        self.mapped_bytes = 0
        self.cpu_seconds: float | None = None  # the zygote's and its kernels' CPU time, once stopped

    def wait_ready(self) -> str:
        """Block until the zygote says `ready`; RuntimeError if it exits or stays silent too long."""
        if not self._ready:
            with selectors.DefaultSelector() as selector:
                selector.register(self.process.stdout, selectors.EVENT_READ)
                if not selector.select(timeout=self.start_timeout):
                    raise RuntimeError(f"the grading-kernel zygote was not ready after {self.start_timeout:.0f} s")
            for line in iter(self.process.stdout.readline, b""):  # lines a preloaded library may print
                words = line.split()
                if words[:1] == [b"ready"]:
                    self.mapped_bytes = int(words[1]) if len(words) > 1 else 0
                    break
            else:  # end of file: it exited before it was ready
                raise RuntimeError(f"the grading-kernel zygote exited with code {self.process.wait()} "
                                   "before it was ready; its error is printed above")
            self._ready = True
        return self.socket_path

    def stop(self) -> None:
        """Stop the zygote: closing its stdin asks it to kill its kernels and exit (so that every process
        is collected, their CPU time included); a zygote that does not is terminated."""
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for line in self.process.stdout.read().splitlines():
            if line.startswith(b"cpu "):
                self.cpu_seconds = float(line.split()[1])
        self.process.stdout.close()
        if self.stage:
            os.rmdir(self.stage)


@contextlib.contextmanager
def running_zygote(folder: Path, kernel_env: dict[str, str], limits: KernelLimits, sandbox=None,
                   start_timeout: float = 120.0) -> Iterator[Zygote]:
    """A started `Zygote` for the block (not yet waited for); stopped, with its kernels, afterwards."""
    zygote = Zygote(folder, kernel_env, limits, sandbox, start_timeout)
    try:
        yield zygote
    finally:
        zygote.stop()


class ZygoteKernelProcess:
    """What jupyter_client's local provisioner needs of a `Popen`, for a kernel forked by the zygote.

    The kernel is the zygote's child, not ours (and in its own PID namespace when sandboxed), so
    signals go through the zygote and the exit code comes back over the socket.
    """

    stdin = stdout = stderr = None

    def __init__(self, socket_path: str, request: dict):
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.settimeout(30)
        self._conn.connect(socket_path)
        self._conn.sendall(json.dumps(request).encode() + b"\n")
        self.pid = int(json.loads(_read_line(self._conn))["pid"])
        self.returncode: int | None = None

    def _finish(self, line: bytes) -> int:
        if line.endswith(b"\n"):
            self.returncode = int(json.loads(line)["exit"])
        else:  # the zygote went away without a word: closing our end makes sure the kernel goes too
            self.returncode = -signal.SIGKILL
        self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        self._conn.setblocking(False)
        try:
            line = self._conn.recv(4096, socket.MSG_PEEK)
        except BlockingIOError:
            return None
        except OSError:
            line = b""
        if line and not line.endswith(b"\n"):
            return None
        if line:
            self._conn.recv(len(line))
        return self._finish(line)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.setblocking(True)
            self._conn.settimeout(timeout)
            try:
                line = _read_line(self._conn)
            except TimeoutError as error:
                raise TimeoutError(f"kernel {self.pid} still running after {timeout} s") from error
            except (ConnectionError, OSError):  # the zygote is gone
                line = b""
            self._finish(line)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            return
        try:
            self._conn.setblocking(True)
            self._conn.sendall(f"signal {int(signum)}\n".encode())
        except OSError:
            pass  # the zygote is gone, and with it the kernel

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ZygoteProvisioner(LocalProvisioner):
        """Launches the kernel through the zygote named by `$TITO_KERNEL_ZYGOTE`, if any."""

        kernel_folder: str | None = None

        async def pre_launch(self, **kwargs):
            sockets = os.environ.get(SOCKETS_ENV)
            if os.environ.get(ZYGOTE_ENV) and sockets and self.parent is not None:
                # Sandboxed: the kernel has no network, so it talks over Unix sockets in a folder of its own.
                from .sandbox import give_to_sandbox

                self.kernel_folder = tempfile.mkdtemp(dir=sockets, prefix="k")
                give_to_sandbox(Path(self.kernel_folder))
                km = self.parent
                km.transport, km.ip, km.cache_ports = "ipc", f"{self.kernel_folder}/k", False
            return await super().pre_launch(**kwargs)

        async def launch_kernel(self, cmd, **kwargs):
            socket_path = os.environ.get(ZYGOTE_ENV)
            if not socket_path:
                return await super().launch_kernel(cmd, **kwargs)
            cwd = kwargs.get("cwd") or os.getcwd()
            if self.kernel_folder:
                from .sandbox import KERNEL_DIR

                with open(self.parent.connection_file) as handle:
                    connection = json.load(handle)
                connection["ip"] = f"{KERNEL_DIR}/k"
                request = {"kernel_id": os.path.basename(self.kernel_folder), "connection": connection}
            else:
                env = kwargs.get("env") or dict(os.environ)
                request = {"cwd": str(cwd), "env": dict(env), "connection_file": self.parent.connection_file}
            try:
                self.process = ZygoteKernelProcess(socket_path, request)
            except (OSError, ValueError, KeyError) as error:
                if self.kernel_folder:  # a sandboxed run has no unsandboxed way out
                    raise RuntimeError(f"the sandboxed grading-kernel process is gone ({error})") from error
                print(f"tito: warm kernel unavailable ({error}); starting a fresh one", file=sys.stderr)
                return await super().launch_kernel(cmd, **kwargs)
            self.pid = self.pgid = self.process.pid
            self.cwd = cwd
            return self.connection_info

        async def send_signal(self, signum: int) -> None:
            if isinstance(self.process, ZygoteKernelProcess):
                self.process.send_signal(signum)
                return
            await super().send_signal(signum)

        async def kill(self, restart: bool = False) -> None:
            if isinstance(self.process, ZygoteKernelProcess):
                self.process.kill()
                return
            await super().kill(restart)

        async def terminate(self, restart: bool = False) -> None:
            if isinstance(self.process, ZygoteKernelProcess):
                self.process.terminate()
                return
            await super().terminate(restart)

        async def cleanup(self, restart: bool = False) -> None:
            await super().cleanup(restart)
            if self.kernel_folder:
                import shutil

                shutil.rmtree(self.kernel_folder, ignore_errors=True)
                self.kernel_folder = None

    return ZygoteProvisioner


def __getattr__(name: str):
    # The provisioner subclasses jupyter_client's, which only grading installs: build it on demand.
    if name == "ZygoteProvisioner":
        return _provisioner_class()
    raise AttributeError(name)


if __name__ == "__main__":
    main()
