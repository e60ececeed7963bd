"""`tito bench tinymlperf [--task T] [--model FILE]`: the TinyMLPerf tasks on the reference models or on yours.

Kept apart from `tito/commands/bench.py` so that any `bench` command can add this action with one call:
`add_tinymlperf_parser(actions)`.
"""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from .console import err, out, print_json
from .project import TitoError

TASK_NAMES = ("image_classification", "keyword_spotting", "anomaly_detection", "visual_wake_words")


def add_tinymlperf_parser(actions) -> None:
    """Add the `tinymlperf` action to the subparsers of a `bench` command."""
    tiny = actions.add_parser("tinymlperf", help="TinyMLPerf: accuracy or AUC on real labels, single-stream latency")
    tiny.add_argument("--task", choices=TASK_NAMES, help="one task (default: all four)")
    tiny.add_argument("--model", type=Path, help="a model saved with tinytorch.models.zoo.save_model "
                                                 "(default: each task's reference model)")
    tiny.add_argument("--num-runs", type=int, default=100, help="timed queries per task (>= 64 for a valid p90)")
    tiny.add_argument("--size", choices=("full", "small"), default="full", help="data set size")
    tiny.add_argument("--seed", type=int, default=42, help="seed of the query order")
    tiny.add_argument("--processes", type=int, default=1,
                      help="time the queries in this many fresh worker processes, one after another, and give the "
                           "mean latency an interval across them (default 1: in this process)")
    tiny.add_argument("--output", type=Path, help="write the compliance report (JSON and _summary.md) here")
    tiny.add_argument("--json", action="store_true", help="print JSON for machines")
    tiny.set_defaults(run=run_tinymlperf)


def _models(args, bench, tasks) -> dict:
    if args.model is None:
        return {task: bench.reference_model(task) for task in tasks}
    from tinytorch.models.zoo import load_model

    try:
        model = load_model(args.model)
    except (FileNotFoundError, ValueError) as error:
        raise TitoError(f"cannot load model {args.model}: {error}") from error
    return {task: model for task in tasks}


def run_tinymlperf(args) -> int:
    from tinytorch.benchmarking.tinymlperf import TinyMLPerf

    if args.num_runs < 1:
        raise TitoError(f"--num-runs must be >= 1, got {args.num_runs}", exit_code=2)
    if args.processes < 1:
        raise TitoError(f"--processes must be >= 1, got {args.processes}", exit_code=2)
    tasks = [args.task] if args.task else list(TASK_NAMES)
    bench = TinyMLPerf(random_seed=args.seed, data_size=args.size, processes=args.processes)
    try:
        models = _models(args, bench, tasks)
        results = {name: result for name, result in bench.run_all_benchmarks(models, args.num_runs).items()
                   if name in tasks}
    except RuntimeError as error:  # e.g. espeak-ng missing: the message names the fix
        raise TitoError(str(error)) from error
    if args.output is not None:
        bench.generate_compliance_report(results, args.output)
        err.print(f"report written to {args.output}")
    if args.json:
        print_json(results)
    else:
        table = Table("task", "model", "metric", "value", "target", "p90 ms", "limit ms", "compliant")
        for name, result in results.items():
            if "error" in result:
                table.add_row(name, str(result.get("model_name")), "-", "-", "-", "-", "-", "error")
                err.print(f"{name}: {result['error']}")
                continue
            p90 = f"{result['p90_latency_ms']:.4f}" + ("" if result["percentile_valid"]["p90"] else " (not valid)")
            table.add_row(name, result["model_name"], result["metric_name"], f"{result['accuracy']:.4f}",
                          f"{result['target_accuracy']:.2f}", p90, f"{result['target_latency_ms']:g}",
                          "yes" if result["compliant"] else "no")
        out.print(table)
        warnings = [f"{name}: {w}" for name, result in results.items() for w in result.get("warnings", [])]
        for warning in warnings:
            err.print(f"warning: {warning}", markup=False)
        if warnings:
            err.print("These latencies may not hold; repeat the run on a quiet machine.", markup=False)
    return 0
