"""The smallest memory cap (RLIMIT_AS) with which a grading kernel starts and runs a cell, by bisection.

Run: .venv/bin/python bench/kernel_memory_floor.py [--sandbox on|off|both]

A kernel forked from the warm process starts with the warm process's address space mapped; ipykernel
then adds its threads (stacks, malloc arenas). `tito grade` refuses a cap below "warm process + a
fixed allowance" (`tito.course.KERNEL_START_BYTES`); this prints both figures so that the allowance can
be checked on a machine: the measured floor minus the warm process's size must stay below it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jupyter_client.manager import start_new_kernel  # noqa: E402

from tito.course import KERNEL_NAME, KERNEL_START_BYTES, CourseSettings, grading_environment  # noqa: E402

MIB = 2**20


def starts_and_runs(megabytes: int, sandbox: bool) -> tuple[bool, int]:
    """Whether a kernel capped at `megabytes` runs a cell that imports the course package; the warm
    process's mapped bytes."""
    settings = CourseSettings(memory_limit_bytes=max(megabytes, 512) * MIB, sandbox=sandbox)
    with grading_environment(ROOT, settings, warm_kernels=True, course_package=True) as kernels:
        shutil.copytree(ROOT / "tinytorch", kernels.package_dir / "tinytorch", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        kernels.memory_limit = None  # measure below tito's own refusal
        kernels.ready()
        mapped = kernels.zygote.mapped_bytes
        try:
            km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(kernels.package_dir), startup_timeout=20)
        except RuntimeError:
            return False, mapped
        printed = []
        try:
            kc.execute_interactive("import tinytorch.core.tensor, numpy as np; x = np.ones(10**6); print('ran')",
                                   timeout=30, output_hook=lambda m: printed.append(m["content"].get("text", "")))
        except Exception:  # noqa: BLE001 - a kernel that died or hung did not run the cell
            pass
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        return "ran" in "".join(printed), mapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", choices=("on", "off", "both"), default="both")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    for sandbox in {"on": [True], "off": [False], "both": [True, False]}[args.sandbox]:
        low, high = 256, 4096
        mapped = 0
        while high - low > 16:
            middle = (low + high) // 2
            works, mapped = starts_and_runs(middle, sandbox)
            low, high = (low, middle) if works else (middle, high)
        label = "sandboxed" if sandbox else "--no-sandbox"
        print(f"{label}: smallest working cap {high} MiB (within 16 MiB); warm process maps {mapped / MIB:.0f} MiB; "
              f"a kernel's start adds {high - mapped / MIB:.0f} MiB (tito allows {KERNEL_START_BYTES // MIB} MiB)")


if __name__ == "__main__":
    main()
