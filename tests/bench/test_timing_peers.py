"""The decision logic of bench/timing_peers.py (no timing: the attempts return scripted values)."""
import importlib.util
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_timing_peers", ROOT / "bench" / "timing_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_single_value_never_meets_the_interval_target():
    bench = load_bench()
    attempts = [("one", lambda: [5.0]), ("steady", lambda: [5.0, 5.01, 4.99, 5.0, 5.0, 5.01])]
    assert "budget steady" in bench.first_meeting(attempts, "mean", 0.02)
    assert bench.first_meeting([("one", lambda: [5.0])], "mean", 0.02) == "never met within the budgets tried"


def test_relative_half_width_of_mean_and_median():
    bench = load_bench()
    values = np.arange(1.0, 21.0)
    low, high = bench.t_confidence_interval(values)
    assert bench.relative_half_width(values, "mean") == (high - low) / 2 / 10.5
    assert bench.relative_half_width(values, "median") == (15.0 - 6.0) / 2 / 10.5
    assert math.isinf(bench.relative_half_width([1.0, 2.0, 3.0], "median")), "too few values for a median interval"


def test_the_models_do_what_their_names_say():
    bench = load_bench()
    models = bench.build_models()
    x = bench.seeded_input(models["matmul64"][1])
    np.testing.assert_array_equal(models["matmul64"][0](x), models["matmul64_x2"][0](x))
    assert models["empty"][0](x) is x and models["mlp"][0].name == "mlp"
