"""How often Benchmark's 95% latency interval contains the centre of 30 independent runs.

Each run is a fresh process (`python bench/interval_coverage.py --run PROCESSES`) that measures two models
with one Benchmark and its default settings (5 warm-up calls, 10 blocks of >= 1 ms, models interleaved):
matmul 1x64 @ 64x64 (numpy; it reaches worker processes as the factory `coverage_models:matmul`) and the
reference MLP `tinydigits_mlp` (a model object, saved for the workers with save_model), both on the same
seeded (1, 64) input (the MLP flattens its input first, so (1, 64) is one TinyDigits-sized sample).
In-process (processes=1) the interval comes from the blocks of that one process; with processes=N from one
median per worker, Student's t with N-1 degrees of freedom. The centre of all runs is the median of their
point estimates (each run's mean); a run covers it when its interval contains it. Goal (issue 14): at
least 90% in multi-process mode.

Also printed: the run-to-run CV of the point estimates, the median relative half-width, seconds per run,
the load before and after, how many runs warned of a busy machine; the same for the paired ratio
MLP / matmul (per process, or per round of blocks in-process: t interval on the log ratios), which is what
a comparison of two models rests on; and, re-analysed from the multi-process runs' raw values, the
coverage with per-process means, minima or first quartiles instead of medians and with only the first k
workers of each run (to choose the default N). `--parallel 2` starts two runs at once (two workers at once);
`--compare-parallel R` alternates, R times, one run alone with two runs at once, so that both see the same
moments of the machine, and prints how much two workers at once slow and disturb each other. `--trace S`
times the matmul for S seconds in this one process (the median of 20 blocks every 0.25 s): whether the
machine's own speed moves while nothing else changes.

Run from the repository root (about 6 minutes on 2 cores with the defaults):
    python bench/interval_coverage.py --save /tmp/coverage.json
    python bench/interval_coverage.py --skip-in-process --parallel 2
    python bench/interval_coverage.py --analyse /tmp/coverage.json     # print a saved run again
    python bench/interval_coverage.py --compare-parallel 10
    python bench/interval_coverage.py --trace 30
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
MODELS = ("matmul", "mlp")
SHAPE = (1, 64)


def run_once(processes: int) -> dict:
    """One independent run (in this fresh process): both models' latency results, JSON-ready."""
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH), os.environ.get("PYTHONPATH", "")])  # for the workers
    from tinytorch.benchmarking.benchmark import Benchmark, ModelSource
    from tinytorch.models.zoo import load_reference_model

    mlp = load_reference_model("tinydigits_mlp")
    mlp.name = "mlp"
    bench = Benchmark([ModelSource.factory("coverage_models:matmul", name="matmul"), mlp], processes=processes)
    start = time.perf_counter()
    results = bench.run_latency_benchmark(SHAPE)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "load": list(os.getloadavg()),
            "models": {name: {"mean": r.mean, "ci": [r.ci_lower, r.ci_upper], "values": r.values,
                              "per_process": r.metadata.get("per_process_values"),
                              "warnings": r.metadata.get("warnings", [])} for name, r in results.items()}}


