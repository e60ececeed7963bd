"""One frozen settings object per run: checked once, passed whole to Benchmark, written as the JSON config."""
import dataclasses
import json

import pytest

from tinytorch.benchmarking.benchmark import Benchmark, BenchmarkSettings, BenchmarkSuite, run_ablation
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model


@pytest.mark.parametrize("field, value, words", [
    ("warmup_runs", -1, "warmup_runs=-1 must be an integer >= 0"),
    ("measurement_runs", 1, "measurement_runs=1: at least 2"),
    ("measurement_runs", 2.5, "measurement_runs=2.5 must be an integer >= 2"),
    ("min_block_ms", -1, "min_block_ms=-1 must be >= 0"),
    ("min_block_ms", float("nan"), "min_block_ms=nan"),
    ("max_timer_overhead", 1.5, "max_timer_overhead=1.5 must be a fraction in \\(0, 1\\)"),
    ("seed", -3, "seed=-3 must be an integer >= 0"),
    ("input_shape", (1, 0), "zero or negative"),
    ("energy_block_seconds", 0, "energy_block_seconds=0 must be a positive finite number"),
    ("watts_per_core", "ten", "watts_per_core='ten' must be a positive finite number"),
])
def test_every_field_is_checked_when_the_settings_are_made(field, value, words):
    with pytest.raises(ValueError, match=words):
        BenchmarkSettings(**{field: value})


def test_settings_are_frozen_normalised_and_written_as_config():
    settings = BenchmarkSettings(warmup_runs=2, measurement_runs=4, input_shape=[1, 8, 8], watts_per_core=4)
    assert settings.input_shape == (1, 8, 8) and isinstance(settings.watts_per_core, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.warmup_runs = 3
    assert settings.to_config() == {"warmup_runs": 2, "measurement_runs": 4, "min_block_ms": 1.0,
                                    "max_timer_overhead": 0.01, "seed": 0, "input_shape": [1, 8, 8],
                                    "energy_block_seconds": 0.05, "watts_per_core": 4.0, "processes": 1,
                                    "worker_timeout_s": 600.0, "worker_memory_mb": None}
    assert settings.replace(seed=5).seed == 5 and settings.seed == 0
    with pytest.raises(ValueError, match="seed"):
        settings.replace(seed=-1)


def test_benchmark_takes_the_settings_object_or_separate_settings_not_both():
    settings = BenchmarkSettings(measurement_runs=3)
    model = load_reference_model("tinydigits_mlp")
    assert Benchmark([model], settings=settings).settings is settings
    assert Benchmark([model], measurement_runs=3).settings == settings
    with pytest.raises(ValueError, match="not both"):
        Benchmark([model], measurement_runs=4, settings=settings)
    with pytest.raises(TypeError, match="BenchmarkSettings"):
        Benchmark([model], settings={"measurement_runs": 3})


def test_the_suite_passes_its_settings_whole_and_saves_them_as_the_config(tmp_path):
    settings = BenchmarkSettings(warmup_runs=1, measurement_runs=2, energy_block_seconds=0.002, seed=4)
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [load_tinydigits().test], output_dir=tmp_path,
                           progress=False, settings=settings)
    resolved = settings.replace(input_shape=(1, 8, 8))  # one sample of the first dataset
    assert suite.settings == resolved and suite.benchmark.settings is suite.settings
    suite.run_full_benchmark()
    latency = suite.results["latency"]["tinydigits_mlp"]
    assert latency.count == 2 and latency.metadata["seed"] == 4 and latency.metadata["input_shape"] == (1, 8, 8)
    assert suite.results["energy"]["tinydigits_mlp"].count == 2, "measurement_runs is also the energy blocks"
    saved = json.loads(suite.save_results().read_text())
    assert saved["config"] == resolved.to_config()
    with pytest.raises(ValueError, match="not both"):
        BenchmarkSuite([load_reference_model("tinydigits_mlp")], [load_tinydigits().test], measurement_runs=4,
                       settings=settings)


def test_an_energy_meter_brings_its_assumed_watts_into_the_settings(tmp_path):
    from tinytorch.benchmarking.benchmark import EnergyMeter
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp")], [load_tinydigits().test], output_dir=tmp_path,
                           progress=False, energy_meter=EnergyMeter(watts_per_core=3.0, rapl_root=tmp_path / "none"))
    assert suite.settings.watts_per_core == 3.0 and suite.config["watts_per_core"] == 3.0


def test_the_ablation_measures_with_the_settings_it_is_given():
    from tinytorch.optimization.quantization import quantize_model
    settings = BenchmarkSettings(warmup_runs=0, measurement_runs=2, energy_block_seconds=0.002)
    table = run_ablation(load_reference_model("tinydigits_mlp"), [("quantize", quantize_model)],
                         [load_tinydigits().test], settings=settings)
    assert list(table["step"]) == ["base", "quantize"]
