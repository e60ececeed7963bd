"""Module 19's latency measurement side by side with timeit and torch.utils.benchmark, in one run.

Four comparisons (issue 4), each printed as figures and ratios:
  1. bias: the per-call latency of an empty model, ours against timeit's (peers add 0-15 ns, a per-call
     timer 150-450 ns); a per-call timer (Module 14's time_calls) is shown for contrast;
  2. ratio: models doing exactly twice the work (64x64 matmul, ~1 ms busy loop) must measure 2.0x;
  3. cost: wall time until a result has a relative 95% interval half-width <= 2% for the matmul model,
     ours against blocked_autorange (and timeit.repeat); each tool tries growing budgets and the first
     budget that meets the target is reported (failed attempts are not counted, for any tool);
  4. stability: the reported median of the matmul model in 10 fresh processes, spread per tool.
Models: empty (returns its input), numpy 64x64 matmul, ~1 ms pure-Python busy loop, the reference MLP.
torch is optional: without it the torch column says it is absent. pyperf is not used (not installed).

Run from the repository root:
    python bench/timing_peers.py                 # everything (about a minute on a quiet machine)
    python bench/timing_peers.py --processes 0   # skip the fresh-process stability run
    python bench/timing_peers.py --only ratio --blas-threads 1   # one comparison, single-threaded BLAS
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import timeit
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's tinytorch

from tinytorch.benchmarking.benchmark import (Benchmark, median_confidence_interval,  # noqa: E402
                                              t_confidence_interval)
from tinytorch.profiling.profiler import time_calls  # noqa: E402

try:
    from torch.utils import benchmark as torch_benchmark
    import torch
except ImportError:  # optional peer
    torch_benchmark = torch = None

SEED = 0
BUSY_ITERATIONS = 17_000  # a pure-Python loop of about 1 ms here


def build_models() -> dict[str, tuple[object, tuple[int, ...]]]:
    """name -> (model, input_shape). The same seeded input as Benchmark's is rebuilt for the peers."""
    weight = np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)

    def empty(x):
        return x

    def matmul(x):
        return x @ weight

    def matmul_x2(x):
        x @ weight
        return x @ weight

    def busy(x, n=BUSY_ITERATIONS):
        total = 0
        for i in range(n):
            total += i
        return x

    def busy_x2(x):
        busy(x, 2 * BUSY_ITERATIONS)
        return x

    models = {"empty": (empty, (1, 1)), "matmul64": (matmul, (64, 64)), "matmul64_x2": (matmul_x2, (64, 64)),
              "busy_1ms": (busy, (1, 1)), "busy_1ms_x2": (busy_x2, (1, 1))}
    try:
        from tinytorch.models.zoo import load_reference_model
        models["mlp"] = (load_reference_model("tinydigits_mlp"), (1, 8, 8))
    except (ImportError, ValueError, FileNotFoundError):
        from tinytorch.core.layers import Linear, ReLU, Sequential
        models["mlp"] = (Sequential(Linear(64, 32, seed=0), ReLU(), Linear(32, 10, seed=1)), (1, 64))
    for name, (model, _) in models.items():
        model.name = name  # functions and layers both take an attribute; Benchmark names models by it
    return models


def seeded_input(shape) -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal(shape).astype(np.float32)


def call_of(model):
    return model.forward if hasattr(model, "forward") else model


def timeit_peer(function, x, repeat: int = 7) -> dict:
    """timeit with the call in local variables (its fastest form); autorange, then `repeat` repeats."""
    timer = timeit.Timer("f(x)", setup="f = F; x = X", globals={"F": function, "X": x})
    number, _ = timer.autorange()
    per_call = np.array(timer.repeat(repeat=repeat, number=number)) / number
    return {"best": float(per_call.min()), "median": float(np.median(per_call)), "times": per_call, "number": number}


def torch_peer(function, x, min_run_time: float = 0.2):
    if torch_benchmark is None:
        return None
    measurement = torch_benchmark.Timer("f(x)", globals={"f": function, "x": x}).blocked_autorange(
        min_run_time=min_run_time)
    return measurement


