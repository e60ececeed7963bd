"""The arithmetic of bench/interval_coverage.py on scripted runs (nothing is timed)."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_interval_coverage", ROOT / "bench" / "interval_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(matmul_values, mlp_values):
    def model(values):
        low, high = load_bench().t_interval(values)
        return {"mean": float(np.mean(values)), "ci": [low, high], "values": list(values), "warnings": []}
    return {"models": {"matmul": model(matmul_values), "mlp": model(mlp_values)}, "seconds": 1.0}


def test_coverage_counts_the_intervals_that_hold_the_median_centre():
    bench = load_bench()
    estimates = [(1.0, 0.9, 1.1), (1.2, 1.15, 1.25), (0.95, 0.9, 1.05)]
    fraction, centre, cv, half = bench.coverage(estimates)
    assert centre == 1.0 and fraction == pytest.approx(2 / 3)
    assert cv == pytest.approx(np.std([1.0, 1.2, 0.95], ddof=1) / np.mean([1.0, 1.2, 0.95]))
    assert half == pytest.approx(np.median([0.1 / 1.0, 0.05 / 1.2, 0.075 / 0.95])), "relative to each run's centre"


def test_the_paired_ratio_is_a_geometric_mean_with_a_t_interval_on_the_logs():
    bench = load_bench()
    ratio, low, high = bench.paired_ratio(run([1.0, 2.0, 1.0], [6.0, 12.6, 6.3]))
    logs = np.log([6.0, 6.3, 6.3])
    assert ratio == pytest.approx(math.exp(logs.mean()))
    assert (low, high) == pytest.approx(tuple(math.exp(v) for v in bench.t_interval(logs)))


def test_the_models_are_what_the_script_says(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import coverage_models

    model = coverage_models.matmul()
    x = np.ones((1, 64), dtype=np.float32)
    weight = np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)
    np.testing.assert_array_equal(model(x), x @ weight)
    assert model.name == "matmul_1x64"
