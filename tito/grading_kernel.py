"""The grading kernel: an ipykernel with a memory ceiling, an output cap, the cell runner and a write guard.

Started as `python -m tito.grading_kernel --memory-limit N --output-limit C ... -f CONN`, by the
`tito-grader` kernelspec or, forked, by `tito.kernel_zygote` (which has already isolated it inside
the sandbox: namespaces, process and CPU limits, scratch folder; see `tito.sandbox`).

- Memory: `resource.RLIMIT_AS` caps the address space, so a runaway allocation raises MemoryError
  inside the notebook instead of exhausting the machine.
- Output: stdout and stderr carry at most C characters per cell (the grader caps what it keeps, too).
- Tests: `tito.cell_runner` handles the grader's `tito_cell_request` messages.
- Writes: a `sys.addaudithook` hook refuses to create, modify, move or delete files outside the
  kernel's folder, and by default refuses to start programs. It is a second line only: Python code can
  get past an audit hook (ctypes, sqlite3, raw system calls). Without the sandbox (`--no-sandbox`) it
  is all there is, which is why README says to grade untrusted work only inside the sandbox.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import threading

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {  # event -> indexes of the arguments that name paths written to
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1),
    "os.symlink": (1,), "os.link": (0, 1), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.utime": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
    "shutil.move": (0, 1), "os.removexattr": (0,), "os.setxattr": (0,),
}
_PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "pty.spawn"}
_ALWAYS_WRITABLE = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}


def _cap(limit: int, value: int) -> None:
    """Lower the soft limit to `value`; never raise an existing lower hard limit."""
    soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, hard))


def limit_memory(limit_bytes: int) -> None:
    """Cap the address space."""
    _cap(resource.RLIMIT_AS, limit_bytes)


def _is_write_open(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(ch in mode for ch in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


class WriteGuard:
    """Refuses writes outside `allowed` (absolute, symlinks resolved) and, optionally, new processes."""

    def __init__(self, allowed: list[str], allow_subprocesses: bool = False):
        self.allowed = [os.path.realpath(path) for path in allowed]
        self.allow_subprocesses = allow_subprocesses
        self._busy = threading.local()

    def permits(self, path) -> bool:
        if isinstance(path, int):  # an open file descriptor: its opening was checked already
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            path = os.fspath(path)
        if path in _ALWAYS_WRITABLE:
            return True
        real = os.path.realpath(path)
        return any(real == root or real.startswith(root + os.sep) for root in self.allowed)

    def __call__(self, event: str, args: tuple) -> None:
        if getattr(self._busy, "active", False):  # realpath itself may raise events
            return
        self._busy.active = True
        try:
            self._check(event, args)
        finally:
            self._busy.active = False

    def _check(self, event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if path is not None and _is_write_open(mode, flags) and not self.permits(path):
                raise PermissionError(f"the grader does not allow writing {path!r}: write only inside "
                                      f"the notebook's folder {self.allowed[0]}")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None and not self.permits(args[index]):
                    raise PermissionError(f"the grader does not allow {event} on {args[index]!r}: "
                                          f"change files only inside the notebook's folder {self.allowed[0]}")
        elif event in _PROCESS_EVENTS and not self.allow_subprocesses:
            raise PermissionError(f"the grader does not allow starting programs ({event})")


class _OutputsNotKept(dict):
    """Stands in for IPython's store of everything a cell printed (`history_manager.outputs`).

    IPython 9 keeps every string a cell writes to stdout or stderr, uncapped and even with history
    off: a cell printing a gigabyte holds a gigabyte, and the kernel dies of the memory cap at a random
    point. A grader has no use for the store, so each lookup hands out a list that is not kept.
    """

    def __missing__(self, key):
        return []


def main(argv: list[str] | None = None, limits_applied: bool = False) -> None:
    """Run the kernel. `limits_applied`: the zygote has isolated this process already (sandbox)."""
    parser = argparse.ArgumentParser(prog="tito.grading_kernel")
    parser.add_argument("--memory-limit", type=int, required=True, help="address-space limit in bytes")
    parser.add_argument("--output-limit", type=int, default=2**20, help="characters a cell may print")
    parser.add_argument("--processes", type=int, default=128)
    parser.add_argument("--cpu-limit", type=int, default=600)
    parser.add_argument("--scratch-limit", type=int, default=256 * 2**20)
    parser.add_argument("--folder", action="append", default=None,
                        help="a folder it may write (repeatable; default: the working folder)")
    parser.add_argument("--allow-subprocesses", action="store_true")
    options, kernel_argv = parser.parse_known_args(argv)
    limit_memory(options.memory_limit)
    if not limits_applied:  # a CPU-time cap needs no namespace (the process cap does: see tito.namespaces)
        _cap(resource.RLIMIT_CPU, options.cpu_limit)
    folders = options.folder or [os.getcwd()]
    # Temporary files of the notebook go to its own folder, the only place it may write.
    os.environ["TMPDIR"] = folders[0]

    from ipykernel.kernelapp import IPKernelApp

    from .cell_runner import CellRunner, cap_output

    app = IPKernelApp.instance()
    # Quiet: the kernel's stderr is the grader's, and its TCP notice repeats once per student.
    # No input history: a grader has no use for it, and it is a database write per cell.
    # initialize() writes the connection file and the IPython profile, so it runs before the guard.
    app.initialize([*kernel_argv, "--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"])
    for stream in (sys.stdout, sys.stderr):
        cap_output(stream, options.output_limit)
    app.shell.history_manager.outputs = _OutputsNotKept()
    CellRunner(app.kernel, options.output_limit).install()
    sys.addaudithook(WriteGuard(folders, options.allow_subprocesses))
    app.start()


if __name__ == "__main__":
    main()