def ours(models: dict, names: list[str], runs: int = 30, min_block_ms: float = 1.0) -> dict:
    shape = {models[n][1] for n in names}
    assert len(shape) == 1, "one Benchmark run needs one input shape"
    bench = Benchmark([models[n][0] for n in names], warmup_runs=5, measurement_runs=runs, min_block_ms=min_block_ms)
    return bench.run_latency_benchmark(shape.pop())


def ns(seconds: float) -> str:
    return f"{seconds * 1e9:10.1f}"


def print_system() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch is not None else '(absent)'}, {platform.machine()}, "
          f"{os.cpu_count()} logical CPUs, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for pool in threadpool_info():
        print(f"  threadpool: {pool.get('user_api')} {pool.get('internal_api')} {pool.get('version')} "
              f"threads={pool.get('num_threads')} arch={pool.get('architecture')} ({Path(pool['filepath']).name})")
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO"))}
    print("  BLAS/OpenMP environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "(none set)"))


def compare_bias_and_levels(models: dict) -> None:
    print("\n1. per-call latency, ns (ours: mean of 30 interleaved calibrated blocks; timeit: best of 7 "
          "autoranged repeats; torch: blocked_autorange median)")
    print(f"{'model':13s} {'ours mean':>10s} {'ours med':>10s} {'timeit':>10s} {'torch':>10s} "
          f"{'mean-timeit':>11s} {'med-timeit':>11s} {'per-call timer':>14s} {'calls/block':>11s}")
    by_shape: dict[tuple, list[str]] = {}
    for name, (_, shape) in models.items():
        by_shape.setdefault(shape, []).append(name)
    results = {}
    for names in by_shape.values():
        results.update(ours(models, names))
    for name, (model, shape) in models.items():
        x, function = seeded_input(shape), call_of(model)
        result = results[name]
        mine = result.mean / 1e3
        peer = timeit_peer(function, x)
        measurement = torch_peer(function, x)
        torch_text = ns(measurement.median) if measurement is not None else "    absent"
        per_call = float(np.median(time_calls(lambda: function(x), warmup=100, iterations=2000))) / 1e3
        print(f"{name:13s} {ns(mine)} {ns(result.median / 1e3)} {ns(peer['best'])} {torch_text} "
              f"{(mine - peer['best']) * 1e9:+11.1f} {(result.median / 1e3 - peer['best']) * 1e9:+11.1f} "
              f"{ns(per_call):>14s} {result.metadata['calls_per_block']:11d}")


def compare_ratios(models: dict) -> None:
    print("\n2. ratio of a model doing exactly twice the work (target 2.0 within 5%)")
    for base in ("matmul64", "busy_1ms"):
        shape = models[base][1]
        bench = Benchmark([models[base][0], models[base + "_x2"][0]], warmup_runs=5, measurement_runs=30)
        row = bench.compare_models("latency", input_shape=shape).iloc[1]
        ratio, median_ratio, paired = row["ratio"], row["median"] / bench.results["latency"][base].median, \
            row["paired_ratio_median"]
        x = seeded_input(shape)
        t_a, t_b = (timeit_peer(call_of(models[n][0]), x)["best"] for n in (base, base + "_x2"))
        line = (f"  {base:9s} ours: means {ratio:.3f} [{row['ratio_ci_lower']:.3f}, {row['ratio_ci_upper']:.3f}], "
                f"medians {median_ratio:.3f}, paired {paired:.3f}   timeit {t_b / t_a:.3f}")
        if torch_benchmark is not None:
            m_a, m_b = (torch_peer(call_of(models[n][0]), x).median for n in (base, base + "_x2"))
            line += f"   torch {m_b / m_a:.3f}"
        verdicts = "/".join("yes" if abs(r - 2) <= 0.1 else "NO" for r in (ratio, median_ratio, paired))
        print(line + f"   -> ours within 5% (means/medians/paired): {verdicts}")


def relative_half_width(values, centre: str) -> float:
    """Half the 95% interval over its centre: the t interval of the mean, or the order-statistic
    interval of the median (infinite when there are too few values for a 95% median interval)."""
    if centre == "mean":
        low, high = t_confidence_interval(values)
        return (high - low) / 2 / float(np.mean(values))
    low, high, exact = median_confidence_interval(values)
    return (high - low) / 2 / float(np.median(values)) if exact else math.inf


def compare_cost(models: dict, target: float = 0.02) -> None:
    print(f"\n3. cost: wall seconds until the relative 95% half-width <= {target:.0%} (matmul64); first budget "
          "that meets it (failed smaller budgets not counted)")
    model, shape = models["matmul64"]
    x, function = seeded_input(shape), call_of(model)

    def run_ours(runs):
        bench = Benchmark([model], warmup_runs=5, measurement_runs=runs)
        return bench.run_latency_benchmark(shape)[model.name].values

    tools = [("ours (Benchmark)", [(f"{r} blocks", lambda r=r: run_ours(r)) for r in (5, 10, 20, 40, 80, 160, 320, 640, 1280)])]
    if torch_benchmark is not None:
        tools.append(("torch blocked_autorange", [(f"min_run_time={t}", lambda t=t: torch_peer(function, x, t).times)
                                                  for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)]))
    tools.append(("timeit.repeat", [(f"{r} repeats", lambda r=r: timeit_peer(function, x, repeat=r)["times"])
                                    for r in (3, 5, 10, 20)]))
    for centre in ("mean", "median"):
        print(f"  interval of the {centre}:")
        for tool, attempts in tools:
            print(f"    {tool:24s} {first_meeting(attempts, centre, target)}")


