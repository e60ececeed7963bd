"""`tito bench demo`: the reference models on TinyDigits, in-process, with small run counts."""
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
        code = main(["bench", "demo", "--out", str(out), "--runs", "3", "--warmup", "1", "--json"])
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
                 "--no-ablation"]) == 0
    captured = capsys.readouterr()
    assert "tinydigits_mlp_pruned50" in captured.out and "latency ms [95% CI]" in captured.out
    rows = [line for line in captured.out.splitlines() if "tinydigits_mlp" in line]
    assert len(rows) == 3 and all(line.count("0.9") >= 1 for line in rows), "every row keeps its accuracy"
    assert "wrote" in captured.err and not (tmp_path / "r" / "ablation_orders.md").exists()


@pytest.mark.parametrize("argv", [["bench"], ["bench", "demo", "--runs", "1"], ["bench", "demo", "--warmup", "-1"],
                                  ["bench", "unknown"]])
def test_bad_usage_exits_2(argv, tmp_path, capsys):
    assert main(argv + (["--out", str(tmp_path / "x")] if "demo" in argv else [])) == 2
    assert not (tmp_path / "x").exists()


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["bench", "demo", "--out", str(blocker / "results"), "--runs", "2", "--warmup", "0",
                 "--no-progress", "--no-ablation"]) == 1
    assert "output folder" in capsys.readouterr().err
