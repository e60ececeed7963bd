"""BenchmarkSuite on the real reference models, energy (fake RAPL folder, fake CPU clock), files, errors."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tinytorch.benchmarking.benchmark import (BenchmarkError, BenchmarkSuite, EnergyMeter, find_rapl_packages,
                                              measure_energy, rapl_delta_uj)
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

FAST = {"warmup_runs": 1, "measurement_runs": 3, "energy_block_seconds": 0.002, "progress": False}


def reference_models():
    return [load_reference_model("tinydigits_mlp"), load_reference_model("tinydigits_mlp_int8")]


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suite") / "out"
    suite = BenchmarkSuite(reference_models(), [load_tinydigits().test], output_dir=folder, **FAST)
    assert not folder.exists(), "nothing is written at construction"
    suite.run_full_benchmark()
    return suite


def test_full_benchmark_has_every_metric_for_every_model(measured):
    assert set(measured.results) == {"latency", "accuracy", "memory", "energy"}
    for per_model in measured.results.values():
        assert list(per_model) == ["tinydigits_mlp", "tinydigits_mlp_int8"]
    assert not measured.output_dir.exists(), "measuring writes nothing"


def test_accuracy_is_computed_from_the_real_labels(measured):
    digits = load_tinydigits()
    model = load_reference_model("tinydigits_mlp")
    expected = float((model(digits.x_test).data.argmax(axis=-1) == digits.y_test).mean())
    assert measured.results["accuracy"]["tinydigits_mlp"].mean == pytest.approx(expected)


def test_energy_is_labelled_with_its_method_and_keeps_cpu_time(measured):
    for result in measured.results["energy"].values():
        meta = result.metadata
        assert meta["method"] in ("measured", "estimated")
        assert len(meta["cpu_time_ns_per_block"]) == result.count == 3
        if meta["method"] == "estimated":
            assert meta["watts_per_core"] == 10.0 and "assum" in meta["assumptions"]
            per_call_s = np.array(meta["cpu_time_ns_per_block"]) / 1e9 / meta["calls_per_block"]
            np.testing.assert_allclose(result.values, 10.0 * per_call_s)


def write_rapl(root: Path, name: str, energy: int, max_range: int = 10**12) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "energy_uj").write_text(f"{energy}\n")
    (folder / "max_energy_range_uj").write_text(f"{max_range}\n")
    return folder / "energy_uj"


def test_rapl_packages_found_and_subdomains_ignored(tmp_path):
    write_rapl(tmp_path, "intel-rapl:0", 5)
    write_rapl(tmp_path, "intel-rapl:0:0", 5)
    write_rapl(tmp_path, "intel-rapl:1", 7)
    assert [p.name for p in find_rapl_packages(tmp_path)] == ["intel-rapl:0", "intel-rapl:1"]


def test_an_unreadable_package_means_no_measurement(tmp_path):
    write_rapl(tmp_path, "intel-rapl:0", 5)
    (tmp_path / "intel-rapl:1").mkdir()
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("not a number")
    (tmp_path / "intel-rapl:1" / "max_energy_range_uj").write_text("100")
    assert find_rapl_packages(tmp_path) == []
    meter = EnergyMeter(rapl_root=tmp_path)
    assert meter.method == "estimated" and "not readable" in meter.describe()["assumptions"]


def test_measured_energy_from_a_fake_rapl_counter_including_a_wrap(tmp_path):
    counter = write_rapl(tmp_path, "intel-rapl:0", 9_990, max_range=10_000)

    def run_block(calls):  # every call "uses" 3 uJ of package energy; the counter wraps at 10000
        for _ in range(calls):
            value = int(counter.read_text())
            counter.write_text(str((value + 3) % 10_000))

    meter = EnergyMeter(rapl_root=tmp_path, cpu_clock=lambda: 0)
    result = measure_energy({"m": run_block}, {"m": 10}, blocks=2, meter=meter)["m"]
    assert result.metadata["method"] == "measured" and "other process" in result.metadata["assumptions"]
    np.testing.assert_allclose(result.values, [3e-6, 3e-6])


@pytest.mark.task("benchmarking-energy-estimate")
def test_estimated_energy_with_a_fake_cpu_clock(tmp_path):
    clock = {"ns": 0}

    def run_block(calls):
        clock["ns"] += 250_000 * calls  # 0.25 ms of CPU per inference

    meter = EnergyMeter(watts_per_core=8.0, rapl_root=tmp_path / "absent", cpu_clock=lambda: clock["ns"])
    results = measure_energy({"a": run_block, "b": run_block}, {"a": 4, "b": 8}, blocks=3, meter=meter)
    for name, calls in (("a", 4), ("b", 8)):
        np.testing.assert_allclose(results[name].values, [8.0 * 0.25e-3] * 3)
        assert results[name].metadata["cpu_time_ns_per_block"] == [calls * 250_000] * 3
        assert results[name].metadata["method"] == "estimated"


def test_rapl_delta_wraps_once():
    assert rapl_delta_uj(10, 20, 100) == 10
    assert rapl_delta_uj(95, 5, 100) == 10


@pytest.mark.parametrize("watts", [0, -1.0, float("nan"), "ten"])
def test_bad_watts_per_core_is_a_clear_error(watts):
    with pytest.raises(ValueError, match="watts_per_core"):
        EnergyMeter(watts_per_core=watts)


class Broken:
    name = "broken"

    def forward(self, x):
        raise RuntimeError("weights missing")


def test_a_failing_model_is_named_and_results_stay_as_they_were(tmp_path):
    suite = BenchmarkSuite([load_reference_model("tinydigits_mlp"), Broken()], [load_tinydigits().test],
                           output_dir=tmp_path / "out", **FAST)
    with pytest.raises(BenchmarkError, match="broken"):
        suite.run_full_benchmark()
    assert suite.results == {}
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_a_clear_error_and_nothing_half_written(measured, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    suite = copy.copy(measured)
    suite.output_dir = blocker / "results"
    with pytest.raises(OSError, match="output folder"):
        suite.generate_report()
    with pytest.raises(OSError, match="output folder"):
        suite.plot_results()
    assert blocker.read_text() == "not a folder"


def test_no_results_yet_is_a_clear_error(tmp_path):
    suite = BenchmarkSuite(reference_models(), [load_tinydigits().test], output_dir=tmp_path, **FAST)
    for call in (suite.generate_report, suite.plot_results, suite.save_results, suite.pareto_frontier):
        with pytest.raises(ValueError, match="run_full_benchmark"):
            call()


def test_progress_off_prints_nothing(tmp_path, capsys):
    suite = BenchmarkSuite(reference_models()[:1], [load_tinydigits().test], output_dir=tmp_path, **FAST)
    suite.run_full_benchmark()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def png_pixels(path: Path) -> np.ndarray:
    assert path.stat().st_size > 20_000, f"{path} is suspiciously small"
    return imread(path)


def test_comparison_plot_is_a_real_picture(measured, tmp_path):
    suite = copy.copy(measured)
    suite.output_dir = tmp_path / "plots"
    figure = suite.plot_results()
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 4
    pixels = png_pixels(tmp_path / "plots" / "benchmark_comparison.png")
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800
    assert pixels[..., :3].std() > 0.05, "not a blank image"
    titles = " ".join(ax.get_title() for ax in figure.axes)
    assert "lower is better" in titles and "higher is better" in titles
    suite.plot_results(save_plots=False)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["benchmark_comparison.png"]


def test_pareto_plot_is_a_real_picture(measured, tmp_path):
    suite = copy.copy(measured)
    suite.output_dir = tmp_path / "plots"
    suite.plot_pareto_frontier("memory", "accuracy")
    pixels = png_pixels(tmp_path / "plots" / "pareto_memory_vs_accuracy.png")
    assert pixels[..., :3].std() > 0.02


def test_json_round_trip_keeps_raw_values_and_system_info(measured, tmp_path):
    path = measured.save_results(tmp_path / "saved" / "results.json")
    data = json.loads(path.read_text())
    assert data["schema"] == "tinytorch.benchmark_suite" and data["schema_version"] == 1
    other = BenchmarkSuite(reference_models(), [load_tinydigits().test], output_dir=tmp_path / "other", **FAST)
    loaded = other.load_results(path)
    for metric, per_model in measured.results.items():
        for name, result in per_model.items():
            assert loaded[metric][name].values == result.values
            assert loaded[metric][name].metadata == json.loads(json.dumps(result.metadata))
    assert other.system_info == json.loads(json.dumps(measured.system_info))
    assert [p.name for p in (tmp_path / "saved").iterdir()] == ["results.json"], "no temporary files left"


@pytest.mark.parametrize("content, message", [
    ("{not json", "corrupt"),
    ('{"name": "some other tool"}', "not a TinyTorch benchmark results file"),
    ('[1, 2, 3]', "not a TinyTorch benchmark results file"),
    ('{"schema": "tinytorch.benchmark_suite", "schema_version": 2, "results": {}}', "schema_version 2"),
    ('{"schema": "tinytorch.benchmark_suite", "schema_version": 1, "results": {"speed": {}}}', "unknown metric"),
    ('{"schema": "tinytorch.benchmark_suite", "schema_version": 1, "results": {"latency": {"m": {"x": 1}}}}',
     "malformed"),
])
def test_bad_results_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    suite = BenchmarkSuite(reference_models(), [load_tinydigits().test], output_dir=tmp_path, **FAST)
    with pytest.raises(ValueError, match=message):
        suite.load_results(path)
    assert suite.results == {}


def test_missing_results_file(tmp_path):
    suite = BenchmarkSuite(reference_models(), [load_tinydigits().test], output_dir=tmp_path, **FAST)
    with pytest.raises(FileNotFoundError, match="save_results"):
        suite.load_results(tmp_path / "nope.json")


@pytest.mark.parametrize("metric", ["latency", "accuracy", "memory"])
def test_report_verdicts_are_compare_models_verdicts(measured, metric):
    from tinytorch.benchmarking.benchmark import compare_results
    ours = compare_results(measured.results[metric], metric)
    core = measured.benchmark.compare_models(metric)
    assert list(ours.columns) == list(core.columns)
    assert ours["verdict"].tolist() == core["verdict"].tolist()
    np.testing.assert_allclose(ours["p_value"].to_numpy(float), core["p_value"].to_numpy(float), equal_nan=True)
