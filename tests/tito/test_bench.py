"""`tito bench demo`: the reference models on TinyDigits, with small run counts (in-process, and once in
two worker processes)."""
import json

import pytest

from tito.main import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "results"
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["bench", "demo", "--out", str(out), "--runs", "3", "--warmup", "1", "--processes", "1", "--json"])
    return code, json.loads(buffer.getvalue()), out


def test_demo_benchmarks_the_three_reference_models(demo):
    code, data, out = demo
    assert code == 0
    assert [row["model"] for row in data["models"]] == ["tinydigits_mlp", "tinydigits_mlp_int8",
                                                        "tinydigits_mlp_pruned50"]
    for row in data["models"]:
        assert 0.9 <= row["accuracy"] <= 1.0 and row["latency_ms"] > 0 and row["energy_method"] in ("measured", "estimated")
    sizes = {row["model"]: row["model_size_mb"] for row in data["models"]}
    assert sizes["tinydigits_mlp_int8"] < sizes["tinydigits_mlp"] / 2


def test_demo_writes_report_plots_json_and_ablation(demo):
    _, data, out = demo
    names = sorted(p.name for p in out.iterdir())
    assert names == ["ablation_orders.md", "benchmark_comparison.png", "benchmark_report.md", "benchmark_results.json",
                     "pareto_latency_vs_accuracy.png"]
    assert "Benchmark Report" in (out / "benchmark_report.md").read_text()
    orders = {row["order"] for row in data["ablation"]}
    assert orders == {"quantize -> prune", "prune -> quantize"}


@pytest.mark.parametrize("columns", ["40", "200"])  # a narrow terminal must not swallow the numbers
def test_demo_human_output_is_a_table(tmp_path, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["bench", "demo", "--out", str(tmp_path / "r"), "--runs", "2", "--warmup", "0", "--no-progress",
                 "--no-ablation", "--processes", "1"]) == 0
    captured = capsys.readouterr()
    assert "tinydigits_mlp_pruned50" in captured.out and "latency ms [95% CI]" in captured.out
    rows = [line for line in captured.out.splitlines() if "tinydigits_mlp" in line]
    assert len(rows) == 3 and all(line.count("0.9") >= 1 for line in rows), "every row keeps its accuracy"
    assert "wrote" in captured.err and not (tmp_path / "r" / "ablation_orders.md").exists()


@pytest.mark.parametrize("argv", [["bench"], ["bench", "demo", "--runs", "1"], ["bench", "demo", "--warmup", "-1"],
                                  ["bench", "unknown"], ["bench", "demo", "--processes", "0"]])
def test_bad_usage_exits_2(argv, tmp_path, capsys):
    assert main(argv + (["--out", str(tmp_path / "x")] if "demo" in argv else [])) == 2
    assert not (tmp_path / "x").exists()


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["bench", "demo", "--out", str(blocker / "results"), "--runs", "2", "--warmup", "0",
                 "--no-progress", "--no-ablation", "--processes", "1"]) == 1
    assert "output folder" in capsys.readouterr().err


def test_demo_writes_its_one_settings_object_as_the_results_config(demo):
    _, _, out = demo
    config = json.loads((out / "benchmark_results.json").read_text())["config"]
    assert config == {"warmup_runs": 1, "measurement_runs": 3, "min_block_ms": 1.0, "max_timer_overhead": 0.01,
                      "seed": 0, "input_shape": [1, 8, 8], "energy_block_seconds": 0.05, "watts_per_core": 10.0,
                      "processes": 1, "worker_timeout_s": 600.0, "worker_memory_mb": None}


def test_a_bad_setting_names_the_flag(tmp_path, capsys):
    assert main(["bench", "demo", "--out", str(tmp_path / "x"), "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert "measurement_runs=1: at least 2" in err and "--runs 1" in err


def test_demo_in_worker_processes_gives_intervals_across_them(tmp_path, capsys):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["bench", "demo", "--out", str(tmp_path / "r"), "--runs", "2", "--warmup", "0", "--processes", "2",
                     "--no-ablation", "--json"])
    assert code == 0
    data = json.loads(buffer.getvalue())
    saved = json.loads((tmp_path / "r" / "benchmark_results.json").read_text())
    latency = saved["results"]["latency"]["tinydigits_mlp"]
    assert len(latency["values"]) == 2 and len(latency["metadata"]["per_process_values"]) == 2
    assert isinstance(data["warnings"], list) and saved["config"]["processes"] == 2
    assert "across 2 fresh processes" in (tmp_path / "r" / "benchmark_report.md").read_text()


def test_the_base_model_measured_twice_and_disagreeing_is_a_warning():
    from types import SimpleNamespace

    import pandas as pd

    from tinytorch.benchmarking.benchmark import BenchmarkResult
    from tito.commands.bench import ABLATION_BASE, run_warnings

    def latency(values, warnings=()):
        return BenchmarkResult("l", values, {"warnings": list(warnings)}, unit="ms")

    suite = SimpleNamespace(results={"latency": {ABLATION_BASE: latency([0.0055, 0.0054, 0.0056, 0.0055, 0.0055],
                                                                        ["the machine was busy"])}})
    ablation = pd.DataFrame([{"order": "a"}])
    ablation.attrs["results"] = {"latency": {ABLATION_BASE: latency([0.0080, 0.0081, 0.0079, 0.0080, 0.0080])}}
    warnings = run_warnings(suite, ablation)
    assert warnings[0] == "the machine was busy"
    assert "measured 0.0055 ms (median) in the main table and 0.008 ms in the ablation" in warnings[1]
    ablation.attrs["results"]["latency"][ABLATION_BASE] = latency([0.0055, 0.0056, 0.0054, 0.0055, 0.0056])
    assert run_warnings(suite, ablation) == ["the machine was busy"], "the same within noise: no warning"


def test_warnings_are_printed_in_words(tmp_path, capsys, monkeypatch):
    from tito.commands import bench as bench_command

    monkeypatch.setattr(bench_command, "run_warnings", lambda suite, ablation: ["other processes used 1.9 core(s)"])
    assert main(["bench", "demo", "--out", str(tmp_path / "r"), "--runs", "2", "--warmup", "0", "--no-progress",
                 "--no-ablation", "--processes", "1"]) == 0
    err = capsys.readouterr().err
    assert "warning: other processes used 1.9 core(s)" in err and "may not hold" in err


def test_the_cli_default_is_the_librarys_and_the_olympics():
    from tinytorch.benchmarking.settings import DEFAULT_PROCESSES
    from tito.commands import bench as bench_command
    from tito.olympics.measure import MeasureSettings

    assert bench_command.DEFAULT_PROCESSES == DEFAULT_PROCESSES == MeasureSettings().processes
