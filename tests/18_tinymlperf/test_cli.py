"""`tito bench tinymlperf`, in process."""
import json

import pytest

from tito.main import main


@pytest.fixture
def cache_env(monkeypatch, cache_root):
    monkeypatch.setenv("TINYTORCH_CACHE", str(cache_root))


def test_bench_runs_the_reference_model_and_writes_a_report(cache_env, tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(["bench", "tinymlperf", "--task", "image_classification", "--size", "small", "--num-runs", "64",
                 "--output", str(report), "--json"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results) == ["image_classification"]
    assert results["image_classification"]["model_name"] == "reference_image_classification"
    assert "Compliance Rate" in (tmp_path / "r_summary.md").read_text()


def test_bench_loads_a_saved_model_and_reports_incompatible_tasks(cache_env, bench, tmp_path, capsys):
    from tinytorch.models.zoo import save_model

    save_model(bench.reference_model("image_classification"), tmp_path / "digits")
    code = main(["bench", "tinymlperf", "--model", str(tmp_path / "digits"), "--size", "small", "--num-runs", "3",
                 "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 0
    assert results["image_classification"]["accuracy"] >= 0.9
    for task in ("keyword_spotting", "anomaly_detection", "visual_wake_words"):
        assert "input of shape" in results[task]["error"] and results[task]["compliant"] is False


def test_bench_table_names_the_errors_on_stderr(cache_env, tmp_path, capsys):
    from tinytorch.core.layers import Flatten, Linear, Sequential
    from tinytorch.models.zoo import save_model

    save_model(Sequential(Flatten(), Linear(64, 3), name="three"), tmp_path / "three")
    code = main(["bench", "tinymlperf", "--task", "image_classification", "--model", str(tmp_path / "three"),
                 "--size", "small", "--num-runs", "3"])
    captured = capsys.readouterr()
    assert code == 0 and "image_classification: model 'three'" in captured.err


def test_bench_bad_usage(cache_env, tmp_path, capsys):
    assert main(["bench", "tinymlperf", "--task", "imagenet"]) == 2
    assert main(["bench", "tinymlperf", "--num-runs", "0", "--size", "small"]) == 2
    assert main(["bench", "tinymlperf", "--processes", "0", "--size", "small"]) == 2
    assert main(["bench", "tinymlperf", "--model", str(tmp_path / "missing"), "--size", "small"]) == 1
    assert "cannot load model" in capsys.readouterr().err


def test_bench_times_the_queries_in_worker_processes(cache_env, capsys):
    code = main(["bench", "tinymlperf", "--task", "image_classification", "--size", "small", "--num-runs", "4",
                 "--processes", "2", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)["image_classification"]
    assert result["processes"] == 2 and len(result["latency_per_process_ms"]) == 2


def test_bench_table_says_when_the_machine_was_busy(cache_env, monkeypatch, capsys):
    from tinytorch.benchmarking import tinymlperf

    monkeypatch.setattr(tinymlperf, "machine_snapshot", lambda: {
        "monotonic_s": 0.0, "pid": 1, "cpu_count": 2, "load_average": [4.0] * 3, "machine_busy_s": None,
        "own_cpu_s": 0.0, "governors": [], "frequency_mhz": []})
    assert main(["bench", "tinymlperf", "--task", "image_classification", "--size", "small", "--num-runs", "8"]) == 0
    err = capsys.readouterr().err
    assert "warning: image_classification: the machine was busy: load average 4.00" in err
    assert "repeat the run on a quiet machine" in err
