"""TinyMLPerf: the verdict, the timing logic on a fake clock, bad input, chance-level models, reports."""
import json

import numpy as np
import pytest

from tinytorch.benchmarking.tinymlperf import TASKS, ModelTaskError, TinyMLPerf
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.utils.files import current_umask
from tinytorch.utils.testing import FakeClock

SEED_KEYS = {"benchmark_name", "model_name", "accuracy", "mean_latency_ms", "std_latency_ms", "p50_latency_ms",
             "p90_latency_ms", "p99_latency_ms", "max_latency_ms", "throughput_fps", "target_accuracy",
             "target_latency_ms", "accuracy_met", "latency_met", "compliant", "num_runs", "random_seed"}


class RandomOutputs:
    """A model whose outputs ignore its input entirely (seeded)."""

    def __init__(self, width, name="random_outputs", seed=0):
        self.width, self.name, self.rng = width, name, np.random.default_rng(seed)

    def forward(self, x):
        return self.rng.random((len(x), self.width))


@pytest.fixture(scope="module")
def digits_model(bench):
    return bench.reference_model("image_classification")


def test_result_has_every_seed_key_plus_metric_and_reasons(bench, digits_model):
    result = bench.run_standard_benchmark(digits_model, "image_classification", num_runs=70)
    assert SEED_KEYS <= set(result)
    assert result["metric_name"] == "top1_accuracy" and result["reasons"]
    assert result["num_runs"] == 70 and result["random_seed"] == 42
    assert result["data"]["real_data"] is True and len(result["data"]["sha256"]) == 64
    json.dumps(result)  # JSON-ready as it is


def test_latencies_come_from_the_clock_per_query_and_warmup_is_untimed(cache_root):
    # Readings alternate start/stop: each query's latency is the second step, 3 ms.
    clock = FakeClock(steps=[1_000_000, 3_000_000])
    bench = TinyMLPerf(data_size="small", warmup_runs=5, clock=clock, cache_root=cache_root)
    model = bench.reference_model("image_classification")
    result = bench.run_standard_benchmark(model, "image_classification", num_runs=80)
    assert clock.readings == 2 * 80, "two readings per timed query, none for warm-up"
    assert result["p50_latency_ms"] == result["p90_latency_ms"] == result["max_latency_ms"] == 3.0
    assert result["std_latency_ms"] == 0.0 and result["throughput_fps"] == pytest.approx(1000 / 3)
    assert result["latency_met"] is True and result["compliant"] is True


def test_slow_p90_fails_latency_with_the_reason(cache_root):
    # 9 fast queries then 1 slow one, repeated: p90 is fast, p99 and max are slow.
    steps = [0, 1_000_000] * 9 + [0, 400_000_000]
    bench = TinyMLPerf(data_size="small", warmup_runs=0, clock=FakeClock(steps=steps), cache_root=cache_root)
    model = bench.reference_model("image_classification")
    fast = bench.run_standard_benchmark(model, "image_classification", num_runs=100)
    assert fast["p90_latency_ms"] == 1.0 and fast["max_latency_ms"] == 400.0 and fast["latency_met"] is True
    steps = [0, 1_000_000] * 5 + [0, 400_000_000] * 5
    bench.clock = FakeClock(steps=steps)
    slow = bench.run_standard_benchmark(model, "image_classification", num_runs=100)
    assert slow["latency_met"] is False and not slow["compliant"]
    assert any("p90 latency 400" in reason and "> limit 150" in reason for reason in slow["reasons"])


def test_too_few_queries_flag_the_percentiles_and_leave_latency_unjudged(bench, digits_model):
    result = bench.run_standard_benchmark(digits_model, "image_classification", num_runs=10)
    assert result["percentile_valid"] == {"p50": True, "p90": False, "p99": False}
    assert result["latency_met"] is None and result["compliant"] is False
    assert any("needs >= 64" in r for r in result["reasons"]) and any(">= 662" in r for r in result["reasons"])


