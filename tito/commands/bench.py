"""`tito bench demo|tinymlperf`: the reference models on TinyDigits, and the standard TinyMLPerf tasks.

Each action is one parser and one `run_*` handler; the work lives in importable functions
(`benchmark_reference_models` here, `tito.tinymlperf_cli` for `tinymlperf`).
"""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ..console import err, out, print_json
from ..fileio import write_text_atomic
from ..project import TitoError
from ..tinymlperf_cli import add_tinymlperf_parser

DEFAULT_PROCESSES = 10  # tinytorch.benchmarking.settings.DEFAULT_PROCESSES (not imported here: keeps `tito` quick)

DEMO_MODELS = ("tinydigits_mlp", "tinydigits_mlp_int8", "tinydigits_mlp_pruned50")
ABLATION_BASE = "tinydigits_mlp"


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="benchmark models: demo (the reference models on TinyDigits), "
                                                 "tinymlperf (standard tasks)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_tinymlperf_parser(actions)
    demo = actions.add_parser("demo", help="benchmark the baseline, INT8 and pruned reference models; "
                                           "write the report, plots and JSON")
    demo.add_argument("--out", default="benchmark_results", help="folder for the report, plots and JSON "
                                                                 "(default: benchmark_results)")
    demo.add_argument("--no-progress", action="store_true", help="no progress display")
    demo.add_argument("--runs", type=int, default=30, help="measured latency/energy blocks per model (default 30)")
    demo.add_argument("--warmup", type=int, default=10, help="warm-up calls per model (default 10)")
    demo.add_argument("--processes", type=int, default=DEFAULT_PROCESSES,
                      help=f"fresh worker processes that measure latency and memory, one after another; the "
                           f"intervals are across them (default {DEFAULT_PROCESSES}; 1: in this process, whose "
                           "interval then covers this process only)")
    demo.add_argument("--watts-per-core", type=float, default=None,
                      help="assumed watts of one busy core for the energy estimate (used only without RAPL)")
    demo.add_argument("--no-ablation", action="store_true", help="skip the quantize/prune ablation in both orders")
    demo.add_argument("--json", action="store_true", help="print JSON for machines")
    demo.set_defaults(run=run_demo)


def demo_settings(args):
    """The one settings object of the run, from the flags; a bad value is a usage error (exit 2)."""
    from tinytorch.benchmarking.settings import BenchmarkSettings

    flags = {"warmup_runs": args.warmup, "measurement_runs": args.runs, "processes": args.processes}
    if args.watts_per_core is not None:
        flags["watts_per_core"] = args.watts_per_core
    try:
        return BenchmarkSettings(**flags)
    except ValueError as error:
        raise TitoError(f"{error} (from --runs {args.runs}, --warmup {args.warmup}, --processes {args.processes}"
                        f"{'' if args.watts_per_core is None else f', --watts-per-core {args.watts_per_core}'})",
                        exit_code=2) from error


def benchmark_reference_models(out_dir: Path, settings, *, progress: bool = True, ablation: bool = True) -> dict:
    """Benchmark the reference models on the TinyDigits test set; write report, plots, JSON into `out_dir`.

    Args:
        out_dir: where the files go.
        settings: the run's `BenchmarkSettings`, passed whole to the suite and the ablation.

    Returns:
        `suite` (the BenchmarkSuite), `files` (what was written) and `ablation` (a DataFrame or None).
    """
    from tinytorch.benchmarking.benchmark import BenchmarkSuite, compare_ablation_orders
    from tinytorch.datasets.tinydigits import load_tinydigits
    from tinytorch.models.zoo import load_reference_model

    datasets = [load_tinydigits().test]
    models = [load_reference_model(name) for name in DEMO_MODELS]
    suite = BenchmarkSuite(models, datasets, output_dir=out_dir, progress=progress, settings=settings)
    suite.run_full_benchmark()
    files = [suite.save_results(Path(out_dir) / "benchmark_results.json")]
    suite.plot_results()
    files.append(Path(out_dir) / "benchmark_comparison.png")
    suite.plot_pareto_frontier("latency", "accuracy")
    files.append(Path(out_dir) / "pareto_latency_vs_accuracy.png")
    suite.generate_report()
    files.append(Path(out_dir) / "benchmark_report.md")
    table = None
    if ablation:
        table = compare_ablation_orders(load_reference_model(ABLATION_BASE), _ablation_steps(), datasets,
                                        progress=progress, settings=settings)
        files.append(_write_ablation(Path(out_dir) / "ablation_orders.md", table))
    return {"suite": suite, "files": files, "ablation": table}


def _ablation_steps():
    from tinytorch.optimization.compression import magnitude_prune
    from tinytorch.optimization.quantization import quantize_model
    return [("quantize", quantize_model), ("prune", lambda model: magnitude_prune(model, sparsity=0.5))]


ABLATION_COLUMNS = ("order", "model", "latency_ms", "delta_latency_ms", "latency_change_significant", "accuracy",
                    "delta_accuracy", "memory_mb", "model_size_mb", "delta_model_size_mb", "energy_j")


