"""The grading kernel: an ipykernel with a memory ceiling and a guard on file writes.

Started by the `tito-grader` kernelspec as `python -m tito.grading_kernel --memory-limit N -f CONN`.

- Memory: `resource.RLIMIT_AS` caps the address space, so a runaway allocation raises MemoryError
  inside the notebook instead of exhausting the machine.
- Writes: a `sys.addaudithook` hook, installed after the kernel has started up, refuses to create,
  modify, move or delete files outside the notebook's own folder (the kernel's working folder), and
  by default refuses to start programs, which would escape the hook. Audit hooks cannot be removed from
  Python; code that reaches the C library directly (ctypes) can still get past them, so this is a guard
  against accidents and casual tampering, not a container.
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
    "os.symlink": (1,), "os.link": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.utime": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
    "shutil.move": (0, 1), "os.removexattr": (0,), "os.setxattr": (0,),
}
_PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "pty.spawn"}
_ALWAYS_WRITABLE = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}


def limit_memory(limit_bytes: int) -> None:
    """Cap the address space; never raise an existing lower hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, hard))


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tito.grading_kernel")
    parser.add_argument("--memory-limit", type=int, required=True, help="address-space limit in bytes")
    parser.add_argument("--allow-subprocesses", action="store_true")
    options, kernel_argv = parser.parse_known_args(argv)
    limit_memory(options.memory_limit)
    folder = os.getcwd()
    # Temporary files of the notebook go to its own folder, the only place it may write.
    os.environ["TMPDIR"] = folder

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # Quiet: the kernel's stderr is the grader's, and its TCP notice repeats once per student.
    # No input history: a grader has no use for it, and it is a database write per cell.
    # initialize() writes the connection file and the IPython profile, so it runs before the guard.
    app.initialize([*kernel_argv, "--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"])
    sys.addaudithook(WriteGuard([folder], options.allow_subprocesses))
    app.start()


if __name__ == "__main__":
    main()
