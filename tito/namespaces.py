"""Linux namespaces, mounts, capabilities and limits for one grading kernel, from Python (ctypes).

A grading kernel is a fork of a warm process (`tito.kernel_zygote`), so it cannot be started by
`bwrap` itself: the fork has to isolate *itself* before any student code runs. This module holds the
few system calls that takes (Python 3.11 has no `os.unshare`); `tito.kernel_zygote` uses them in order:

    unshare(user, mount, pid, net, ipc, uts)  ->  map one uid/gid  ->  private mounts, a size-capped
    scratch tmpfs, the kernel's own socket folder  ->  fork (the child is pid 1 of a new pid namespace)
    ->  a fresh /proc, resource limits, no new privileges, every capability dropped

after which the process sees nothing but its own processes, has no network, cannot undo its mounts
(mounts inherited from a more privileged namespace are locked by the kernel) and holds no
capability. Every call raises OSError with the call's name when it fails.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, call: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        errno = ctypes.get_errno()
        meaning = {28: "no user namespace may be created here (sysctl user.max_user_namespaces is 0 or used up)",
                   1: "not permitted (unprivileged user namespaces are disabled)",
                   22: "not possible from this process (threads, or an unsupported namespace)"}
        raise OSError(errno, f"unshare: {meaning.get(errno, os.strerror(errno))}")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4),
                       ctypes.c_ulong(arg5)), f"prctl {option}")


def die_with_parent(signum: int = 9) -> None:
    """The kernel sends `signum` (SIGKILL) to this process when its parent exits."""
    prctl(PR_SET_PDEATHSIG, signum)


def map_single_user(outer_uid: int, outer_gid: int, inner_id: int = 1000) -> None:
    """After unshare(CLONE_NEWUSER): this process is `inner_id` inside, `outer_uid` outside.

    An unprivileged process may map exactly its own ids; setgroups must be denied first.
    """
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{inner_id} {outer_uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{inner_id} {outer_gid} 1")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_all_capabilities() -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable sets; no new privileges."""
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        prctl(PR_CAPBSET_DROP, cap)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_limits(processes: int, cpu_seconds: int, file_bytes: int) -> None:
    """Tasks (processes and threads) of this user namespace, CPU time, file size; no core files.

    The address space is capped later, by `tito.grading_kernel`, once the kernel's own imports are done.
    """
    for limit, value in ((resource.RLIMIT_NPROC, processes),
                         (resource.RLIMIT_CPU, cpu_seconds), (resource.RLIMIT_FSIZE, file_bytes),
                         (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))


def redirect_stdio_to_null() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def close_fds_except(keep: set[int]) -> None:
    """Close every open descriptor above 2 that is not in `keep` (none of the warm process's may leak)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the descriptor listdir itself used
                continue