def test_unknown_task_lists_the_tasks(bench, digits_model):
    with pytest.raises(ValueError) as error:
        bench.run_standard_benchmark(digits_model, "imagenet")
    for name in TASKS:
        assert name in str(error.value)


@pytest.mark.parametrize("num_runs", [0, -3, 2.5, True, "10"])
def test_num_runs_must_be_a_positive_integer(bench, digits_model, num_runs):
    with pytest.raises(ValueError, match="num_runs must be an integer >= 1"):
        bench.run_standard_benchmark(digits_model, "image_classification", num_runs=num_runs)


def test_wrong_input_width_is_a_clear_error(bench):
    model = Sequential(Flatten(), Linear(490, 12), name="kws_shaped")
    with pytest.raises(ModelTaskError, match=r"image_classification input of shape .*one sample is \(8, 8\)"):
        bench.run_standard_benchmark(model, "image_classification", num_runs=5)


def test_wrong_output_width_is_a_clear_error(bench):
    model = Sequential(Flatten(), Linear(64, 7), name="seven_classes")
    with pytest.raises(ModelTaskError, match=r"shape \(100, 7\); expected \(100, 10\)"):
        bench.run_standard_benchmark(model, "image_classification", num_runs=5)


def test_nan_outputs_are_an_error(bench):
    with pytest.raises(ModelTaskError, match="NaN"):
        bench.run_standard_benchmark(lambda x: np.full((len(x), 10), np.nan), "image_classification", num_runs=5)


@pytest.mark.parametrize("task", ["image_classification", "keyword_spotting", "visual_wake_words"])
def test_random_outputs_score_at_chance(bench, task):
    spec, data = TASKS[task], bench.load_data(task)
    result = bench.run_standard_benchmark(RandomOutputs(spec.output_width), task, num_runs=5)
    chance, n = 1 / spec.output_width, len(data.y_test)
    assert abs(result["accuracy"] - chance) <= 4 * np.sqrt(chance * (1 - chance) / n)
    assert result["accuracy_met"] is False and result["compliant"] is False


def test_random_anomaly_scores_give_auc_near_half(bench):
    n = len(bench.load_data("anomaly_detection").y_test)
    result = bench.run_standard_benchmark(RandomOutputs(1), "anomaly_detection", num_runs=5)
    # The AUC of a random score has standard deviation sqrt((n+1)/(3 n^2/4)) / 2 ~ 0.053 for n = 120.
    assert abs(result["accuracy"] - 0.5) <= 4 * np.sqrt((n + 1) / (12 * (n / 2) ** 2))
    assert result["metric_name"] == "auc" and not result["compliant"]


def test_the_name_of_a_model_changes_nothing(bench, digits_model):
    first = bench.run_standard_benchmark(RandomOutputs(10, name="plain"), "image_classification", num_runs=3)
    second = bench.run_standard_benchmark(RandomOutputs(10, name="efficient_accurate_model"),
                                          "image_classification", num_runs=3)
    assert first["accuracy"] == second["accuracy"]


def test_predict_and_plain_functions_are_models_too(bench, digits_model):
    class Predictor:
        def predict(self, x):
            return digits_model(x).data.argmax(axis=1)

    by_labels = bench.run_standard_benchmark(Predictor(), "image_classification", num_runs=3)
    by_function = bench.run_standard_benchmark(lambda x: digits_model(x), "image_classification", num_runs=3)
    direct = bench.run_standard_benchmark(digits_model, "image_classification", num_runs=3)
    assert by_labels["accuracy"] == by_function["accuracy"] == direct["accuracy"]
    with pytest.raises(TypeError, match="forward"):
        bench.run_standard_benchmark(object(), "image_classification", num_runs=3)


