"""`tinytorch.benchmarking.benchmark`: the one namespace of the benchmarking rooms, by plain imports."""
import subprocess
import sys
from pathlib import Path

import pytest

import tinytorch.benchmarking.benchmark as benchmark
from tinytorch.benchmarking import tinymlperf

REPO = Path(__file__).resolve().parents[2]  # `python -c` imports this checkout's tinytorch from its cwd

# Every public name the module offered when it was one file (the seed's names among them).
PUBLIC_API = [
    "DEFAULT_WATTS_PER_CORE", "RAPL_ROOT", "METRIC_DIRECTIONS", "METRIC_UNITS", "RESULTS_SCHEMA", "RESULTS_SCHEMA_VERSION",
    "SUITE_METRICS", "OLYMPIC_SCORED_METRICS", "Constraint", "Objective", "OlympicEvent", "t_confidence_interval",
    "tukey_outlier_count", "median_confidence_interval", "BenchmarkResult", "PreciseTimer", "precise_timer",
    "measure_timer_overhead_ns", "calibration_target_ns", "calibrate_calls_per_block", "interleaved_block_times",
    "timing_environment", "collect_system_info", "BenchmarkError", "accuracy_from_outputs", "ratio_of_means_interval",
    "compare_accuracy_counts", "compare_samples", "Benchmark", "estimate_energy_per_inference", "RaplPackage",
    "find_rapl_packages", "rapl_delta_uj", "EnergyMeter", "measure_energy", "check_metric", "dominates", "pareto_front",
    "results_to_json", "results_from_json", "DeploymentConstraints", "intervals_overlap", "display_interval",
    "best_model", "difference_test", "compare_results", "render_report", "plot_metric_panel", "frontier_staircase",
    "plot_pareto_panel", "BenchmarkSuite", "compare_optimization_techniques", "run_ablation", "compare_ablation_orders",
    "optimize_benchmark_configuration", "check_olympic_constraints", "score_olympic_event", "TinyMLPerf",
]


def test_the_whole_public_api_is_offered_and_listed_in_all():
    missing = [name for name in PUBLIC_API if not hasattr(benchmark, name)]
    unlisted = [name for name in PUBLIC_API if name not in benchmark.__all__]
    assert not missing and not unlisted, (missing, unlisted)
    assert all(not name.startswith("_") for name in benchmark.__all__)


def test_tinymlperf_is_reexported_and_listed_in_all():
    assert benchmark.TinyMLPerf is tinymlperf.TinyMLPerf
    assert "TinyMLPerf" in benchmark.__all__
    namespace = {}
    exec("from tinytorch.benchmarking.benchmark import *", namespace)
    assert namespace["TinyMLPerf"] is tinymlperf.TinyMLPerf


def test_names_are_plain_imports_from_their_rooms_not_a_lazy_module_getattr():
    assert not hasattr(benchmark, "__getattr__")
    assert benchmark.BenchmarkSuite.__module__ == "tinytorch.benchmarking.suite"
    assert benchmark.t_confidence_interval.__module__ == "tinytorch.benchmarking.statistics"


def test_unknown_attribute_still_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        benchmark.NoSuchThing  # noqa: B018 (the attribute access is the test)


def test_importing_benchmark_does_not_import_the_data_generators():
    generators = ["tinytorch.datasets.keywords", "tinytorch.datasets.machine_sounds", "tinytorch.datasets.wake_words",
                  "espeakng_loader", "sklearn"]
    code = ("import sys, tinytorch.benchmarking.benchmark\n"
            f"print([name for name in {generators!r} if name in sys.modules])\n"
            "print('tinytorch.benchmarking.tinymlperf' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    imported, harness = done.stdout.split("\n")[:2]
    assert imported == "[]", "TinyMLPerf's data generators are imported only when data is made"
    assert harness == "True", "the harness itself is a plain import"
