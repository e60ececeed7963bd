"""Benchmark(..., processes=N): fresh worker processes, models as data, intervals across processes.

Workers are real processes (python -m ...), each a fraction of a second; these tests keep to 2-3 workers,
2-3 blocks and short blocks. Nothing asserts on a time: only on structure, counts and what was kept.
"""
from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from scipy import stats

from tinytorch.benchmarking import latency_workers, workers
from tinytorch.benchmarking.benchmark import (
    Benchmark, BenchmarkError, BenchmarkSettings, BenchmarkSuite, ModelSource, across_processes)
from tinytorch.core.layers import Linear, ReLU, Sequential
from tinytorch.models.zoo import load_reference_model, save_model

QUICK = {"warmup_runs": 1, "measurement_runs": 3, "min_block_ms": 0.2}


@pytest.fixture
def factory_module(tmp_path, monkeypatch):
    """A module a worker can import (on PYTHONPATH, which workers inherit), with model factories."""
    (tmp_path / "bench_factories.py").write_text(textwrap.dedent("""
        import numpy as np

        def doubler():
            def model(x):
                return x * 2.0
            return model

        def raiser():
            def model(x):
                raise ValueError("this model always fails")
            return model

        def not_a_model():
            return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return tmp_path


def test_latency_across_processes_keeps_every_raw_value_and_both_variances():
    mlp = load_reference_model("tinydigits_mlp")
    bench = Benchmark([mlp, ModelSource.reference("tinydigits_mlp_int8")], processes=3, **QUICK)
    results = bench.run_latency_benchmark((1, 8, 8))
    assert list(results) == ["tinydigits_mlp", "tinydigits_mlp_int8"]
    for result in results.values():
        meta = result.metadata
        assert result.count == 3 and result.unit == "ms", "one value per process"
        assert len(meta["per_process_values"]) == 3 and all(len(v) == 3 for v in meta["per_process_values"])
        assert result.values == pytest.approx([float(np.median(v)) for v in meta["per_process_values"]])
        low, high = stats.t.interval(0.95, 2, loc=np.mean(result.values), scale=stats.sem(result.values))
        assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high)), "t with N-1 = 2 degrees of freedom"
        pooled = np.mean([np.var(v, ddof=1) for v in meta["per_process_values"]])
        assert meta["within_process_variance"] == pytest.approx(pooled)
        assert meta["between_process_variance"] == pytest.approx(np.var(result.values, ddof=1))
        assert meta["interval_scope"] == "processes" and "3 fresh processes" in meta["scope_note"]
        assert len(meta["calls_per_block"]) == 3 and len(meta["orders"]) == 3 and len(meta["cpu_share"]) == 3
        assert "start" in meta["machine"] and isinstance(meta["warnings"], list)
    assert bench.results["latency"] is results
    table = bench.compare_models("latency")
    assert table["test"][1] == "Mann-Whitney U (medians)" and "Welch" in table["other_test"][1]


def test_memory_in_workers_and_one_pass_for_both_metrics(factory_module):
    bench = Benchmark([ModelSource.factory("bench_factories:doubler", name="doubler")], processes=2, **QUICK)
    both = bench.run_in_processes(("latency", "memory"), (1, 64))
    memory = both["memory"]["doubler"]
    assert memory.unit == "MB" and memory.count == 2 and len(memory.metadata["peak_bytes"]) == 2
    assert memory.metadata["peak_bytes"][0] == memory.metadata["peak_bytes"][1], "a peak is counted, not timed"
    here = Benchmark([ModelSource.factory("bench_factories:doubler", name="doubler")], **QUICK)
    assert memory.values == here.run_memory_benchmark((1, 64))["doubler"].values[:2], "the same peak as in-process"
    assert memory.values[0] * 2**20 >= 256, "at least the (1, 64) float32 output"
    assert set(bench.results) == {"latency", "memory"}


def test_a_model_given_as_a_factory_is_also_measured_in_this_process(factory_module):
    bench = Benchmark([ModelSource.factory("bench_factories:doubler")], **QUICK)
    result = bench.run_latency_benchmark((1, 4))["doubler"]
    assert result.count == 3 and result.metadata["interval_scope"] == "this process"
    assert "covers this process only" in result.metadata["scope_note"]


def test_a_model_that_cannot_travel_is_an_error_naming_the_routes():
    def in_notebook(x):
        return x

    bench = Benchmark([in_notebook], processes=2, **QUICK)
    with pytest.raises(ValueError) as caught:
        bench.run_latency_benchmark((1, 4))
    message = str(caught.value)
    assert "in_notebook" in message or "model_0" in message
    for route in ("ModelSource.saved", "ModelSource.reference", "ModelSource.factory"):
        assert route in message


def test_a_model_failing_in_a_worker_is_a_benchmark_error_naming_it(factory_module):
    bench = Benchmark([ModelSource.factory("bench_factories:raiser", name="fails")], processes=2, **QUICK)
    with pytest.raises(BenchmarkError, match=r"worker 1 of 2 failed: .*'fails' raised ValueError: this model always"):
        bench.run_latency_benchmark((1, 4))


def test_a_factory_that_returns_no_model_is_refused_in_the_worker(factory_module):
    bench = Benchmark([ModelSource.factory("bench_factories:not_a_model", name="x")], processes=2, **QUICK)
    with pytest.raises(BenchmarkError, match="TypeError: the model made by bench_factories:not_a_model"):
        bench.run_latency_benchmark((1, 4))


def test_a_worker_past_its_deadline_is_stopped(factory_module):
    settings = BenchmarkSettings(processes=2, worker_timeout_s=0.01, **QUICK)
    with pytest.raises(BenchmarkError, match="did not finish within 0.01 s"):
        Benchmark([ModelSource.factory("bench_factories:doubler")], settings=settings).run_latency_benchmark((1, 4))


def test_the_suite_and_its_report_measure_across_processes(tmp_path):
    digits_x = np.random.default_rng(0).standard_normal((20, 8, 8)).astype(np.float32)
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [(digits_x, np.zeros(20, dtype=int))],
                           output_dir=tmp_path, progress=False, processes=2, warmup_runs=1, measurement_runs=2,
                           energy_block_seconds=0.001)
    results = suite.run_full_benchmark()
    assert results["latency"]["tinydigits_mlp"].count == 2 and results["memory"]["tinydigits_mlp"].count == 2
    assert suite.config["processes"] == 2
    report = suite.generate_report()
    assert "95% interval across 2 fresh processes" in report and "## Warnings" in report


def test_across_processes_by_hand():
    spread = across_processes([[1.0, 2.0, 3.0], [2.0, 4.0, 9.0]])
    assert spread["values"] == [2.0, 4.0] and spread["processes"] == 2
    assert spread["within_process_variance"] == pytest.approx((1.0 + np.var([2, 4, 9], ddof=1)) / 2)
    assert spread["between_process_variance"] == pytest.approx(2.0)
    assert spread["between_process_cv"] == pytest.approx(math.sqrt(2.0) / 3.0)
    with pytest.raises(ValueError, match="at least one process"):
        across_processes([[1.0], []])


def test_model_sources_are_checked_and_named():
    assert ModelSource.saved("/x/y/model").name == "model"
    assert ModelSource.reference("tinydigits_mlp").name == "tinydigits_mlp"
    assert ModelSource.factory("pkg.mod:make_model").name == "make_model"
    with pytest.raises(ValueError, match="unknown reference model 'resnet'"):
        ModelSource.reference("resnet")
    with pytest.raises(ValueError, match="must be 'package.module:function'"):
        ModelSource.factory("not a factory")
    source = ModelSource.factory("pkg.mod:make", name="mine")
    assert ModelSource.from_json(source.to_json()) == source


def test_a_saved_model_route_loads_what_was_saved(tmp_path):
    model = Sequential(Linear(4, 3, seed=1), ReLU())
    save_model(model, tmp_path / "m")
    loaded = ModelSource.saved(tmp_path / "m", name="mine").load()
    x = np.ones((1, 4), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert loaded.name == "mine"


def test_processes_is_a_checked_setting():
    with pytest.raises(ValueError, match="processes=0 must be an integer >= 1"):
        BenchmarkSettings(processes=0)
    with pytest.raises(ValueError, match="worker_memory_mb=10"):
        BenchmarkSettings(worker_memory_mb=10)


def test_a_worker_of_a_student_package_with_the_calibration_stub_says_what_to_do(monkeypatch, tmp_path):
    """The worker's own handler, run here with the exercise's stub in place of the calibration."""
    def stub(*args, **kwargs):
        raise NotImplementedError()

    monkeypatch.setattr(latency_workers, "calibrate_calls_per_block", stub)
    np.save(tmp_path / "x.npy", np.ones((1, 8, 8), dtype=np.float32))
    request = {"models": [ModelSource.reference("tinydigits_mlp").to_json()], "input": str(tmp_path / "x.npy"),
               "metrics": ["latency"], "warmup_runs": 0, "measurement_runs": 2, "min_block_ms": 0.1,
               "max_timer_overhead": 0.01, "seed": 0, "process_index": 0}
    with pytest.raises(NotImplementedError, match="tito module complete 19"):
        latency_workers.measure_in_worker(request)


def test_run_worker_reports_a_crash_and_garbage(tmp_path, monkeypatch):
    (tmp_path / "crashing_worker.py").write_text("import os, sys\nsys.stderr.write('about to die\\n')\nos._exit(3)\n")
    (tmp_path / "chatty_worker.py").write_text("print('hello, not a result')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(workers.WorkerError, match="exited with code 3: about to die"):
        workers.run_worker("crashing_worker", {})
    with pytest.raises(workers.WorkerError, match="exited with code 0"):
        workers.run_worker("chatty_worker", {})


def test_where_no_process_may_start_the_error_says_to_measure_in_this_process(monkeypatch):
    import subprocess

    def refused(*args, **kwargs):
        raise PermissionError("the grader does not allow starting programs (subprocess.Popen)")

    monkeypatch.setattr(subprocess, "Popen", refused)
    bench = Benchmark([load_reference_model("tinydigits_mlp")], processes=2, **QUICK)
    with pytest.raises(BenchmarkError, match=r"cannot be started here \(PermissionError: .*processes=1"):
        bench.run_latency_benchmark((1, 8, 8))


def test_compare_optimization_techniques_measures_across_processes():
    from tinytorch.benchmarking.benchmark import compare_optimization_techniques
    from tinytorch.datasets.tinydigits import load_tinydigits

    summary = compare_optimization_techniques(load_reference_model("tinydigits_mlp"),
                                              [load_reference_model("tinydigits_mlp_int8")], [load_tinydigits().test],
                                              processes=2, energy_block_seconds=0.001, warmup_runs=1,
                                              measurement_runs=3)
    latency = summary["results"]["latency"]["tinydigits_mlp_int8"]
    assert latency.count == 2 and latency.metadata["interval_scope"] == "processes"
    assert summary["improvements"]["tinydigits_mlp_int8"]["latency_speedup"] > 0
