"""Grading kernels forked from a warm process, so that twenty students do not pay twenty imports.

A fresh Python kernel for Module 19 spends ~3 s before the student's first line runs: starting
ipykernel, then importing numpy, scipy.stats, pandas and matplotlib. `tito grade` therefore starts
one *zygote* per run, a process that has imported those libraries and nothing of the course, and
each grading kernel is a fork of it: a new process with its own memory limit, write guard, folder
and environment (see `tito.grading_kernel`), whose imports are already in memory.

Two halves:
- `serve()` is the zygote (`python -m tito.kernel_zygote --socket PATH`). It listens on a Unix
  socket; for each request it forks a kernel, answers with the kernel's pid, and later with its
  exit code. It is single-threaded (a fork copies only the calling thread), reaps its children,
  kills a kernel whose requester went away, and kills all of them when it is stopped or orphaned.
- `ZygoteProvisioner` is the jupyter_client kernel provisioner that nbgrader's executor uses (it is
  named in the `tito-grader` kernelspec and registered as an entry point). It asks the zygote named
  by `$TITO_KERNEL_ZYGOTE` for a kernel, and behaves exactly like the default (local) provisioner
  when the variable is not set.

Only third-party libraries are preloaded: importing them has no effect that depends on the student
or the folder. The course's own `tinytorch` is imported by each notebook, in its kernel, as before.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

ZYGOTE_ENV = "TITO_KERNEL_ZYGOTE"
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


def _read_line(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > limit:
            raise ConnectionError("the request ended early")
        data += chunk
    return data


def _become_kernel(request: dict) -> None:
    """In the forked child: take on the kernel's folder, environment and arguments, run it, exit."""
    code = 1
    try:
        os.setsid()  # its own process group: interrupts and kills reach the kernel and its children only
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = os.getcwd()  # what `python -m` puts first: the kernel's own folder
        if "numpy" in sys.modules:  # a fresh interpreter seeds numpy's global generator afresh; so do we
            sys.modules["numpy"].random.seed()
        argv = request["argv"]
        module_at = argv.index("-m") + 1  # [python, -m, tito.grading_kernel, --memory-limit, N, -f, FILE]
        sys.argv = [argv[module_at], *argv[module_at + 1:]]
        from tito import grading_kernel

        grading_kernel.main(argv[module_at + 1:])
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
    def __init__(self, listener: socket.socket):
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        self.children: dict[int, socket.socket] = {}  # kernel pid -> the requester's connection
        self.parent = os.getppid()

    def fork_kernel(self) -> None:
        conn, _ = self.listener.accept()
        try:
            conn.settimeout(10)
            request = json.loads(_read_line(conn))
        except (OSError, ValueError, ConnectionError) as error:
            print(f"tito kernel zygote: bad request ({error}); ignored", file=sys.stderr)
            conn.close()
            return
        pid = os.fork()
        if pid == 0:  # the kernel keeps none of the zygote's descriptors
            self.selector.close()
            self.listener.close()
            for other in self.children.values():
                other.close()
            conn.close()
            _become_kernel(request)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        conn.setblocking(False)
        self.children[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def requester_left(self, conn: socket.socket, pid: int) -> None:
        try:
            if conn.recv(1):  # nothing is ever sent after the request
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        # Its requester is gone: nobody could ever shut this kernel down. Reaping sees it exit.
        self._unregister(conn)
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
        while os.getppid() == self.parent:  # orphaned (tito grade was killed): stop
            for key, _ in self.selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    self.fork_kernel()
                else:
                    self.requester_left(key.fileobj, key.data)
            self.reap()

    def stop(self) -> None:
        """Kill every kernel still running and collect it (SIGKILL cannot be ignored)."""
        for pid in list(self.children):
            _kill_group(pid)
        for pid in list(self.children):
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = -signal.SIGKILL
            self._report_exit(pid, status)


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except OSError:
            continue


def serve(socket_path: str, preload=PRELOAD) -> None:
    """Preload, listen on `socket_path`, fork kernels until SIGTERM or until the parent dies.

    Prints one line, `ready`, on stdout once it accepts connections, then points stdout at /dev/null
    (kernels inherit it: they must not write into the pipe their grader reads).
    """
    _preload(preload)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    print("ready", flush=True)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    zygote = _Zygote(listener)

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tito.kernel_zygote")
    parser.add_argument("--socket", required=True, help="Unix socket path to listen on")
    serve(parser.parse_args(argv).socket)


# ---------------------------------------------------------------- the requester's side

def provisioner_installed() -> bool:
    """Whether jupyter_client can find `ZygoteProvisioner` (an entry point of the installed project)."""
    from importlib.metadata import entry_points

    return any(point.name == PROVISIONER_NAME for point in entry_points(group="jupyter_client.kernel_provisioners"))


class Zygote:
    """A zygote process started in `folder`; `wait_ready()` returns its socket once it accepts requests.

    Starting returns at once, so the grader can build the release while the zygote imports.
    `kernel_env` is what the kernelspec adds to the environment: the zygote gets it too, so that its
    `sys.path` is the one a kernel started from the kernelspec would have.
    """

    def __init__(self, folder: Path, kernel_env: dict[str, str], start_timeout: float = 120.0):
        self.socket_path = str(Path(folder) / "zygote.sock")
        self.start_timeout = start_timeout
        self.process = subprocess.Popen([sys.executable, "-m", "tito.kernel_zygote", "--socket", self.socket_path],
                                        env={**os.environ, **kernel_env}, cwd=folder,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self._ready = False

    def wait_ready(self) -> str:
        """Block until the zygote says `ready`; RuntimeError if it exits or stays silent too long."""
        if not self._ready:
            with selectors.DefaultSelector() as selector:
                selector.register(self.process.stdout, selectors.EVENT_READ)
                if not selector.select(timeout=self.start_timeout):
                    raise RuntimeError(f"the grading-kernel zygote was not ready after {self.start_timeout:.0f} s")
            for line in iter(self.process.stdout.readline, b""):  # lines a preloaded library may print
                if line.strip() == b"ready":
                    break
            else:  # end of file: it exited before it was ready
                raise RuntimeError(f"the grading-kernel zygote exited with code {self.process.wait()} "
                                   "before it was ready; its error is printed above")
            self._ready = True
        return self.socket_path

    def stop(self) -> None:
        """Stop the zygote; it kills the kernels it forked that are still running."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


@contextlib.contextmanager
def running_zygote(folder: Path, kernel_env: dict[str, str], start_timeout: float = 120.0) -> Iterator[Zygote]:
    """A started `Zygote` for the block (not yet waited for); stopped, with its kernels, afterwards."""
    zygote = Zygote(folder, kernel_env, start_timeout)
    try:
        yield zygote
    finally:
        zygote.stop()


class ZygoteKernelProcess:
    """What jupyter_client's local provisioner needs of a `Popen`, for a kernel forked by the zygote.

    The kernel is the zygote's child, not ours, so its exit code arrives over the socket.
    """

    stdin = stdout = stderr = None

    def __init__(self, socket_path: str, argv: list[str], env: dict, cwd: str):
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.settimeout(30)
        self._conn.connect(socket_path)
        self._conn.sendall(json.dumps({"argv": list(argv), "env": dict(env), "cwd": str(cwd)}).encode() + b"\n")
        self.pid = int(json.loads(_read_line(self._conn))["pid"])
        self.returncode: int | None = None

    def _finish(self, line: bytes) -> int:
        if line.endswith(b"\n"):
            self.returncode = int(json.loads(line)["exit"])
        else:  # the zygote went away without a word: make sure the kernel goes too
            _kill_group(self.pid)
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
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ZygoteProvisioner(LocalProvisioner):
        """Launches the kernel through the zygote named by `$TITO_KERNEL_ZYGOTE`, if any."""

        async def launch_kernel(self, cmd, **kwargs):
            socket_path = os.environ.get(ZYGOTE_ENV)
            if not socket_path:
                return await super().launch_kernel(cmd, **kwargs)
            env = kwargs.get("env") or dict(os.environ)
            try:
                self.process = ZygoteKernelProcess(socket_path, cmd, env, kwargs.get("cwd") or os.getcwd())
            except (OSError, ValueError, KeyError) as error:  # the zygote is gone: this student still gets a kernel
                print(f"tito: warm kernel unavailable ({error}); starting a fresh one", file=sys.stderr)
                return await super().launch_kernel(cmd, **kwargs)
            self.pid = self.pgid = self.process.pid  # the kernel leads its own process group (setsid)
            self.cwd = kwargs.get("cwd", os.getcwd())
            return self.connection_info

    return ZygoteProvisioner


def __getattr__(name: str):
    # The provisioner subclasses jupyter_client's, which only grading installs: build it on demand.
    if name == "ZygoteProvisioner":
        return _provisioner_class()
    raise AttributeError(name)


if __name__ == "__main__":
    main()