def first_meeting(attempts, centre: str, target: float) -> str:
    for label, run in attempts:
        start = time.perf_counter()
        values = run()
        wall = time.perf_counter() - start
        if len(values) < 2:  # one value has no interval: it cannot meet the target
            continue
        width = relative_half_width(values, centre)
        if width <= target:
            return f"{wall:7.3f} s  (budget {label}, half-width {width:.2%}, n={len(values)})"
    return "never met within the budgets tried"


def worker(name: str) -> None:
    """One fresh process: each tool's reported median for one model, as JSON on stdout."""
    models = build_models()
    model, shape = models[name]
    x, function = seeded_input(shape), call_of(model)
    report = {"ours": ours(models, [name], runs=20)[name].median * 1e-3, "timeit": timeit_peer(function, x)["median"]}
    if torch_benchmark is not None:
        report["torch"] = torch_peer(function, x).median
    print(json.dumps(report))


def compare_stability(processes: int, name: str = "matmul64", blas_threads: int | None = None) -> None:
    print(f"\n4. stability: reported median of {name} in {processes} fresh processes (microseconds)")
    rows = []
    extra = ["--blas-threads", str(blas_threads)] if blas_threads else []
    for _ in range(processes):
        done = subprocess.run([sys.executable, __file__, "--worker", name, *extra], capture_output=True, text=True,
                              check=True, cwd=ROOT)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for tool in rows[0]:
        values = np.array([row[tool] for row in rows]) * 1e6
        spread = (values.max() - values.min()) / np.median(values)
        print(f"  {tool:7s} median {np.median(values):8.3f}  min {values.min():8.3f}  max {values.max():8.3f}  "
              f"(max-min)/median {spread:6.1%}  CV {values.std(ddof=1) / values.mean():6.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10, help="fresh processes for the stability run (0: skip)")
    parser.add_argument("--only", choices=["bias", "ratio", "cost", "stability"], action="append",
                        help="run only these comparisons (repeatable); default all four")
    parser.add_argument("--blas-threads", type=int, help="limit BLAS/OpenMP threads (threadpoolctl) in every process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.processes < 0 or (args.blas_threads is not None and args.blas_threads < 1):
        parser.error(f"--processes must be >= 0 and --blas-threads >= 1, got {args.processes} and {args.blas_threads}")
    limits = threadpool_limits(args.blas_threads) if args.blas_threads else None
    try:
        if args.worker:
            worker(args.worker)
            return 0
        run(args)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    return 0


def run(args) -> None:
    chosen = set(args.only or ["bias", "ratio", "cost", "stability"])
    models = build_models()
    print_system()
    if "bias" in chosen:
        compare_bias_and_levels(models)
    if "ratio" in chosen:
        compare_ratios(models)
    if "cost" in chosen:
        compare_cost(models)
    if "stability" in chosen and args.processes:
        compare_stability(args.processes, blas_threads=args.blas_threads)


if __name__ == "__main__":
    sys.exit(main())