def test_reference_digits_model_meets_the_target_on_the_full_test_set(cache_root):
    bench = TinyMLPerf(data_size="full", cache_root=cache_root, warmup_runs=0, clock=FakeClock(steps=[0, 1_000_000]))
    result = bench.run_standard_benchmark(bench.reference_model("image_classification"), "image_classification",
                                          num_runs=64)
    assert result["accuracy"] >= TASKS["image_classification"].target and result["compliant"]


def test_reference_autoencoder_separates_faults_on_small_data(bench):
    result = bench.run_standard_benchmark(bench.reference_model("anomaly_detection"), "anomaly_detection",
                                          num_runs=5)
    assert result["accuracy"] >= 0.75


def test_run_all_benchmarks_turns_an_incompatible_task_into_an_error_entry(bench, digits_model):
    results = bench.run_all_benchmarks(digits_model, num_runs=5)
    assert set(results) == set(TASKS)
    assert "error" not in results["image_classification"]
    for task in ("keyword_spotting", "anomaly_detection", "visual_wake_words"):
        assert results[task]["compliant"] is False and "input of shape" in results[task]["error"]
    partial = bench.run_all_benchmarks({"image_classification": digits_model}, num_runs=5)
    assert partial["keyword_spotting"]["error"] == "no model given for keyword_spotting"


