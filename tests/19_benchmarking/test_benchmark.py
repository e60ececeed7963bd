"""Benchmark: timing logic on a fake clock, accuracy on constructed data, memory, and every error path."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from tinytorch.benchmarking.benchmark import (Benchmark, BenchmarkError, BenchmarkResult, OlympicEvent,
                                              calibrate_calls_per_block, calibration_target_ns,
                                              collect_system_info, interleaved_block_times,
                                              measure_timer_overhead_ns, precise_timer, timing_environment)
from tinytorch.core.layers import Flatten, Linear, ReLU, Sequential
from tinytorch.core.tensor import Tensor

MB = 1024 * 1024


class FakeClock:
    """Nanoseconds that advance only when told: by the fake models, or by `tick` per reading."""

    def __init__(self, tick: int = 0):
        self.now, self.tick, self.readings = 0, tick, 0

    def __call__(self) -> int:
        self.readings += 1
        self.now += self.tick
        return self.now


class FakeModel:
    """Advances the fake clock by `ns` per call and logs its calls."""

    def __init__(self, name, ns, clock, log, width=10):
        self.name, self.ns, self.clock, self.log, self.width = name, ns, clock, log, width

    def forward(self, x):
        self.log.append(self.name)
        self.clock.now += self.ns
        return np.zeros((np.shape(x)[0], self.width), dtype=np.float32)


def mlp(name=None):
    return Sequential(Flatten(), Linear(64, 32, seed=0), ReLU(), Linear(32, 10, seed=1), name=name)


# --- timing on a fake clock -------------------------------------------------------------------

@pytest.mark.task("benchmarking-timer")
def test_precise_timer_is_a_real_context_manager_and_records_on_error():
    clock = FakeClock(tick=700)
    timer = precise_timer(clock)
    assert hasattr(timer, "__enter__") and hasattr(timer, "__exit__")
    with timer as bound:
        assert bound is timer
    assert timer.elapsed_ns == 700 and timer.elapsed == pytest.approx(7e-7)
    with pytest.raises(ZeroDivisionError):
        with precise_timer(clock) as failing:
            1 / 0
    assert failing.elapsed_ns == 700


@pytest.mark.task("benchmarking-timer")
def test_precise_timer_refuses_a_clock_going_backwards():
    readings = iter([100, 50])
    with pytest.raises(RuntimeError, match="backwards"):
        with precise_timer(lambda: next(readings)):
            pass
    with pytest.raises(TypeError, match="callable"):
        precise_timer(42)


def test_timer_overhead_is_the_median_gap_between_readings():
    assert measure_timer_overhead_ns(FakeClock(tick=40), samples=100) == 40.0


@pytest.mark.task("benchmarking-calibrate")
def test_calibration_doubles_until_the_block_reaches_the_target():
    clock, sizes = FakeClock(), []

    def run_block(n):
        sizes.append(n)
        clock.now += 250 * n

    assert calibrate_calls_per_block(run_block, 1_000_000, clock) == 4096  # 4096 * 250 ns >= 1 ms
    assert sizes == [2**k for k in range(13)]


@pytest.mark.task("benchmarking-calibrate")
def test_calibration_keeps_the_timer_under_one_percent():
    # a 60 ns clock and no minimum: the block must last at least 6 us
    target = calibration_target_ns(60.0, 0.01, min_block_ns=0)
    assert target == 6000.0
    clock = FakeClock(tick=60)  # every reading costs 60 ns
    calls = calibrate_calls_per_block(lambda n: setattr(clock, "now", clock.now + 20 * n), target, clock)
    assert 60 / (20 * calls + 60) < 0.01
    with pytest.raises(ValueError, match="max_overhead_fraction"):
        calibration_target_ns(60.0, 1.5)
    assert calibration_target_ns(0.0, 0.01, min_block_ns=0) == 1.0, "never a zero target"
    with pytest.raises(ValueError, match="target_ns"):
        calibrate_calls_per_block(lambda n: None, 0)


def test_interleaving_rotates_the_order_and_divides_by_the_calls():
    clock, log = FakeClock(), []
    models = {name: FakeModel(name, ns, clock, log) for name, ns in (("a", 100), ("b", 300))}
    runs = {name: (lambda n, m=m: [m.forward(np.zeros((1, 1))) for _ in range(n)]) for name, m in models.items()}
    times = interleaved_block_times(runs, {"a": 3, "b": 2}, rounds=4, clock=clock)
    assert log == ["a"] * 3 + ["b"] * 2 + ["b"] * 2 + ["a"] * 3 + ["a"] * 3 + ["b"] * 2 + ["b"] * 2 + ["a"] * 3
    assert times["a"].tolist() == [100.0] * 4 and times["b"].tolist() == [300.0] * 4


def test_latency_benchmark_on_a_fake_clock():
    clock, log = FakeClock(), []
    models = [FakeModel("slow", 4000, clock, log), FakeModel("fast", 1000, clock, log)]
    bench = Benchmark(models, warmup_runs=3, measurement_runs=5, min_block_ms=0.5, clock=clock, seed=7)
    results = bench.run_latency_benchmark(input_shape=(2, 8))
    slow, fast = results["slow"], results["fast"]
    assert slow.values == [0.004] * 5 and fast.values == [0.001] * 5 and slow.unit == "ms"
    # one checked call, 3 warm-up calls, calibration 1+2+...+128 (128 * 4 us >= 0.5 ms), 5 blocks of 128
    assert log.count("slow") == 1 + 3 + 255 + 5 * 128
    assert log.count("fast") == 1 + 3 + 1023 + 5 * 512
    meta = slow.metadata
    assert meta["calls_per_block"] == 128 and fast.metadata["calls_per_block"] == 512
    assert meta["warmup_runs"] == 3 and meta["seed"] == 7 and meta["input_shape"] == (2, 8)
    assert meta["timer_overhead_ns"] == 0.0 and meta["block_target_ns"] == 500_000
    # the measured blocks alternate between the models, the order rotating every round
    # (rounds: slow fast | fast slow | slow fast | fast slow | slow fast; neighbours of one name merge)
    timed = log[-(5 * 128 + 5 * 512):]
    runs = [[timed[0], 0]]
    for name in timed:
        if name != runs[-1][0]:
            runs.append([name, 0])
        runs[-1][1] += 1
    assert runs == [["slow", 128], ["fast", 1024], ["slow", 256], ["fast", 1024], ["slow", 256], ["fast", 512]]


def test_latency_inputs_are_seeded_and_leave_the_global_rng_alone():
    seen = []
    state = np.random.get_state()[1].copy()

    def record(x):
        seen.append(x.copy())
        return np.zeros((len(x), 2))

    Benchmark([record], warmup_runs=0, measurement_runs=2, min_block_ms=0.01, seed=3).run_latency_benchmark((1, 4))
    first = seen[0]
    seen.clear()
    Benchmark([record], warmup_runs=0, measurement_runs=2, min_block_ms=0.01, seed=3).run_latency_benchmark((1, 4))
    np.testing.assert_array_equal(seen[0], first)
    np.testing.assert_array_equal(first, np.random.default_rng(3).standard_normal((1, 4)).astype(np.float32))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_compare_models_latency_table():
    clock, log = FakeClock(), []
    models = [FakeModel("base", 2000, clock, log), FakeModel("half", 1000, clock, log),
              FakeModel("same", 2000, clock, log)]
    bench = Benchmark(models, warmup_runs=0, measurement_runs=3, min_block_ms=0.1, clock=clock)
    table = bench.compare_models("latency", input_shape=(1, 4))
    assert isinstance(table, pd.DataFrame)
    for column in ("model", "metric", "mean", "std", "ci_lower", "ci_upper", "count", "median", "unit",
                   "median_ci_lower", "median_ci_upper",
                   "ratio", "ratio_ci_lower", "ratio_ci_upper", "p_value", "verdict"):
        assert column in table.columns
    assert list(table["model"]) == ["base", "half", "same"]
    assert list(table["verdict"]) == ["baseline", "faster", "no detectable difference"]
    assert table["ratio"].tolist() == [1.0, 0.5, 1.0] and set(table["unit"]) == {"ms"}
    assert table["paired_ratio_median"].tolist() == [1.0, 0.5, 1.0]
    calls_so_far = len(log)
    again = bench.compare_models("latency")  # reuses the stored results: no model is called again
    assert len(log) == calls_so_far and again["mean"].tolist() == table["mean"].tolist()


def test_paired_ratio_is_the_median_of_per_round_ratios():
    bench = Benchmark([mlp("base"), mlp("double")], [(np.ones((2, 64), np.float32), np.arange(2))])
    bench.results["latency"] = {  # the baseline's last block was preempted (10 ms instead of 1)
        "base": BenchmarkResult("base_latency", [1.0, 1.0, 1.0, 10.0], unit="ms"),
        "double": BenchmarkResult("double_latency", [2.0, 2.0, 2.0, 2.0], unit="ms")}
    table = bench.compare_models("latency")
    assert table["paired_ratio_median"].tolist() == [1.0, 2.0]
    assert table["ratio"][1] == pytest.approx(8 / 13), "the ratio of means is pulled by the one slow block"
    assert math.isnan(bench.compare_models("accuracy")["paired_ratio_median"][1])


def test_unknown_metric_is_a_value_error_listing_the_metrics():
    with pytest.raises(ValueError, match="accuracy.*latency.*memory"):
        Benchmark([mlp()]).compare_models("energy_per_dollar")


# --- real models through the real clock: shapes and bookkeeping only, never time bounds ---------

def test_tinytorch_and_numpy_models_both_work():
    weights = [p.data for p in mlp().parameters()]

    def numpy_model(x):
        return np.maximum(x.reshape(len(x), -1) @ weights[0] + weights[1], 0) @ weights[2] + weights[3]

    class Predictor:
        name = "predictor"

        def predict(self, x):
            return Tensor(np.zeros((len(x), 10), dtype=np.float32))

    bench = Benchmark([mlp("tt"), numpy_model, Predictor()], warmup_runs=1, measurement_runs=2, min_block_ms=0.05)
    results = bench.run_latency_benchmark((1, 8, 8))
    assert list(results) == ["tt", "model_1", "predictor"]
    assert all(r.count == 2 and r.mean > 0 for r in results.values())
    assert results["predictor"].metadata["called_as"] == "predict"
    assert json.loads(json.dumps(results["tt"].to_dict()))["metadata"]["input_shape"] == [1, 8, 8]


# --- accuracy ---------------------------------------------------------------------------------

def one_hot(labels, classes=3):
    return np.eye(classes, dtype=np.float32)[labels]


@pytest.mark.task("benchmarking-accuracy")
def test_accuracy_per_dataset_from_outputs():
    y = np.array([0, 1, 2, 2, 1, 0, 0, 1])
    x = one_hot(y)
    wrong_last = x.copy()
    wrong_last[-1] = one_hot(np.array([2]))[0]

    class Echo:
        name = "echo"

        def forward(self, batch):
            return Tensor(batch)

    bench = Benchmark([Echo()], [(x, y), {"name": "half", "inputs": wrong_last[4:], "labels": y[4:]},
                                 [(x[:4], y[:4]), (wrong_last[4:], y[4:])]])
    result = bench.run_accuracy_benchmark()["echo"]
    assert result.values == [1.0, 0.75, 7 / 8] and result.unit == "fraction"
    details = result.metadata["datasets"]
    assert [d["dataset"] for d in details] == ["dataset_0", "half", "dataset_2"]
    assert [d["correct"] for d in details] == [8, 3, 7] and [d["samples"] for d in details] == [8, 4, 8]


@pytest.mark.task("benchmarking-accuracy")
def test_accuracy_single_output_threshold_and_predict_labels():
    x = np.array([[0.9], [0.2], [0.7], [0.4]], dtype=np.float32)
    y = np.array([1, 0, 0, 0])

    class LabelPredictor:
        name = "labels"

        def predict(self, batch):
            return np.array([1, 0, 0, 1])  # labels, used as is

    bench = Benchmark([lambda b: b, LabelPredictor()], [(x, y)])
    results = bench.run_accuracy_benchmark()
    assert results["model_0"].values == [0.75]
    assert results["labels"].values == [0.75] and results["labels"].metadata["called_as"] == "predict"


def test_accuracy_of_the_reference_model_on_real_digits():
    from tinytorch.datasets.tinydigits import load_tinydigits
    from tinytorch.models.zoo import load_reference_model
    digits = load_tinydigits()
    model = load_reference_model("tinydigits_mlp")
    expected = float(np.mean(model(digits.x_test).data.argmax(-1) == digits.y_test))
    result = Benchmark([model], [digits.test]).run_accuracy_benchmark()[model.name]
    assert result.values == [expected] and expected >= 0.95


def test_evaluate_is_used_only_when_asked_and_recorded():
    x, y = one_hot(np.array([0, 1])), np.array([0, 1])

    class SelfGrading:
        name = "self"

        def forward(self, batch):
            return batch

        def evaluate(self, dataset):
            return 0.5

    bench = Benchmark([SelfGrading()], [(x, y)])
    assert bench.run_accuracy_benchmark()["self"].values == [1.0]
    claimed = bench.run_accuracy_benchmark(use_evaluate=True)["self"]
    assert claimed.values == [0.5] and claimed.metadata["datasets"][0]["method"] == "model.evaluate(dataset)"
    SelfGrading.evaluate = lambda self, dataset: 1.5
    with pytest.raises(BenchmarkError, match="not a fraction"):
        bench.run_accuracy_benchmark(use_evaluate=True)


def test_accuracy_comparison_on_one_dataset_uses_the_counts():
    y = np.arange(200) % 3
    x = one_hot(y)
    worse = x.copy()
    worse[:60] = one_hot((y[:60] + 1) % 3)
    bench = Benchmark([lambda b: b, lambda b, w=worse: w[: len(b)]], [(x, y)])
    table = bench.compare_models("accuracy")
    assert list(table["verdict"]) == ["baseline", "worse"] and table["test"][1] == "Fisher exact (counts)"
    assert table["ratio"][1] == pytest.approx(0.7)


def test_unlabelled_data_is_an_error_naming_the_dataset():
    bench = Benchmark([lambda b: b], [{"name": "photos", "inputs": np.ones((3, 2))}])
    with pytest.raises(ValueError, match="'photos' has no labels"):
        bench.run_accuracy_benchmark()
    with pytest.raises(ValueError, match="no labels"):
        Benchmark([lambda b: b], [np.ones((3, 2))]).run_accuracy_benchmark()
    with pytest.raises(ValueError, match="no datasets"):
        Benchmark([lambda b: b]).run_accuracy_benchmark()


@pytest.mark.parametrize("dataset,words", [
    ((np.ones((5, 2)), np.arange(4)), "5 inputs but 4 labels"),
    ({"inputs": np.ones((2, 2)), "labels": np.arange(3)}, "2 inputs but 3 labels"),
    ([(np.ones((2, 2)), np.arange(2)), (np.ones((3, 2)), np.arange(1))], "3 inputs but 1 labels"),
    ({"labels": np.arange(3)}, "no inputs"),
    ([], "empty iterable"),
    ([np.ones(3)], "not an \\(x, y\\) pair"),
    (42, "pass \\(inputs, labels\\)"),
])
def test_malformed_datasets_are_clear_errors(dataset, words):
    with pytest.raises(ValueError, match=words):
        Benchmark([lambda b: b], [dataset])


# --- memory -----------------------------------------------------------------------------------

def test_memory_peak_of_a_model_with_a_known_temporary():
    def allocates_8mb(x):
        temporary = np.ones(MB, dtype=np.float64)  # 8 MiB, freed before returning
        return np.full((len(x), 2), temporary[0])

    results = Benchmark([allocates_8mb, mlp("mlp")], measurement_runs=3).run_memory_benchmark((1, 64))
    peak = results["model_0"]
    assert peak.unit == "MB" and peak.count == 3
    assert all(8.0 <= v < 8.1 for v in peak.values)
    assert peak.metadata["model_size_mb"] is None and "parameters()" in peak.metadata["model_size_unavailable"]
    size = results["mlp"].metadata["model_size_mb"]
    assert size == pytest.approx((64 * 32 + 32 + 32 * 10 + 10) * 4 / MB)
    assert results["mlp"].mean < 0.1, "the peak is of one batch-1 inference, not the parameters"


def test_memory_peak_counts_the_model_not_the_output_check():
    # the output check makes a boolean temporary of the output's size; it must not be in the peak
    def returns_4mb(x):
        return np.zeros((len(x), MB // 2), dtype=np.float64)

    peak = Benchmark([returns_4mb], measurement_runs=2).run_memory_benchmark((1, 4))["model_0"]
    assert all(4.0 <= v < 4.05 for v in peak.values)


def test_memory_comparison_with_deterministic_peaks():
    def small(x):
        return np.zeros((len(x), 2))

    def big(x):
        np.ones(MB // 8)
        return np.zeros((len(x), 2))

    table = Benchmark([small, big], measurement_runs=3).compare_models("memory", input_shape=(1, 4))
    assert table["verdict"].tolist() == ["baseline", "larger"] and table["unit"][0] == "MB"


# --- failing models and bad arguments ---------------------------------------------------------

def raises(x):
    raise KeyError("weights missing")


@pytest.mark.parametrize("model,words", [
    (raises, "raised KeyError"),
    (lambda x: None, "returned None"),
    (lambda x: np.full((len(x), 3), np.nan), "NaN"),
    (lambda x: np.zeros((len(x) + 1, 3)), "shape \\(3, 3\\) for a batch of 2"),
    (lambda x: np.float64(1.0), "shape \\(\\) for a batch of 2"),
    (lambda x: np.array([["a"]] * len(x)), "numbers"),
])
@pytest.mark.parametrize("run", ["latency", "memory", "accuracy"])
def test_failing_models_raise_benchmark_error_naming_the_model(model, words, run):
    model.__dict__["name"] = "broken"
    bench = Benchmark([model], [(np.ones((2, 4), np.float32), np.arange(2))], measurement_runs=2, min_block_ms=0.01)
    with pytest.raises(BenchmarkError, match=f"'broken'.*{words}") as info:
        getattr(bench, f"run_{run}_benchmark")(**({} if run == "accuracy" else {"input_shape": (2, 4)}))
    if model is raises:
        assert isinstance(info.value.__cause__, KeyError)


def test_a_model_failing_during_timing_is_reported_not_timed():
    calls = []

    def flaky(x):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("device lost")
        return np.zeros((len(x), 2))

    with pytest.raises(BenchmarkError, match="'model_0' raised RuntimeError: device lost") as info:
        Benchmark([flaky], warmup_runs=5).run_latency_benchmark((1, 2))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_tinytorch_model_with_the_wrong_input_shape_names_the_model():
    with pytest.raises(BenchmarkError, match="'mlp' raised ValueError: .*last dimension must be 64"):
        Benchmark([mlp("mlp")]).run_latency_benchmark()  # the default (1, 28, 28) is not 64 wide


@pytest.mark.parametrize("models,error,words", [
    ([object()], TypeError, "no forward\\(x\\), no predict\\(x\\)"),
    ([], ValueError, "empty"),
    ("mlp", TypeError, "list of models"),
])
def test_bad_models(models, error, words):
    with pytest.raises(error, match=words):
        Benchmark(models)


def test_duplicate_names_are_an_error():
    with pytest.raises(ValueError, match="duplicate model names \\['twin'\\]"):
        Benchmark([mlp("twin"), mlp("twin")])


@pytest.mark.parametrize("kwargs,words", [
    ({"measurement_runs": 1}, "measurement_runs=1: at least 2"),
    ({"measurement_runs": 2.5}, "measurement_runs=2.5"),
    ({"warmup_runs": -1}, "warmup_runs=-1"),
    ({"min_block_ms": -1}, "min_block_ms"),
    ({"max_timer_overhead": 0}, "max_overhead_fraction"),
])
def test_bad_settings(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Benchmark([mlp()], **kwargs)


@pytest.mark.parametrize("shape,words", [((1, 0, 8), "zero or negative"), ((-1, 64), "zero or negative"),
                                         ("1x64", "tuple of integers"), ((1.5, 64), "tuple of integers"),
                                         ((), "tuple of integers")])
@pytest.mark.parametrize("run", ["latency", "memory"])
def test_bad_input_shapes(shape, words, run):
    with pytest.raises(ValueError, match=words):
        getattr(Benchmark([mlp()]), f"run_{run}_benchmark")(shape)


# --- system info and events -------------------------------------------------------------------

# Some machines set OpenBLAS variables system-wide (older OpenBLAS builds need them on some processors):
# the test clears every BLAS/OpenMP variable of the host, then sets its own.
HOST_LIKE_ENVIRONMENTS = {
    "none set": {},
    "OpenBLAS core type set system-wide": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"},
    "threads pinned": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NVPL_BLAS_DEBUG_CPU_TYPE": "1"},
}


def use_only(monkeypatch, variables):
    for name in timing_environment():
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("variables", HOST_LIKE_ENVIRONMENTS.values(), ids=HOST_LIKE_ENVIRONMENTS.keys())
def test_system_info_records_what_decides_a_timing(monkeypatch, variables):
    monkeypatch.setenv("OPENBLAS_VERBOSE", "2")  # what a host may have set before the test runs
    use_only(monkeypatch, variables)
    monkeypatch.setenv("NOT_A_BLAS_SETTING", "x")
    info = collect_system_info(FakeClock(tick=45))
    for key in ("platform", "processor", "python_version", "memory_gb", "cpu_count", "numpy_version", "blas",
                "load_average", "timer_resolution_ns"):
        assert key in info
    assert info["timing_env"] == variables
    assert info["timer_overhead_ns"] == 45.0 and info["numpy_version"] == np.__version__
    assert all("num_threads" in pool for pool in info["blas"])
    json.dumps(info)


def test_timing_environment_reads_the_mapping_it_is_given():
    environ = {"OPENBLAS_CORETYPE": "Haswell", "GOMP_CPU_AFFINITY": "0", "KMP_BLOCKTIME": "0", "HOME": "/root"}
    assert timing_environment(environ) == {"GOMP_CPU_AFFINITY": "0", "KMP_BLOCKTIME": "0",
                                           "OPENBLAS_CORETYPE": "Haswell"}


def test_olympic_events_expose_their_rules_as_data():
    assert [e.value for e in OlympicEvent] == ["latency_sprint", "memory_challenge", "accuracy_contest",
                                              "all_around", "extreme_push"]
    sprint = OlympicEvent.LATENCY_SPRINT
    assert (sprint.objective.metric, sprint.objective.direction) == ("latency", "minimize")
    assert [(c.metric, c.comparison, c.bound) for c in sprint.constraints] == [("accuracy", ">=", 0.85)]
    assert OlympicEvent.ACCURACY_CONTEST.objective.direction == "maximize"
    assert OlympicEvent.ALL_AROUND.constraints == ()
    latency, memory = OlympicEvent.ACCURACY_CONTEST.constraints
    assert latency.is_met(99.9) and not latency.is_met(100.0) and not memory.is_met(10.0)
