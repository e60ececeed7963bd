"""How often Benchmark's 95% latency interval contains the centre of 30 independent runs.

Each run is a fresh process (`python bench/interval_coverage.py --run MODEL PROCESSES`) that measures one
model with Benchmark's default settings (5 warm-up calls, 10 blocks of >= 1 ms) and prints its interval:
in-process (processes=1: the blocks of that one process) or across N fresh worker processes
(processes=N: one median per worker, Student's t with N-1 degrees of freedom). The centre of all runs is
the median of their point estimates (each run's mean); a run covers it when its interval contains it.
Goal (issue 14): at least 90% in multi-process mode.

Models: matmul 1x64 @ 64x64 (numpy, sent to the workers as the factory `coverage_models:matmul`) and
the reference MLP `tinydigits_mlp` (a model object, saved for the workers with save_model).

Printed per model and mode: coverage, the run-to-run CV of the point estimates, the median relative
half-width, seconds per run, the load average before and after. From the multi-process runs' raw
values, also the coverage the same runs give with per-process means instead of medians and with only
the first k workers of each run (to choose the default N). `--parallel 2` starts two runs at once (two
workers at once), to see how they disturb each other.

Run from the repository root (about 10 minutes on 2 cores with the defaults):
    python bench/interval_coverage.py
    python bench/interval_coverage.py --models mlp --processes 10 --runs 30 --parallel 2
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
SHAPES = {"matmul": (1, 64), "mlp": (1, 8, 8)}


def run_once(model: str, processes: int) -> dict:
    """One independent run (in this fresh process): the latency result of one model, as JSON-ready data."""
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH), os.environ.get("PYTHONPATH", "")])  # for the workers
    from tinytorch.benchmarking.benchmark import Benchmark, ModelSource
    from tinytorch.models.zoo import load_reference_model

    if model == "matmul":
        subject = ModelSource.factory("coverage_models:matmul", name=model)
    else:
        subject = load_reference_model("tinydigits_mlp")
        subject.name = model
    bench = Benchmark([subject], processes=processes)
    start = time.perf_counter()
    result = bench.run_latency_benchmark(SHAPES[model])[model]
    seconds = time.perf_counter() - start
    return {"mean": result.mean, "ci": [result.ci_lower, result.ci_upper], "values": result.values,
            "per_process": result.metadata.get("per_process_values"), "seconds": seconds,
            "load": list(os.getloadavg()), "warnings": result.metadata.get("warnings", [])}


def launch(model: str, processes: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--run", model, str(processes)], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"a run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def t_interval(values) -> tuple[float, float]:
    data = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return float(data.mean() - half), float(data.mean() + half)


def coverage(intervals: list[tuple[float, float]], centres: list[float]) -> tuple[float, float]:
    """(fraction of intervals containing the median of the centres, that median)."""
    centre = float(np.median(centres))
    return float(np.mean([low <= centre <= high for low, high in intervals])), centre


def describe(label: str, runs: list[dict], load_before, load_after) -> None:
    fraction, centre = coverage([tuple(r["ci"]) for r in runs], [r["mean"] for r in runs])
    means = np.array([r["mean"] for r in runs])
    half = np.median([(r["ci"][1] - r["ci"][0]) / 2 / r["mean"] for r in runs])
    seconds = np.median([r["seconds"] for r in runs])
    warned = sum(1 for r in runs if r["warnings"])
    print(f"  {label:24s} coverage {fraction:5.0%} ({len(runs)} runs)  centre {centre * 1e3:8.3f} us  "
          f"run-to-run CV {means.std(ddof=1) / means.mean():5.1%}  median half-width {half:5.1%}  "
          f"{seconds:5.2f} s/run  runs with a busy-machine warning {warned}  "
          f"load {load_before[0]:.2f} -> {load_after[0]:.2f}")


def what_if(runs: list[dict], ks: list[int]) -> None:
    """The same multi-process runs, re-analysed: per-process means instead of medians; fewer workers."""
    per_run = [[np.asarray(v) for v in r["per_process"]] for r in runs]
    centres = (("median", np.median), ("mean", np.mean), ("min", np.min),
               ("p25", lambda v: np.percentile(v, 25)))
    for centre_name, centre in centres:
        for k in ks:
            if k > len(per_run[0]) or k < 2:
                continue
            values = [[float(centre(v)) for v in processes[:k]] for processes in per_run]
            fraction, _ = coverage([t_interval(v) for v in values], [float(np.mean(v)) for v in values])
            means = np.array([np.mean(v) for v in values])
            half = np.median([(t_interval(v)[1] - t_interval(v)[0]) / 2 / np.mean(v) for v in values])
            print(f"    per-process {centre_name:6s}, first {k:2d} workers: coverage {fraction:5.0%}  "
                  f"run-to-run CV {means.std(ddof=1) / means.mean():5.1%}  median half-width {half:5.1%}")
    all_processes = [v for processes in per_run for v in processes]
    medians = np.array([np.median(v) for v in all_processes])
    within = np.mean([np.var(v, ddof=1) for v in all_processes])
    print(f"    over all {len(all_processes)} workers: between-process CV of medians "
          f"{medians.std(ddof=1) / medians.mean():.1%}, within-process CV of blocks "
          f"{math.sqrt(within) / np.mean([v.mean() for v in all_processes]):.1%}")


def mode(model: str, processes: int, runs: int, parallel: int) -> list[dict]:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda _: launch(model, processes), range(runs)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(SHAPES), default=["matmul", "mlp"])
    parser.add_argument("--runs", type=int, default=30, help="independent runs per model and mode (default 30)")
    parser.add_argument("--processes", type=int, default=10, help="workers per multi-process run (default 10)")
    parser.add_argument("--parallel", type=int, default=1, help="runs started at once (default 1: one at a time)")
    parser.add_argument("--skip-in-process", action="store_true", help="only the multi-process mode")
    parser.add_argument("--save", type=Path, help="write every run's raw values to this JSON file")
    parser.add_argument("--analyse", type=Path, help="print the figures of a file written by --save; measure nothing")
    parser.add_argument("--run", nargs=2, metavar=("MODEL", "PROCESSES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(run_once(args.run[0], int(args.run[1]))))
        return 0
    if args.analyse:
        report(json.loads(args.analyse.read_text()))
        return 0
    if args.runs < 3 or args.processes < 2 or args.parallel < 1:
        parser.error("--runs must be >= 3, --processes >= 2 and --parallel >= 1")
    print(f"{os.cpu_count()} logical CPUs; {args.runs} runs per model and mode; {args.parallel} run(s) at once")
    measured = []
    for model in args.models:
        modes = ([] if args.skip_in_process else [("in-process", 1)]) + [(f"{args.processes} processes", args.processes)]
        for label, processes in modes:
            before = os.getloadavg()
            runs = mode(model, processes, args.runs, args.parallel)
            measured.append({"model": model, "label": label, "processes": processes, "runs": runs,
                             "load_before": before, "load_after": os.getloadavg()})
            if args.save:
                args.save.write_text(json.dumps(measured))
    report(measured)
    return 0


def report(measured: list[dict]) -> None:
    for index, block in enumerate(measured):
        if index == 0 or block["model"] != measured[index - 1]["model"]:
            print(f"\n{block['model']} (input {SHAPES[block['model']]})")
        describe(block["label"], block["runs"], block["load_before"], block["load_after"])
        if block["processes"] > 1:
            what_if(block["runs"], sorted({3, 5, block["processes"] // 2, block["processes"]}))


if __name__ == "__main__":
    sys.exit(main())
