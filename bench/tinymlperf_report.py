"""TinyMLPerf figures: data sizes, balance, generation time and hashes (built twice), reference models,
random-output models and INT8 variants, with compliance reports.

    python bench/tinymlperf_report.py [--size full|small] [--num-runs 1000] [--out DIR]

Builds every data set twice in two fresh caches (the hashes must agree), then benchmarks in the
second cache. Writes tinymlperf_reference.json/_summary.md and tinymlperf_int8.json/_summary.md in
--out (default: a new temporary folder, printed). Prints Markdown tables on stdout.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinytorch

from tinytorch.benchmarking.tinymlperf import TASKS, TinyMLPerf  # noqa: E402
from tinytorch.optimization.quantization import quantize_model  # noqa: E402


class RandomOutputs:
    """Outputs drawn at random, whatever the input (a score per class, or one anomaly score)."""

    def __init__(self, width: int, seed: int = 0):
        self.width, self.rng, self.name = width, np.random.default_rng(seed), "random_outputs"

    def forward(self, x):
        return self.rng.random((len(x), self.width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument("--num-runs", type=int, default=1000, help="timed queries per task (662+ for a valid p99)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="tinymlperf-report-"))
    out.mkdir(parents=True, exist_ok=True)

    caches = [Path(tempfile.mkdtemp(prefix="tinymlperf-cache-")) for _ in range(2)]
    print("| task | train | test | test balance | built in s (1st, 2nd) | sha256 (1st) | sha256 (2nd) |")
    print("|---|---|---|---|---|---|---|")
    for task in TASKS:
        first, second = (TASKS[task].make_data(args.size, cache_root=cache) for cache in caches)
        print(f"| {task} | {first.metadata['train_size']} | {first.metadata['test_size']} | "
              f"{first.metadata['test_balance']} | {first.metadata['generation_seconds']}, "
              f"{second.metadata['generation_seconds']} | {first.sha256()} | {second.sha256()} |")
        if first.sha256() != second.sha256():
            print(f"NOT REPRODUCIBLE: {task}", file=sys.stderr)
            return 1

    bench = TinyMLPerf(random_seed=42, data_size=args.size, cache_root=caches[1])
    start = time.perf_counter()
    references = {}
    for task in TASKS:
        t = time.perf_counter()
        references[task] = bench.reference_model(task)
        # The MLPs train on first use; the visual-wake-words CNN loads shipped weights (see Module 18).
        print(f"reference {task} ready (trained or loaded) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    reference_results = bench.run_all_benchmarks(references, num_runs=args.num_runs)
    int8_results = bench.run_all_benchmarks({t: quantize_model(m) for t, m in references.items()},
                                            num_runs=args.num_runs)
    random_results = {task: bench.run_standard_benchmark(
        RandomOutputs(1 if spec.metric == "auc" else spec.output_width), task, num_runs=64)
        for task, spec in TASKS.items()}
    print(f"\nbenchmarks took {time.perf_counter() - start:.1f} s\n")
    print("| task | model | metric | value | target | p50 ms | p90 ms | p99 ms (valid) | compliant | random-output value |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for results in (reference_results, int8_results):
        for task, r in results.items():
            if "error" in r:
                print(f"| {task} | {r['model_name']} | error: {r['error']} |")
                continue
            print(f"| {task} | {r['model_name']} | {r['metric_name']} | {r['accuracy']:.4f} | {r['target_accuracy']} | "
                  f"{r['p50_latency_ms']:.4f} | {r['p90_latency_ms']:.4f} | {r['p99_latency_ms']:.4f} "
                  f"({r['percentile_valid']['p99']}) | {r['compliant']} | {random_results[task]['accuracy']:.4f} |")
    summary = bench.generate_compliance_report(reference_results, out / "tinymlperf_reference.json")
    bench.generate_compliance_report(int8_results, out / "tinymlperf_int8.json")
    print("\n" + summary)
    print(f"reports written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
