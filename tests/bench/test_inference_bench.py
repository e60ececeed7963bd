"""The timing logic of bench/inference.py, on a fake clock (no wall-clock assertions)."""
import importlib.util
from pathlib import Path

import numpy as np

from tinytorch.utils.testing import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_inference", ROOT / "bench" / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block(clock, cost, log=None, name=None):
    """A fake block of `n` calls: each call of a candidate advances the fake clock by `cost`."""
    def run(n):
        clock.advance(n * cost)
        if log is not None:
            log.append(name)
    return run


def test_calibrate_returns_smallest_power_of_two_reaching_the_block_time():
    bench, clock = load_bench(), FakeClock()
    # 3 units per call; a block must last >= 100 units: 32 calls (96) is short, 64 (192) is enough.
    assert bench.calibrate(block(clock, 3), 100, clock=clock) == 64
    assert bench.calibrate(block(clock, 500), 100, clock=clock) == 1


def test_interleaved_records_per_call_times_and_rotates_the_order():
    bench, clock, log = load_bench(), FakeClock(), []
    blocks = {"a": block(clock, 10, log, "a"), "b": block(clock, 30, log, "b"), "c": block(clock, 20, log, "c")}
    values = bench.interleaved(blocks, {"a": 4, "b": 2, "c": 1}, rounds=3, clock=clock)
    for name, per_call_ns in (("a", 10), ("b", 30), ("c", 20)):
        np.testing.assert_allclose(values[name], [per_call_ns * 1e-9] * 3)
    assert log == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_numpy_candidate_computes_what_the_model_computes():
    bench = load_bench()
    from tinytorch.datasets.tinydigits import load_tinydigits
    from tinytorch.models.zoo import load_reference_model

    model, x = load_reference_model("tinydigits_mlp"), load_tinydigits().x_test[:1]
    bench.check_same_outputs(model, x)  # raises if the three candidates disagree
