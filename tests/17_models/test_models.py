import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.tensor import Tensor
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.optimization.compression import measure_sparsity
from tinytorch.optimization.quantization import QuantizedLinear, quantize_model
from tinytorch.models.zoo import (WEIGHTS_DIR, describe_reference_model, list_reference_models,
                                  load_model, load_reference_model, save_model, supported_layer_types)

ROOT = Path(__file__).resolve().parents[2]


def small_model() -> Sequential:
    return Sequential(Flatten(), Linear(6, 4, seed=1), ReLU(), Sequential(Linear(4, 3, seed=2), ReLU()),
                      Linear(3, 2, bias=False, seed=3), Softmax(), name="small")


def rewrite_json(path: Path, edit) -> None:
    """Edit a saved architecture while keeping its sha256 pairing with the (unchanged) arrays."""
    json_path = path.with_suffix(".json")
    document = json.loads(json_path.read_text())
    edit(document)
    json_path.write_text(json.dumps(document))


def rewrite_npz(path: Path, edit) -> None:
    """Replace the arrays and record the new archive's sha256, as a consistent but wrong pair."""
    npz_path = path.with_suffix(".npz")
    with np.load(npz_path) as archive:
        arrays = dict(archive)
    edit(arrays)
    np.savez(npz_path, **arrays)
    rewrite_json(path, lambda d: d.update(arrays_sha256=hashlib.sha256(npz_path.read_bytes()).hexdigest()))