def test_compliance_report_writes_json_and_summary(bench, digits_model, tmp_path):
    results = bench.run_all_benchmarks({"image_classification": digits_model}, num_runs=64)
    path = tmp_path / "out" / "report.json"
    summary = bench.generate_compliance_report(results, output_path=path)
    assert "TinyMLPerf Compliance Report" in summary and "Compliance Rate" in summary
    assert (tmp_path / "out" / "report_summary.md").read_text() == summary
    report = json.loads(path.read_text())
    assert report["total_tasks"] == 4 and report["compliant_tasks"] == int(results["image_classification"]["compliant"])
    assert report["results"]["keyword_spotting"]["error"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json", "report_summary.md"]
    usual = 0o666 & ~current_umask()  # written atomically, yet with the mode any new file gets (not mkstemp's 0600)
    assert all(p.stat().st_mode & 0o777 == usual for p in path.parent.iterdir())
    with pytest.raises(ValueError, match="at least one result"):
        bench.generate_compliance_report({}, output_path=tmp_path / "empty.json")


def test_benchmarks_describe_each_task_without_building_data(tmp_path):
    bench = TinyMLPerf(cache_root=tmp_path)
    described = bench.benchmarks
    assert described["anomaly_detection"]["metric"] == "auc" and described["anomaly_detection"]["target"] == 0.85
    assert described["visual_wake_words"]["input_shape"] == [96, 96, 3]
    for entry in described.values():
        assert entry["provenance"] and entry["licence"] and entry["latency_limit_ms"] > 0
    assert not (tmp_path / "tinymlperf").exists() or not list((tmp_path / "tinymlperf").iterdir())


def test_string_outputs_are_not_scored(bench):
    class Words:
        name = "words"

        def forward(self, x):
            return np.full((len(x), 10), "seven")

    with pytest.raises(ModelTaskError, match="answered image_classification with <U5 values; a model must answer"):
        bench.run_standard_benchmark(Words(), "image_classification", num_runs=5)


def test_a_compliance_report_is_both_files_or_neither(bench, digits_model, tmp_path, monkeypatch):
    from tinytorch.benchmarking import tinymlperf

    results = {"image_classification": bench.run_standard_benchmark(digits_model, "image_classification", num_runs=5)}
    real_stage, staged = tinymlperf.stage_file, []

    def summary_cannot_be_written(path, data):
        if str(path).endswith("_summary.md"):
            raise OSError("disk full")
        staged.append(real_stage(path, data))
        return staged[-1]

    monkeypatch.setattr(tinymlperf, "stage_file", summary_cannot_be_written)
    with pytest.raises(OSError, match="disk full"):
        bench.generate_compliance_report(results, output_path=tmp_path / "report.json")
    assert list(tmp_path.iterdir()) == [], "no JSON without its summary, and no temporary file"


def test_queries_timed_in_worker_processes(cache_root, digits_model):
    bench = TinyMLPerf(random_seed=42, data_size="small", warmup_runs=2, cache_root=cache_root, processes=2)
    result = bench.run_standard_benchmark(digits_model, "image_classification", num_runs=8)
    assert result["processes"] == 2 and len(result["latency_per_process_ms"]) == 2
    assert all(len(values) == 8 for values in result["latency_per_process_ms"])
    pooled = np.concatenate(result["latency_per_process_ms"])
    assert result["mean_latency_ms"] == pytest.approx(pooled.mean())
    low, high = result["mean_latency_ci_ms"]
    assert low <= result["mean_latency_ms"] <= high and "across 2 fresh processes" in result["latency_interval_scope"]
    json.dumps(result)


def test_one_process_says_its_latencies_are_that_process_only(bench, digits_model):
    result = bench.run_standard_benchmark(digits_model, "image_classification", num_runs=5)
    assert result["processes"] == 1 and "this process only" in result["latency_interval_scope"]


def test_a_test_clock_cannot_reach_worker_processes():
    with pytest.raises(ValueError, match="a replaced clock cannot reach worker processes"):
        TinyMLPerf(clock=FakeClock(), processes=2)
    with pytest.raises(ValueError, match="processes=0 must be an integer >= 1"):
        TinyMLPerf(processes=0)


def busy_snapshots(monkeypatch, load):
    """The harness reads the machine twice around the timing: both readings say `load` on 2 cores."""
    from tinytorch.benchmarking import tinymlperf

    def snapshot():
        return {"monotonic_s": 0.0, "pid": 1, "cpu_count": 2, "load_average": [load] * 3, "machine_busy_s": None,
                "own_cpu_s": 0.0, "governors": [], "frequency_mhz": []}

    monkeypatch.setattr(tinymlperf, "machine_snapshot", snapshot)


def test_a_busy_machine_is_said_in_the_result_and_the_report(bench, digits_model, monkeypatch, tmp_path):
    busy_snapshots(monkeypatch, load=3.5)
    results = {"image_classification": bench.run_standard_benchmark(digits_model, "image_classification", num_runs=5)}
    [warning] = results["image_classification"]["warnings"]
    assert "the machine was busy: load average 3.50" in warning and "on 2 core(s)" in warning
    summary = bench.generate_compliance_report(results, output_path=tmp_path / "report.json")
    assert "## Warnings" in summary and "- **image_classification**: the machine was busy" in summary


def test_a_quiet_machine_gives_no_warning(bench, digits_model, monkeypatch, tmp_path):
    busy_snapshots(monkeypatch, load=0.1)
    results = {"image_classification": bench.run_standard_benchmark(digits_model, "image_classification", num_runs=5)}
    assert results["image_classification"]["warnings"] == []
    assert "## Warnings" not in bench.generate_compliance_report(results, output_path=tmp_path / "report.json")


def test_processes_that_disagree_are_said(monkeypatch):
    from tinytorch.benchmarking import tinymlperf

    quiet = {"monotonic_s": 0.0, "pid": 1, "cpu_count": 2, "load_average": [0.1] * 3, "machine_busy_s": None,
             "own_cpu_s": 0.0, "governors": [], "frequency_mhz": []}
    agreeing = [np.full(8, 1.0), np.full(8, 1.02), np.full(8, 0.99)]
    disagreeing = [np.full(8, 1.0), np.full(8, 1.6), np.full(8, 0.7)]
    assert tinymlperf._latency_warnings(quiet, quiet, agreeing) == []
    [warning] = tinymlperf._latency_warnings(quiet, quiet, disagreeing)
    assert warning.startswith("latency: its processes varied by CV")