def _cell(value) -> str:
    if value is None or value != value:  # None or NaN: the base row has no delta
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _write_ablation(path: Path, table) -> Path:
    lines = ["# Ablation: quantize and prune (sparsity 0.5, no fine-tuning), both orders", "",
             "Deltas are against the previous stage of the same order; all stages were measured in one suite.", "",
             "| " + " | ".join(ABLATION_COLUMNS) + " |", "|" + "---|" * len(ABLATION_COLUMNS)]
    for row in table.to_dict("records"):
        lines.append("| " + " | ".join(_cell(row[c]) for c in ABLATION_COLUMNS) + " |")
    return write_text_atomic(path, "\n".join(lines) + "\n")


def comparison_rows(suite) -> list[dict]:
    """One row per model: the figures the demo table shows (means with the 95% intervals the report shows)."""
    from tinytorch.benchmarking.benchmark import display_interval

    results = suite.results
    rows = []
    for name in results["latency"]:
        latency, energy = results["latency"][name], results["energy"][name]
        memory = results["memory"][name]
        rows.append({"model": name, "latency_ms": latency.mean, "latency_ci_ms": [latency.ci_lower, latency.ci_upper],
                     "accuracy": results["accuracy"][name].mean,
                     "accuracy_ci": list(display_interval(results["accuracy"][name], "accuracy")),
                     "peak_memory_mb": memory.mean,
                     "model_size_mb": memory.metadata.get("model_size_mb"),
                     "energy_mj": energy.mean * 1e3, "energy_ci_mj": [energy.ci_lower * 1e3, energy.ci_upper * 1e3],
                     "energy_method": energy.metadata.get("method")})
    return rows


def run_demo(args) -> int:
    settings = demo_settings(args)
    from tinytorch.benchmarking.benchmark import BenchmarkError
    try:
        outcome = benchmark_reference_models(Path(args.out), settings, progress=not args.no_progress and not args.json,
                                             ablation=not args.no_ablation)
    except (BenchmarkError, OSError, ValueError) as error:
        raise TitoError(f"the benchmark demo failed: {error}") from error
    rows = comparison_rows(outcome["suite"])
    ablation = outcome["ablation"]
    warnings = run_warnings(outcome["suite"], ablation)
    if args.json:
        print_json({"models": rows, "files": [str(f) for f in outcome["files"]], "warnings": warnings,
                    "ablation": None if ablation is None else ablation.to_dict("records")})
        return 0
    out.print(_comparison_table(rows))
    if ablation is not None:
        out.print(_ablation_table(ablation))
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False)
    if warnings:
        err.print("These figures may not hold; repeat the run on a quiet machine.", markup=False)
    err.print(f"wrote {', '.join(str(f) for f in outcome['files'])}")
    return 0


def run_warnings(suite, ablation) -> list[str]:
    """Every distinct warning of the run: the machine, unstable values, and the base model measured twice
    (in the main table and in the ablation) disagreeing beyond noise."""
    found: list[str] = []
    for per_model in suite.results.values():
        for result in per_model.values():
            found += [w for w in result.metadata.get("warnings", []) if w not in found]
    if ablation is not None and "results" in ablation.attrs:
        from tinytorch.benchmarking.benchmark import difference_test

        main_table = suite.results["latency"].get(ABLATION_BASE)
        again = ablation.attrs["results"]["latency"].get(ABLATION_BASE)
        if main_table is not None and again is not None and difference_test(main_table, again)["significant"]:
            found.append(f"{ABLATION_BASE} measured {main_table.median:.4g} ms (median) in the main table and "
                         f"{again.median:.4g} ms in the ablation of the same run: the machine's speed changed "
                         "between the two")
    return found


def _comparison_table(rows: list[dict]) -> Table:
    method = rows[0]["energy_method"]
    table = Table(title="Reference models on the TinyDigits test set (200 images), batch 1")
    table.add_column("model", no_wrap=True)  # names must stay whole: people copy them
    for header in ("latency ms [95% CI]", "accuracy", "peak mem KB", "size KB", f"energy uJ ({method})"):
        table.add_column(header)
    for row in rows:
        low, high = row["latency_ci_ms"]  # the interval the report and the JSON carry
        size = "n/a" if row["model_size_mb"] is None else f"{row['model_size_mb'] * 1024:.2f}"
        table.add_row(row["model"], f"{row['latency_ms']:.4f} [{low:.4f}, {high:.4f}]", f"{row['accuracy']:.3f}",
                      f"{row['peak_memory_mb'] * 1024:.2f}", size, f"{row['energy_mj'] * 1e3:.2f}")
    return table


def _ablation_table(frame) -> Table:
    table = Table("order", "stage", "latency ms", "change", "accuracy", "size KB", "energy uJ",
                  title="Ablation: quantize and prune (0.5) in both orders; change = vs the previous stage")
    for row in frame.to_dict("records"):
        if row["delta_latency_ms"] is None or row["delta_latency_ms"] != row["delta_latency_ms"]:
            change = "-"
        else:
            change = f"{row['delta_latency_ms']:+.4f} ({'significant' if row['latency_change_significant'] else 'noise'})"
        table.add_row(row["order"], row["step"], f"{row['latency_ms']:.4f}", change, f"{row['accuracy']:.3f}",
                      f"{row['model_size_mb'] * 1024:.2f}", f"{row['energy_j'] * 1e6:.2f}")
    return table