def test_roundtrip_gives_identical_outputs_types_and_name(tmp_path):
    model = small_model()
    npz_path, json_path = save_model(model, tmp_path / "small")
    assert (npz_path, json_path) == (tmp_path / "small.npz", tmp_path / "small.json")
    loaded = load_model(tmp_path / "small")
    x = np.random.default_rng(0).random((5, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert loaded.name == "small"
    assert isinstance(loaded.layers[3], Sequential)
    assert loaded.layers[4].bias is None
    for a, b in zip(loaded.parameters(), model.parameters()):
        assert a.dtype == b.dtype and a.shape == b.shape


@pytest.mark.parametrize("given", ["m", "m.npz", "m.json"])
def test_suffix_is_optional(tmp_path, given):
    save_model(small_model(), tmp_path / given)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]
    assert isinstance(load_model(tmp_path / given), Sequential)


def test_saving_twice_gives_identical_bytes_and_no_temporary_files(tmp_path):
    save_model(small_model(), tmp_path / "a")
    save_model(small_model(), tmp_path / "b")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npz", "b.json", "b.npz"]


def test_single_layer_and_metadata(tmp_path):
    save_model(Linear(3, 2, seed=5), tmp_path / "lin", metadata={"note": "hello"})
    assert json.loads((tmp_path / "lin.json").read_text())["metadata"] == {"note": "hello"}
    assert isinstance(load_model(tmp_path / "lin"), Linear)


def test_architecture_json_lists_types_args_and_version(tmp_path):
    save_model(small_model(), tmp_path / "small")
    document = json.loads((tmp_path / "small.json").read_text())
    assert document["format"] == "tinytorch-model" and document["format_version"] == 1
    layers = document["model"]["layers"]
    assert [layer["type"] for layer in layers] == ["Flatten", "Linear", "ReLU", "Sequential", "Linear", "Softmax"]
    assert layers[1]["args"] == {"in_features": 6, "out_features": 4, "bias": True}


def test_pruned_weights_roundtrip_as_plain_linear(tmp_path):
    model = small_model()
    model.layers[1].weight.data[::2] = 0.0
    save_model(model, tmp_path / "pruned")
    loaded = load_model(tmp_path / "pruned")
    np.testing.assert_array_equal(loaded.layers[1].weight.data, model.layers[1].weight.data)


def test_unsupported_layer_cannot_be_saved(tmp_path):
    class Custom(Layer):
        def forward(self, x):
            return Tensor(x)

    class SubLinear(Linear):
        pass

    for odd in (Custom(), SubLinear(2, 2)):
        with pytest.raises(ValueError, match="cannot save layer .* only .*Linear"):
            save_model(Sequential(odd), tmp_path / "odd")
    assert list(tmp_path.iterdir()) == []


def test_unknown_layer_type_names_file_layer_and_fix(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_json(tmp_path / "m", lambda d: d["model"]["layers"][2].update(type="os.system"))
    with pytest.raises(ValueError, match=r"m\.json: layer model\.2 \(os\.system\): unknown layer type") as info:
        load_model(tmp_path / "m")
    assert "supported: AvgPool2d, Conv2d, Flatten" in str(info.value) and ", Linear," in str(info.value)


@pytest.mark.task("models-check-array")
def test_missing_array_names_file_layer_and_fix(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_npz(tmp_path / "m", lambda arrays: arrays.pop("model.1.bias"))
    with pytest.raises(ValueError, match=r"layer model\.1 \(Linear\): the array 'model\.1\.bias' is missing") as info:
        load_model(tmp_path / "m")
    assert "m.npz" in str(info.value) and "save_model" in str(info.value)


@pytest.mark.task("models-check-array")
def test_shape_mismatch_names_both_shapes(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_json(tmp_path / "m", lambda d: d["model"]["layers"][1]["args"].update(out_features=5))
    with pytest.raises(ValueError, match=r"layer model\.1 \(Linear\): .*shape \(6, 4\).*implies \(6, 5\)"):
        load_model(tmp_path / "m")


@pytest.mark.task("models-check-array")
def test_wrong_dtype_is_rejected(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_npz(tmp_path / "m", lambda arrays: arrays.update({"model.1.weight": np.zeros((6, 4), dtype=np.int32)}))
    with pytest.raises(ValueError, match="dtype int32"):
        load_model(tmp_path / "m")


def test_extra_arrays_are_rejected(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_npz(tmp_path / "m", lambda arrays: arrays.update(stray=np.zeros(3)))
    with pytest.raises(ValueError, match=r"arrays no layer .* uses: \['stray'\]"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("args,message", [
    ({"in_features": 6, "out_features": 4}, "differ from the expected"),
    ({"in_features": 6, "out_features": 4, "bias": 1}, "bias=1 must be a bool"),
    ({"in_features": True, "out_features": 4, "bias": True}, "in_features=True must be a positive int"),
    ({"in_features": -6, "out_features": 4, "bias": True}, "in_features=-6 must be a positive int"),
])
def test_bad_args_are_rejected(tmp_path, args, message):
    save_model(small_model(), tmp_path / "m")
    rewrite_json(tmp_path / "m", lambda d: d["model"]["layers"][1].update(args=args))
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "m")


def test_swapped_arrays_file_is_detected_by_hash(tmp_path):
    save_model(small_model(), tmp_path / "a")
    other = small_model()
    other.layers[1].weight.data += 1.0  # same shapes, other weights
    save_model(other, tmp_path / "b")
    (tmp_path / "a.npz").write_bytes((tmp_path / "b.npz").read_bytes())
    with pytest.raises(ValueError, match="sha256 differs"):
        load_model(tmp_path / "a")


def test_pickled_arrays_are_refused(tmp_path):
    save_model(small_model(), tmp_path / "m")
    rewrite_npz(tmp_path / "m", lambda arrays: arrays.update({"model.1.bias": np.array([object()] * 4)}))
    with pytest.raises(ValueError, match="pickled"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("text,message", [
    ("{not json", "not valid JSON"),
    ('{"format": "keras"}', "not a tinytorch model file"),
    ('{"format": "tinytorch-model", "format_version": 99}', "format_version 99"),
])
def test_foreign_or_corrupt_json(tmp_path, text, message):
    save_model(small_model(), tmp_path / "m")
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "m")


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        load_model(tmp_path / "nothing")
    save_model(small_model(), tmp_path / "m")
    (tmp_path / "m.npz").unlink()
    with pytest.raises(FileNotFoundError, match="m.npz"):
        load_model(tmp_path / "m")


def test_supported_types():
    assert supported_layer_types() == ["AvgPool2d", "Conv2d", "Flatten", "GlobalAvgPool2d", "GlobalMaxPool2d",
                                       "Linear", "MaxPool2d", "QuantizedConv2d", "QuantizedLinear", "ReLU",
                                       "Sequential", "Softmax"]


def test_reference_baseline_architecture_accuracy_and_freshness():
    assert list_reference_models()[0] == "tinydigits_mlp"
    assert "train_reference_mlp" in describe_reference_model("tinydigits_mlp")
    model = load_reference_model("tinydigits_mlp")
    assert model.name == "tinydigits_mlp"
    assert [type(layer) for layer in model.layers] == [Flatten, Linear, ReLU, Linear]
    assert (model.layers[1].in_features, model.layers[1].out_features) == (64, 32)
    assert (model.layers[3].in_features, model.layers[3].out_features) == (32, 10)
    digits = load_tinydigits()
    accuracy = (model(digits.x_test).data.argmax(axis=-1) == digits.y_test).mean()
    assert accuracy >= 0.95
    model.layers[1].weight.data[:] = 0.0
    assert np.abs(load_reference_model("tinydigits_mlp").layers[1].weight.data).sum() > 0, "each load is fresh"


def test_unknown_reference_name_lists_the_names():
    with pytest.raises(ValueError, match="unknown reference model 'mobilenet'.*tinydigits_mlp"):
        load_reference_model("mobilenet")


def test_training_script_reproduces_the_shipped_weights_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "train_reference_mlp.py"), "--out", str(tmp_path / "mlp")],
                   check=True, capture_output=True, cwd=ROOT, timeout=300)
    assert (tmp_path / "mlp.npz").read_bytes() == (WEIGHTS_DIR / "tinydigits_mlp.npz").read_bytes()
    shipped = json.loads((WEIGHTS_DIR / "tinydigits_mlp.json").read_text())
    rebuilt = json.loads((tmp_path / "mlp.json").read_text())
    rebuilt["arrays_file"] = shipped["arrays_file"]
    assert rebuilt == shipped


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_quantized_model_roundtrip_keeps_int8_codes_and_outputs(tmp_path, per_channel, bias):
    model = Sequential(Flatten(), Linear(6, 4, bias=bias, seed=1), ReLU(), Linear(4, 3, seed=2), name="q")
    quantized = quantize_model(model, bits=8, per_channel=per_channel)
    save_model(quantized, tmp_path / "q")
    loaded = load_model(tmp_path / "q")
    layer = loaded.layers[1]
    assert isinstance(layer, QuantizedLinear) and layer.weight_q.dtype == np.int8
    assert layer.scale.shape == ((4,) if per_channel else ())
    assert (layer.bias is None) == (not bias)
    x = np.random.default_rng(1).random((3, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).data, quantized(x).data)
    assert sum(p.nbytes for p in loaded.parameters()) == sum(p.nbytes for p in quantized.parameters())


def test_quantized_codes_of_another_dtype_are_rejected(tmp_path):
    save_model(quantize_model(Sequential(Linear(4, 3, seed=1)), bits=8), tmp_path / "q")
    rewrite_npz(tmp_path / "q", lambda a: a.update({"model.0.weight_q": a["model.0.weight_q"].astype(np.int16)}))
    with pytest.raises(ValueError, match=r"layer model\.0 \(QuantizedLinear\): .*dtype int16, expected int8"):
        load_model(tmp_path / "q")


def test_quantized_layer_own_checks_are_reported_with_file_and_layer(tmp_path):
    save_model(quantize_model(Sequential(Linear(4, 3, seed=1)), bits=8), tmp_path / "q")
    rewrite_npz(tmp_path / "q", lambda a: a.update({"model.0.scale": -a["model.0.scale"]}))
    with pytest.raises(ValueError, match=r"q\.json: layer model\.0 \(QuantizedLinear\): the layer rejects"):
        load_model(tmp_path / "q")


def _accuracy(model, digits) -> float:
    return float((model(digits.x_test).data.argmax(axis=-1) == digits.y_test).mean())


def test_reference_variants_are_listed_named_and_described():
    assert list_reference_models() == ["tinydigits_mlp", "tinydigits_mlp_int8", "tinydigits_mlp_pruned50"]
    for name in list_reference_models():
        assert load_reference_model(name).name == name
        assert describe_reference_model(name)


def test_int8_reference_is_within_one_point_and_under_30_percent_of_the_bytes():
    digits = load_tinydigits()
    base, int8 = load_reference_model("tinydigits_mlp"), load_reference_model("tinydigits_mlp_int8")
    assert all(isinstance(int8.layers[i], QuantizedLinear) for i in (1, 3))
    assert _accuracy(int8, digits) >= _accuracy(base, digits) - 0.01
    assert sum(p.nbytes for p in int8.parameters()) <= 0.30 * sum(p.nbytes for p in base.parameters())


def test_pruned_reference_is_half_zeros_within_one_point_deterministic_and_fresh():
    digits = load_tinydigits()
    base, pruned = load_reference_model("tinydigits_mlp"), load_reference_model("tinydigits_mlp_pruned50")
    weights = np.concatenate([pruned.layers[i].weight.data.ravel() for i in (1, 3)])
    assert abs((weights == 0).mean() - 0.5) < 0.01
    assert abs(measure_sparsity(pruned) - 0.5) < 0.01
    assert _accuracy(pruned, digits) >= _accuracy(base, digits) - 0.01
    pruned.layers[1].weight.data[:] = 1.0
    again = load_reference_model("tinydigits_mlp_pruned50")
    assert not np.all(again.layers[1].weight.data == 1.0), "each load is a fresh copy"
    np.testing.assert_array_equal(again.layers[3].weight.data, load_reference_model("tinydigits_mlp_pruned50").layers[3].weight.data)


def test_reference_variants_survive_save_and_load(tmp_path):
    digits = load_tinydigits()
    for name in ("tinydigits_mlp_int8", "tinydigits_mlp_pruned50"):
        model = load_reference_model(name)
        save_model(model, tmp_path / name)
        np.testing.assert_array_equal(load_model(tmp_path / name)(digits.x_test).data, model(digits.x_test).data)


# --- spatial layers (Module 09) ------------------------------------------------------------------

from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d  # noqa: E402
from tinytorch.optimization.compression import magnitude_prune  # noqa: E402
from tinytorch.optimization.quantization import QuantizedConv2d  # noqa: E402


def small_cnn() -> Sequential:
    conv = Conv2d(3, 4, 3, stride=2, padding=1, seed=1)
    conv.bias = Tensor(np.linspace(-0.5, 0.5, 4, dtype=np.float32))
    return Sequential(AvgPool2d(2), conv, ReLU(), MaxPool2d(2, stride=1), Conv2d(4, 5, 2, bias=False, seed=2),
                      ReLU(), Sequential(GlobalMaxPool2d()), Linear(5, 2, seed=3), name="cnn")


@pytest.mark.parametrize("variant", ["float", "int8", "int8_per_tensor", "pruned"])
def test_cnn_roundtrip_is_bit_exact_for_every_variant(tmp_path, variant):
    model = small_cnn()
    model = {"float": lambda m: m, "int8": quantize_model, "pruned": lambda m: magnitude_prune(m, 0.5),
             "int8_per_tensor": lambda m: quantize_model(m, per_channel=False)}[variant](model)
    save_model(model, tmp_path / "cnn")
    loaded = load_model(tmp_path / "cnn")
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    x = np.random.default_rng(0).random((3, 20, 20, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    for a, b in zip(loaded.parameters(), model.parameters()):
        assert a.dtype == b.dtype and a.shape == b.shape
    if variant.startswith("int8"):
        assert isinstance(loaded.layers[1], QuantizedConv2d) and loaded.layers[1].weight_q.dtype == np.int8


def test_cnn_architecture_json_names_the_spatial_args(tmp_path):
    save_model(Sequential(Conv2d(3, 2, 5, padding=0), GlobalAvgPool2d(), AvgPool2d(3)), tmp_path / "m")
    layers = json.loads((tmp_path / "m.json").read_text())["model"]["layers"]
    assert layers[0]["args"] == {"in_channels": 3, "out_channels": 2, "kernel_size": 5, "stride": 1, "padding": 0,
                                 "bias": True}
    assert layers[1] == {"type": "GlobalAvgPool2d", "args": {}}
    assert layers[2]["args"] == {"kernel_size": 3, "stride": 3}


@pytest.mark.parametrize("args,message", [
    ({"padding": -1}, "padding=-1 must be a non-negative int"),
    ({"padding": True}, "padding=True must be a non-negative int"),
    ({"stride": 0}, "stride=0 must be a positive int"),
    ({"kernel_size": 5}, r"shape \(3, 3, 3, 4\), but the architecture implies \(5, 5, 3, 4\)"),
])
def test_bad_conv_args_are_rejected(tmp_path, args, message):
    save_model(small_cnn(), tmp_path / "m")
    rewrite_json(tmp_path / "m", lambda d: d["model"]["layers"][1]["args"].update(args))
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "m")


def test_saved_files_get_the_usual_mode_not_mkstemps_0600(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        npz, meta = save_model(Sequential(Linear(2, 2)), tmp_path / "m")
    finally:
        os.umask(mask)
    assert npz.stat().st_mode & 0o777 == 0o644 and meta.stat().st_mode & 0o777 == 0o644


def _npz_claiming(path: Path, key: str, shape: tuple[int, ...]) -> None:
    """An .npz whose member `key` is a real, zero-filled float32 array of `shape`, written in chunks (small on disk)."""
    import zipfile

    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
            chunk = bytes(1 << 20)
            remaining = int(np.prod(shape)) * 4
            while remaining:
                member.write(chunk[:min(remaining, len(chunk))])
                remaining -= min(remaining, len(chunk))


def test_an_array_claiming_a_huge_shape_is_refused_from_its_header_before_unpacking(tmp_path):
    """64 MB of zeros compress to ~64 KB; the loader must read the shape from the header and stop."""
    import tracemalloc

    save_model(Sequential(Linear(6, 4, seed=1)), tmp_path / "m")
    npz = tmp_path / "m.npz"
    with np.load(npz) as archive:
        bias = archive["model.0.bias"]
    _npz_claiming(npz, "model.0.weight", (4096, 4096))
    import zipfile
    with zipfile.ZipFile(npz, "a") as archive:
        with archive.open("model.0.bias.npy", "w") as member:
            np.lib.format.write_array(member, bias)
    rewrite_json(tmp_path / "m", lambda d: d.update(arrays_sha256=hashlib.sha256(npz.read_bytes()).hexdigest()))
    assert npz.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"has shape \(4096, 4096\), but the architecture implies \(6, 4\) "
                                             r"\(read from its .npy header; the array was not unpacked\)"):
            load_model(tmp_path / "m")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"the loader held {peak:,} bytes: it unpacked the 64 MB array"


def test_an_npy_header_that_disagrees_with_the_zip_is_refused(tmp_path):
    import zipfile

    save_model(Sequential(Linear(6, 4, seed=1)), tmp_path / "m")
    npz = tmp_path / "m.npz"
    with np.load(npz) as archive:
        arrays = dict(archive)
    with zipfile.ZipFile(npz, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w") as member:
                header = {"descr": "<f4", "fortran_order": False,
                          "shape": (600, 400) if key.endswith("weight") else value.shape}
                np.lib.format.write_array_header_1_0(member, header)
                member.write(value.tobytes())  # far fewer bytes than the header claims
    rewrite_json(tmp_path / "m", lambda d: d.update(arrays_sha256=hashlib.sha256(npz.read_bytes()).hexdigest()))
    with pytest.raises(ValueError, match=r"claims shape \(600, 400\) of float32 \(960,128 bytes\) but the zip says"):
        load_model(tmp_path / "m")


def test_a_save_interrupted_between_its_two_renames_leaves_the_old_model_loadable(tmp_path, monkeypatch):
    from tinytorch.models import zoo

    old, new = Sequential(Linear(6, 4, seed=1)), Sequential(Linear(6, 4, seed=2))
    save_model(old, tmp_path / "m")
    real_commit, commits = zoo.commit_file, []

    def commit_then_die(temporary, path):
        commits.append(Path(path).name)
        if Path(path).name == "m.json":
            raise KeyboardInterrupt("killed between the renames")
        return real_commit(temporary, path)

    monkeypatch.setattr(zoo, "commit_file", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_model(new, tmp_path / "m")
    monkeypatch.undo()
    assert commits == [".m.npz.previous", "m.npz", "m.json"], "the new arrays are in place, the new json is not"
    x = np.ones((1, 6), dtype=np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "m")(x).data, old(x).data), "still the old model"
    save_model(new, tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m")(x).data, new(x).data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"], "no backup, no temporary left"


def test_a_writer_killed_between_the_renames_leaves_the_old_model_and_the_next_save_cleans_up(tmp_path):
    save_model(Sequential(Linear(6, 4, seed=1)), tmp_path / "m")
    killer = ("import os, signal, sys\n"
              "from tinytorch.models import zoo\n"
              "from tinytorch.core.layers import Linear, Sequential\n"
              "real = zoo.commit_file\n"
              "def commit(temporary, path):\n"
              "    if str(path).endswith('m.json'):\n"
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "    return real(temporary, path)\n"
              "zoo.commit_file = commit\n"
              f"zoo.save_model(Sequential(Linear(6, 4, seed=2)), {str(tmp_path / 'm')!r})\n")
    done = subprocess.run([sys.executable, "-c", killer], cwd=ROOT, capture_output=True)
    assert done.returncode == -9
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("m.json", "m.npz"))
    assert leftovers[0].startswith(".m.json.") and leftovers[0].endswith(".tmp") and ".m.npz.previous" in leftovers
    x = np.ones((1, 6), dtype=np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "m")(x).data, Sequential(Linear(6, 4, seed=1))(x).data)
    save_model(Sequential(Linear(6, 4, seed=3)), tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"], "the dead writer's files are gone"