def launch(processes: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--run", str(processes)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"a run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def t_interval(values) -> tuple[float, float]:
    data = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return float(data.mean() - half), float(data.mean() + half)


def coverage(estimates: list[tuple[float, float, float]]) -> tuple[float, float, float, float]:
    """(fraction of intervals holding the median centre, that centre, run-to-run CV, median relative half-width)."""
    centres = np.array([e[0] for e in estimates])
    centre = float(np.median(centres))
    fraction = float(np.mean([low <= centre <= high for _, low, high in estimates]))
    half = float(np.median([(high - low) / 2 / abs(mid) for mid, low, high in estimates]))
    return fraction, centre, float(centres.std(ddof=1) / abs(centres.mean())), half


def line(label: str, estimates, unit_scale: float = 1e3, unit: str = "us") -> str:
    fraction, centre, cv, half = coverage(estimates)
    return (f"  {label:34s} coverage {fraction:4.0%}  centre {centre * unit_scale:8.3f} {unit:2s}  "
            f"run-to-run CV {cv:5.1%}  median half-width {half:5.1%}")


def paired_ratio(run: dict) -> tuple[float, float, float]:
    """MLP / matmul in one run: the geometric mean of the paired ratios (per process or per round) with a t
    interval on their logs."""
    a = np.asarray(run["models"]["matmul"]["values"])
    b = np.asarray(run["models"]["mlp"]["values"])
    logs = np.log(b / a)
    low, high = t_interval(logs)
    return math.exp(logs.mean()), math.exp(low), math.exp(high)


def what_if(runs: list[dict], name: str, ks: list[int]) -> None:
    """The same multi-process runs, re-analysed: other per-process statistics; fewer workers."""
    per_run = [[np.asarray(v) for v in run["models"][name]["per_process"]] for run in runs]
    statistics = (("median", np.median), ("mean", np.mean), ("min", np.min), ("p25", lambda v: np.percentile(v, 25)))
    for label, statistic in statistics:
        figures = []
        for k in ks:
            estimates = []
            for processes in per_run:
                values = [float(statistic(v)) for v in processes[:k]]
                estimates.append((float(np.mean(values)), *t_interval(values)))
            fraction, _, cv, half = coverage(estimates)
            figures.append(f"k={k}: {fraction:4.0%} (half-width {half:5.1%})")
        print(f"    per-process {label:6s} " + "  ".join(figures))
    all_processes = [v for processes in per_run for v in processes]
    medians = np.array([np.median(v) for v in all_processes])
    within = np.mean([np.var(v, ddof=1) for v in all_processes])
    print(f"    all {len(all_processes)} workers: between-process CV of medians {medians.std(ddof=1) / medians.mean():.1%}, "
          f"within-process CV of blocks {math.sqrt(within) / np.mean([v.mean() for v in all_processes]):.1%}")


def report(measured: list[dict]) -> None:
    for block in measured:
        runs = block["runs"]
        print(f"\n{block['label']}: {len(runs)} runs, {np.median([r['seconds'] for r in runs]):.2f} s per run "
              f"(median), load {block['load_before'][0]:.2f} -> {block['load_after'][0]:.2f}, "
              f"{block['parallel']} run(s) at once")
        for name in MODELS:
            estimates = [(r["models"][name]["mean"], *r["models"][name]["ci"]) for r in runs]
            warned = sum(1 for r in runs if r["models"][name]["warnings"])
            print(line(f"{name} latency", estimates) + f"  runs warned {warned}")
        print(line("paired ratio mlp / matmul", [paired_ratio(r) for r in runs], 1.0, "x"))
        if block["processes"] > 1:
            for name in MODELS:
                print(f"  {name}, re-analysed:")
                n = block["processes"]
                what_if(runs, name, sorted(k for k in {3, 5, n // 2, n} if 2 <= k <= n))


def block_cv(run: dict, name: str) -> float:
    """Median over the run's workers of the CV of their blocks."""
    return float(np.median([np.std(v, ddof=1) / np.mean(v) for v in run["models"][name]["per_process"]]))


def compare_parallel(rounds: int, processes: int) -> None:
    """One run alone, then two at once, `rounds` times: the same moments of the machine for both."""
    pairs = []
    for _ in range(rounds):
        alone = launch(processes)
        with ThreadPoolExecutor(max_workers=2) as pool:
            together = list(pool.map(lambda _: launch(processes), range(2)))
        pairs.append((alone, together))
    print(f"\none {processes}-process run alone, then two at once, {rounds} times (load now {os.getloadavg()[0]:.2f})")
    for name in MODELS:
        slowdown = [np.mean([t["models"][name]["mean"] for t in together]) / alone["models"][name]["mean"]
                    for alone, together in pairs]
        alone_cv = np.median([block_cv(alone, name) for alone, _ in pairs])
        together_cv = np.median([block_cv(t, name) for _, together in pairs for t in together])
        print(f"  {name:7s} two at once / alone: median {np.median(slowdown):.3f} (range {min(slowdown):.3f}-"
              f"{max(slowdown):.3f}); CV of a worker's blocks {alone_cv:.1%} alone, {together_cv:.1%} two at once; "
              f"seconds per run {np.median([a['seconds'] for a, _ in pairs]):.2f} alone, "
              f"{np.median([t['seconds'] for _, together in pairs for t in together]):.2f} two at once")


def trace(seconds: float) -> None:
    """The matmul in this one long-lived process: the median of 20 blocks of 500 calls every 0.25 s."""
    sys.path.insert(0, str(BENCH))
    import coverage_models

    model, x = coverage_models.matmul(), np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    medians, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        blocks = []
        for _ in range(20):
            start = time.perf_counter_ns()
            for _ in range(500):
                model(x)
            blocks.append((time.perf_counter_ns() - start) / 500)
        medians.append(float(np.median(blocks)))
        time.sleep(0.25)
    values = np.array(medians) / 1e3
    print(f"one process, {len(values)} medians of 20 blocks (us), load {os.getloadavg()[0]:.2f}:")
    print("  " + " ".join(f"{v:.2f}" for v in values))
    print(f"  range {values.min():.2f}-{values.max():.2f} us, quartiles {np.percentile(values, 25):.2f} / "
          f"{np.percentile(values, 75):.2f}, CV {values.std(ddof=1) / values.mean():.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="independent runs per mode (default 30)")
    parser.add_argument("--processes", type=int, default=10, help="workers per multi-process run (default 10)")
    parser.add_argument("--parallel", type=int, default=1, help="runs started at once (default 1: one at a time)")
    parser.add_argument("--skip-in-process", action="store_true", help="only the multi-process mode")
    parser.add_argument("--save", type=Path, help="write every run's raw values to this JSON file")
    parser.add_argument("--analyse", type=Path, help="print the figures of a file written by --save; measure nothing")
    parser.add_argument("--compare-parallel", type=int, metavar="ROUNDS",
                        help="alternate one run alone with two at once ROUNDS times; measure nothing else")
    parser.add_argument("--trace", type=float, metavar="SECONDS", help="time the matmul in this one process for "
                                                                       "SECONDS; measure nothing else")
    parser.add_argument("--run", type=int, metavar="PROCESSES", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:
        print(json.dumps(run_once(args.run)))
        return 0
    if args.analyse:
        report(json.loads(args.analyse.read_text()))
        return 0
    if args.trace:
        trace(args.trace)
        return 0
    if args.compare_parallel:
        compare_parallel(args.compare_parallel, args.processes)
        return 0
    if args.runs < 3 or args.processes < 2 or args.parallel < 1:
        parser.error("--runs must be >= 3, --processes >= 2 and --parallel >= 1")
    print(f"{os.cpu_count()} logical CPUs; models {', '.join(MODELS)} on a {SHAPE} input, measured together")
    measured = []
    modes = ([] if args.skip_in_process else [("in-process (processes=1)", 1)]) + \
        [(f"{args.processes} processes", args.processes)]
    for label, processes in modes:
        before = os.getloadavg()
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            runs = list(pool.map(lambda _: launch(processes), range(args.runs)))
        measured.append({"label": label, "processes": processes, "parallel": args.parallel, "runs": runs,
                         "load_before": before, "load_after": os.getloadavg()})
        if args.save:
            args.save.write_text(json.dumps(measured))
    report(measured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
