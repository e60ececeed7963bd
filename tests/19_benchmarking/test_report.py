"""The Markdown report: golden text on constructed results, live sections, atomic writing."""
import json
import os
import re
from pathlib import Path

import pytest

from tinytorch.benchmarking.benchmark import (BenchmarkResult, BenchmarkSuite, DeploymentConstraints, render_report,
                                              results_to_json)
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

GOLDEN = Path(__file__).parent / "golden" / "benchmark_report.md"
UNITS = {"latency": "ms", "accuracy": "fraction", "memory": "MB", "energy": "J"}
# Fixed figures for three models: the slow accurate baseline, a fast but noisy variant, and a small one.
CONSTRUCTED = {
    "baseline": {"latency": [2.00, 2.10, 1.90, 2.05, 1.95], "accuracy": [0.965], "memory": [0.0132, 0.0132],
                 "energy": [0.0020, 0.0021, 0.0019]},
    "int8": {"latency": [2.60, 2.70, 2.50, 2.65, 2.55], "accuracy": [0.960], "memory": [0.0056, 0.0056],
             "energy": [0.0026, 0.0027, 0.0025]},
    "pruned": {"latency": [1.98, 2.12, 1.88, 2.02, 1.97], "accuracy": [0.955], "memory": [0.0132, 0.0132],
               "energy": [0.0020, 0.0021, 0.0019]},
}
SIZES = {"baseline": 0.00919, "int8": 0.00258, "pruned": 0.00919}
ENERGY_META = {"method": "estimated", "watts_per_core": 10.0,
               "formula": "energy per inference = watts_per_core x process CPU time per inference",
               "assumptions": "RAPL counters not readable under /sys/class/powercap"}


def constructed_suite(tmp_path: Path) -> BenchmarkSuite:
    results = {metric: {} for metric in UNITS}
    for name, figures in CONSTRUCTED.items():
        for metric, values in figures.items():
            meta = {"energy": ENERGY_META, "latency": {"calls_per_block": 64},
                    "accuracy": {"datasets": [{"dataset": "tinydigits_test", "samples": 200,
                                               "correct": round(values[0] * 200)}]},
                    "memory": {"model_size_mb": SIZES[name]}}.get(metric, {})
            results[metric][name] = BenchmarkResult(f"{name}_{metric}", values, dict(meta), unit=UNITS[metric])
    path = tmp_path / "constructed.json"
    system = {"platform": "Linux-test", "cpu_count": 2, "python_version": "3.11.2"}
    path.write_text(json.dumps(results_to_json(results, system, {"warmup_runs": 5, "measurement_runs": 5})))
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [load_tinydigits().test],
                           output_dir=tmp_path / "out", progress=False)
    suite.load_results(path)
    return suite


def normalize(report: str) -> str:
    """Blank the parts that depend on the machine: the system lines and p-values' last digits."""
    report = re.sub(r"(## System Information\n\n)(- .*\n)+", r"\1- (system lines)\n", report)
    return report


def test_report_matches_the_golden_text(tmp_path):
    report = constructed_suite(tmp_path).generate_report()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(normalize(report))
    assert normalize(report) == GOLDEN.read_text()


def test_report_is_written_atomically_and_equals_the_return_value(tmp_path):
    suite = constructed_suite(tmp_path)
    report = suite.generate_report()
    assert (tmp_path / "out" / "benchmark_report.md").read_text() == report
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["benchmark_report.md"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out" / "benchmark_report.md").stat().st_mode & 0o777 == 0o666 & ~umask, "usual file mode"


def test_an_interrupted_write_leaves_the_old_report_whole(tmp_path, monkeypatch):
    suite = constructed_suite(tmp_path)
    old = suite.generate_report()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        suite.generate_report(DeploymentConstraints(min_accuracy=0.5))
    assert (tmp_path / "out" / "benchmark_report.md").read_text() == old
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["benchmark_report.md"], "temporary file removed"


def test_report_sections_and_verdicts(tmp_path):
    report = constructed_suite(tmp_path).generate_report()
    for heading in ("# Benchmark Report", "## Method", "## System Information", "## Results", "## Pareto Set",
                    "## Recommendations"):
        assert heading in report
    assert "estimated, not measured" in report and "watts_per_core = 10 W" in report
    assert "within noise of pruned" in report, "baseline and pruned latencies overlap"
    assert "| int8 |" in report and "slower" in report


def test_recommendations_follow_the_constraints_not_the_names(tmp_path):
    suite = constructed_suite(tmp_path)
    strict = suite.generate_report(DeploymentConstraints(min_accuracy=0.962))
    assert "Lowest latency with accuracy >= 0.962: **baseline**" in strict
    assert "Smallest peak memory with accuracy >= 0.962: **baseline**" in strict
    relaxed = suite.generate_report(DeploymentConstraints(min_accuracy=0.9))
    assert "Smallest peak memory with accuracy >= 0.9: **int8**" in relaxed
    assert "Smallest stored model with accuracy >= 0.9: **int8**" in relaxed
    assert "Smallest stored model with accuracy >= 0.962: **baseline**" in strict
    impossible = suite.generate_report(DeploymentConstraints(min_accuracy=0.99))
    assert "no model meets accuracy >= 0.99" in impossible
    assert "Models meeting every constraint: none." in impossible
    renamed = {m: {n.replace("int8", "zz_model"): r for n, r in per.items()} for m, per in suite.results.items()}
    text = render_report(renamed, {}, {}, {m: None for m in renamed}, DeploymentConstraints(min_accuracy=0.9))
    assert "Smallest peak memory with accuracy >= 0.9: **zz_model**" in text


def test_single_model_report_says_there_is_nothing_to_compare(tmp_path):
    suite = constructed_suite(tmp_path)
    suite.results = {m: {"baseline": per["baseline"]} for m, per in suite.results.items()}
    report = suite.generate_report()
    assert "Only one model" in report and "vs accuracy (means): baseline" in report


def test_accuracy_interval_is_wilson_from_the_counts():
    from tinytorch.benchmarking.benchmark import display_interval
    result = BenchmarkResult("acc", [0.965], {"datasets": [{"correct": 193, "samples": 200}]}, unit="fraction")
    p, n, z = 0.965, 200, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    assert display_interval(result, "accuracy") == pytest.approx((centre - half, centre + half), rel=1e-9)
    timed = BenchmarkResult("lat", [1.0, 1.2, 1.1], unit="ms")
    assert display_interval(timed, "latency") == (timed.ci_lower, timed.ci_upper)
    assert display_interval(BenchmarkResult("acc", [0.9]), "accuracy") == (0.9, 0.9), "no counts: the value itself"
