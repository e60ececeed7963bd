# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 17: Models (safe saving and the reference models)
#
# Benchmarks compare models, so models must travel: from the training script to the package, from a
# student's optimization to the leaderboard. The usual shortcut, `pickle`, is unsafe: loading a
# pickle runs whatever code its author put in it. Here a model is **data only**:
#
# - `<path>.json`: the architecture, a tree of layers, each with its `type` and constructor `args`
#   (plain numbers, strings and booleans), plus the format version;
# - `<path>.npz`: the arrays, read with `np.load(..., allow_pickle=False)`.
#
# Loading maps each `type` through a fixed table of known layers; anything else is refused. Nothing in
# a model file can make the loader run code. Every array is checked against the shape and dtype the
# architecture implies, and the JSON records the archive's sha256, so a `.npz` that belongs to another
# model (same shapes, different weights) is caught too. Each array's shape is read from the zip and
# `.npy` headers and checked *before* the array is unpacked: a 2 MB file of zeros can claim a 1 GB
# array, and the loader never unpacks it.
#
# ```
# {"format": "tinytorch-model", "format_version": 1, "arrays_sha256": "...",
#  "model": {"type": "Sequential", "args": {"name": "tinydigits_mlp"}, "layers": [
#     {"type": "Flatten", "args": {}},
#     {"type": "Linear", "args": {"in_features": 64, "out_features": 32, "bias": true},
#      "arrays": {"weight": "model.1.weight", "bias": "model.1.bias"}}, ...]}}
# ```

# %% nbgrader={"grade": false, "grade_id": "models-imports", "locked": false, "schema_version": 3, "solution": false}
#| default_exp models.zoo
#| export
from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import tinytorch
from tinytorch.core.layers import Flatten, Layer, Linear, ReLU, Sequential, Softmax
from tinytorch.core.spatial import AvgPool2d, Conv2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.optimization.quantization import QuantizedConv2d, QuantizedLinear, quantize_model
from tinytorch.utils.files import commit_file, stage_file

# %% [markdown]
# ## A table of known layers
#
# Each supported layer type has a *codec*: how to describe a layer as `(args, arrays)`, which arrays
# (shape and dtype) a given `args` implies, and how to build the layer back. `Sequential` is the one
# container; it is handled by the tree walk below. `QuantizedLinear` (Module 15) stores its int8
# codes and float32 scales as they are, so a saved INT8 model stays a quarter of the size. Pruned
# models need nothing special: they are `Linear` layers whose weights hold zeros. The spatial layers
# of Module 09 (`Conv2d`, `QuantizedConv2d`, the pools) are stored the same way; a convolution's
# `padding` is the one argument that may be 0.

# %% nbgrader={"grade": false, "grade_id": "models-codecs", "locked": false, "schema_version": 3, "solution": false}
#| export
FORMAT_NAME = "tinytorch-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class _ArraySpec:
    shape: tuple[int, ...]
    kinds: str  # allowed numpy dtype kinds, e.g. "f" for floating point
    dtype: str | None = None  # an exact dtype when the kind is not enough (e.g. int8)


@dataclass(frozen=True)
class _Codec:
    layer_class: type
    describe: Callable[[Layer], tuple[dict, dict[str, np.ndarray]]]
    expected: Callable[[dict], dict[str, _ArraySpec]]
    build: Callable[[dict, dict[str, np.ndarray]], Layer]
    arg_types: dict[str, type]


def _describe_linear(layer: Linear) -> tuple[dict, dict[str, np.ndarray]]:
    args = {"in_features": layer.in_features, "out_features": layer.out_features, "bias": layer.bias is not None}
    arrays = {"weight": layer.weight.data}
    if layer.bias is not None:
        arrays["bias"] = layer.bias.data
    return args, arrays


def _expected_linear(args: dict) -> dict[str, _ArraySpec]:
    specs = {"weight": _ArraySpec((args["in_features"], args["out_features"]), "f")}
    if args["bias"]:
        specs["bias"] = _ArraySpec((args["out_features"],), "f")
    return specs


def _build_linear(args: dict, arrays: dict[str, np.ndarray]) -> Linear:
    layer = Linear(args["in_features"], args["out_features"], bias=args["bias"])
    layer.weight = Tensor(arrays["weight"])
    if args["bias"]:
        layer.bias = Tensor(arrays["bias"])
    return layer


def _describe_quantized(layer: QuantizedLinear) -> tuple[dict, dict[str, np.ndarray]]:
    args = {"in_features": layer.in_features, "out_features": layer.out_features,
            "per_channel": layer.scale.shape != (), "bias": layer.bias is not None}
    arrays = {"weight_q": layer.weight_q.data, "scale": layer.scale.data}
    if layer.bias is not None:
        arrays["bias"] = layer.bias.data
    return args, arrays


def _expected_quantized(args: dict) -> dict[str, _ArraySpec]:
    out = args["out_features"]
    specs = {"weight_q": _ArraySpec((args["in_features"], out), "i", "int8"),
             "scale": _ArraySpec((out,) if args["per_channel"] else (), "f", "float32")}
    if args["bias"]:
        specs["bias"] = _ArraySpec((out,), "f", "float32")
    return specs


def _build_quantized(args: dict, arrays: dict[str, np.ndarray]) -> QuantizedLinear:
    return QuantizedLinear(arrays["weight_q"], arrays["scale"], arrays.get("bias"))


def _conv_args(layer) -> dict:
    return {"in_channels": layer.in_channels, "out_channels": layer.out_channels, "kernel_size": layer.kernel_size,
            "stride": layer.stride, "padding": layer.padding, "bias": layer.bias is not None}


def _describe_conv(layer: Conv2d) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = {"weight": layer.weight.data}
    if layer.bias is not None:
        arrays["bias"] = layer.bias.data
    return _conv_args(layer), arrays


def _conv_weight_shape(args: dict) -> tuple[int, int, int, int]:
    return (args["kernel_size"], args["kernel_size"], args["in_channels"], args["out_channels"])


def _expected_conv(args: dict) -> dict[str, _ArraySpec]:
    specs = {"weight": _ArraySpec(_conv_weight_shape(args), "f")}
    if args["bias"]:
        specs["bias"] = _ArraySpec((args["out_channels"],), "f")
    return specs


def _build_conv(args: dict, arrays: dict[str, np.ndarray]) -> Conv2d:
    layer = Conv2d(args["in_channels"], args["out_channels"], args["kernel_size"], stride=args["stride"],
                   padding=args["padding"], bias=args["bias"])
    layer.weight = Tensor(arrays["weight"])
    if args["bias"]:
        layer.bias = Tensor(arrays["bias"])
    return layer


def _describe_quantized_conv(layer: QuantizedConv2d) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = {"weight_q": layer.weight_q.data, "scale": layer.scale.data}
    if layer.bias is not None:
        arrays["bias"] = layer.bias.data
    return {**_conv_args(layer), "per_channel": layer.per_channel}, arrays


def _expected_quantized_conv(args: dict) -> dict[str, _ArraySpec]:
    out = args["out_channels"]
    specs = {"weight_q": _ArraySpec(_conv_weight_shape(args), "i", "int8"),
             "scale": _ArraySpec((out,) if args["per_channel"] else (), "f", "float32")}
    if args["bias"]:
        specs["bias"] = _ArraySpec((out,), "f", "float32")
    return specs


def _build_quantized_conv(args: dict, arrays: dict[str, np.ndarray]) -> QuantizedConv2d:
    return QuantizedConv2d(arrays["weight_q"], arrays["scale"], arrays.get("bias"), stride=args["stride"],
                           padding=args["padding"])


def _pool_codec(layer_class: type) -> _Codec:
    return _Codec(layer_class, lambda layer: ({"kernel_size": layer.kernel_size, "stride": layer.stride}, {}),
                  lambda args: {}, lambda args, arrays: layer_class(args["kernel_size"], args["stride"]),
                  {"kernel_size": int, "stride": int})


class _NonNegativeInt:
    """Marks an argument that is an int >= 0 (a plain `int` in an `arg_types` table means >= 1)."""


_CONV_ARG_TYPES = {"in_channels": int, "out_channels": int, "kernel_size": int, "stride": int,
                   "padding": _NonNegativeInt, "bias": bool}


def _stateless(layer_class: type) -> _Codec:
    return _Codec(layer_class, lambda layer: ({}, {}), lambda args: {}, lambda args, arrays: layer_class(), {})


_CODECS: dict[str, _Codec] = {
    "Linear": _Codec(Linear, _describe_linear, _expected_linear, _build_linear,
                     {"in_features": int, "out_features": int, "bias": bool}),
    "QuantizedLinear": _Codec(QuantizedLinear, _describe_quantized, _expected_quantized, _build_quantized,
                              {"in_features": int, "out_features": int, "per_channel": bool, "bias": bool}),
    "Conv2d": _Codec(Conv2d, _describe_conv, _expected_conv, _build_conv, _CONV_ARG_TYPES),
    "QuantizedConv2d": _Codec(QuantizedConv2d, _describe_quantized_conv, _expected_quantized_conv,
                              _build_quantized_conv, {**_CONV_ARG_TYPES, "per_channel": bool}),
    "MaxPool2d": _pool_codec(MaxPool2d),
    "AvgPool2d": _pool_codec(AvgPool2d),
    "GlobalAvgPool2d": _stateless(GlobalAvgPool2d),
    "GlobalMaxPool2d": _stateless(GlobalMaxPool2d),
    "ReLU": _stateless(ReLU),
    "Softmax": _stateless(Softmax),
    "Flatten": _stateless(Flatten),
}
CONTAINER_TYPES = ("Sequential",)


def supported_layer_types() -> list[str]:
    """The layer types `save_model` and `load_model` understand."""
    return sorted([*_CODECS, *CONTAINER_TYPES])

# %% [markdown]
# ## Saving
#
# The walk gives every layer a path (`model`, `model.1`, `model.1.0` for nested containers) which
# names its arrays in the `.npz`. Only the exact classes in the table are accepted: a subclass may
# compute something else, and saving it as its parent would load a different model.
#
# Both files are written atomically with `tinytorch.utils.files` (a synced temporary file in the same
# folder, then `os.replace`), so a crash leaves the old file or the new one, never half of one. The
# arrays go first; should a crash fall between the two renames, the sha256 check on load reports the
# mismatched pair.

# %% nbgrader={"grade": false, "grade_id": "models-save", "locked": false, "schema_version": 3, "solution": false}
#| export
def _type_name(layer) -> str:
    for name, codec in _CODECS.items():
        if type(layer) is codec.layer_class:
            return name
    if type(layer) is Sequential:
        return "Sequential"
    raise ValueError(f"cannot save layer {layer!r} of type {type(layer).__name__}: only "
                     f"{', '.join(supported_layer_types())} can be stored as data; rebuild the model from those")


def _describe(layer, where: str, arrays: dict[str, np.ndarray]) -> dict:
    kind = _type_name(layer)
    if kind == "Sequential":
        name = getattr(layer, "name", None)
        children = [_describe(child, f"{where}.{i}", arrays) for i, child in enumerate(layer.layers)]
        return {"type": kind, "args": {"name": name if isinstance(name, str) else None}, "layers": children}
    args, layer_arrays = _CODECS[kind].describe(layer)
    node = {"type": kind, "args": args}
    if layer_arrays:
        node["arrays"] = {}
        for array_name, value in layer_arrays.items():
            key = f"{where}.{array_name}"
            arrays[key] = np.asarray(value, order="C")  # not ascontiguousarray: it makes 0-d scales 1-d
            node["arrays"][array_name] = key
    return node


def _model_paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")


def save_model(model: Layer, path: str | Path, metadata: dict | None = None) -> tuple[Path, Path]:
    """Save a model as data: `<path>.npz` (arrays) and `<path>.json` (architecture).

    Args:
        model: a supported layer or a (nested) `Sequential` of them.
        path: the target without suffix (a trailing `.npz` or `.json` is dropped).
        metadata: optional JSON-serialisable notes kept in the `.json` (e.g. how the model was
            trained and what it scored); `load_model` does not need them.

    Returns:
        The paths of the `.npz` and `.json` files written.

    Raises:
        ValueError: if the model holds a layer type that cannot be stored as data.
        TypeError: if `metadata` is not JSON-serialisable.
    """
    npz_path, json_path = _model_paths(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _describe(model, "model", arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    npz_bytes = buffer.getvalue()
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "arrays_file": npz_path.name, "arrays_sha256": hashlib.sha256(npz_bytes).hexdigest(), "model": tree}
    if metadata is not None:
        document["metadata"] = metadata
    json_bytes = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    npz_tmp = stage_file(npz_path, npz_bytes)
    try:
        json_tmp = stage_file(json_path, json_bytes)
    except BaseException:
        npz_tmp.unlink(missing_ok=True)
        raise
    # Two renames cannot be one atomic step. Until the new .json is in place, the old .json still
    # describes the old arrays, so keep them (a hard link) where load_model looks for them.
    previous = _previous_arrays(npz_path)
    try:
        if npz_path.is_file():
            commit_file(stage_file(previous, npz_path.read_bytes()), previous)
        commit_file(npz_tmp, npz_path)
        commit_file(json_tmp, json_path)
    except BaseException:  # e.g. Ctrl-C between the renames: the old pair stays loadable, no temporary stays
        npz_tmp.unlink(missing_ok=True)
        json_tmp.unlink(missing_ok=True)
        raise
    previous.unlink(missing_ok=True)
    return npz_path, json_path

# %% [markdown]
# ## Loading, and checking what was loaded
#
# Loading reverses the walk. Before a layer is built, its arguments are checked for type, and each
# array it needs for presence, shape and dtype. A file that fails a check is reported with the file,
# the layer's path and type, what was wrong, and the fix.
#
# Your task (Task 17.1): `_check_array`, which compares one loaded array with its `_ArraySpec`. Raise a
# `ValueError` through the `fail(problem)` helper it receives (which adds the file, layer and fix)
# when the array is missing, when its shape differs (name both shapes), when its dtype kind is not
# allowed, or when an exact dtype is required and differs.

# %% nbgrader={"grade": false, "grade_id": "models-check-array", "locked": false, "schema_version": 3, "solution": true}
#| export
def _check_array(key: str, array: np.ndarray | None, spec: _ArraySpec, fail: Callable[[str], None]) -> None:
    """Check one array of a model file against what the architecture implies.

    Args:
        key: the array's name in the `.npz`.
        array: the array, or None when the file lacks it.
        spec: the expected shape and dtype.
        fail: called with a description of the problem; it raises ValueError.
    """
    # Task 17.1: presence, shape, dtype kind, exact dtype.
    ### BEGIN SOLUTION
    if array is None:
        fail(f"the array {key!r} is missing from the .npz")
    if tuple(array.shape) != tuple(spec.shape):
        fail(f"the array {key!r} has shape {tuple(array.shape)}, but the architecture implies {tuple(spec.shape)}")
    if array.dtype.kind not in spec.kinds:
        fail(f"the array {key!r} has dtype {array.dtype}, expected a dtype of kind {spec.kinds!r}")
    if spec.dtype is not None and array.dtype != np.dtype(spec.dtype):
        fail(f"the array {key!r} has dtype {array.dtype}, expected {spec.dtype}")
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "models-check-array-tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
def test_unit_check_array():
    problems = []

    def fail(problem):
        problems.append(problem)
        raise ValueError(problem)

    spec = _ArraySpec((3, 2), "f")
    _check_array("w", np.zeros((3, 2), dtype=np.float32), spec, fail)
    assert problems == [], "a matching array passes"
    for bad in (None, np.zeros((2, 3), dtype=np.float32), np.zeros((3, 2), dtype=np.int64)):
        try:
            _check_array("w", bad, spec, fail)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad!r} must be rejected")
    assert "(2, 3)" in problems[1] and "(3, 2)" in problems[1], "a shape error names both shapes"
    try:
        _check_array("q", np.zeros(4, dtype=np.int16), _ArraySpec((4,), "i", "int8"), fail)
    except ValueError:
        assert "int8" in problems[-1]
    else:
        raise AssertionError("an exact dtype must be enforced")


test_unit_check_array()

# %% nbgrader={"grade": false, "grade_id": "models-load", "locked": false, "schema_version": 3, "solution": false}
#| export
_FIX = "re-save the model with tinytorch's save_model, or regenerate shipped weights with the scripts in tools/"


class _ZipArrays:
    """The arrays of a `.npz`, unpacked only on request, after their headers were read and checked."""

    def __init__(self, npz_path: Path, data: bytes):
        self.npz_path = npz_path
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            strays = [m.filename for m in self.archive.infolist() if not m.filename.endswith(".npy")]
            if strays:
                raise ValueError(f"it holds {strays[:3]}, which are not .npy arrays")
            members = {m.filename[:-4]: m for m in self.archive.infolist()}
            self.headers = {key: _npy_header(self.archive, member) for key, member in members.items()}
        except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
            raise ValueError(f"{npz_path} is corrupt or holds pickled objects ({type(error).__name__}: {error}); "
                             f"{_FIX}") from error
        self.members, self.unpacked = members, {}

    def __iter__(self):
        return iter(self.headers)

    def header_problem(self, key: str, spec: _ArraySpec) -> str | None:
        """What is wrong with the array's header against the spec (None: unpack it)."""
        if key not in self.headers:
            return None  # missing: `_check_array` says so
        shape, _ = self.headers[key]
        if shape != tuple(spec.shape):
            return (f"the array {key!r} has shape {shape}, but the architecture implies {tuple(spec.shape)} "
                    "(read from its .npy header; the array was not unpacked)")
        return None

    def get(self, key: str) -> np.ndarray | None:
        if key not in self.members:
            return None
        if key in self.unpacked:
            return self.unpacked[key]
        try:
            with self.archive.open(self.members[key]) as stream:
                self.unpacked[key] = np.lib.format.read_array(stream, allow_pickle=False)
                return self.unpacked[key]
        except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
            raise ValueError(f"{self.npz_path}: the array {key!r} is corrupt ({type(error).__name__}: {error}); "
                             f"{_FIX}") from error


def _npy_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of one `.npy` member from its header, checked against the zip's unpacked size."""
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        header_bytes = stream.tell()
    if dtype.hasobject:
        raise ValueError(f"the array {member.filename!r} holds Python objects (pickle)")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize + header_bytes
    if expected != member.file_size:
        raise ValueError(f"the array {member.filename!r} claims shape {shape} of {dtype} ({expected:,} bytes) but the "
                         f"zip says it unpacks to {member.file_size:,} bytes")
    return tuple(int(n) for n in shape), dtype


class _Loader:
    """One pass over a model file: builds layers, and names the file and layer in every error."""

    def __init__(self, json_path: Path, npz_path: Path, arrays: _ZipArrays):
        self.json_path, self.npz_path, self.arrays = json_path, npz_path, arrays
        self.used: set[str] = set()

    def fail(self, where: str, kind: str, problem: str, fix: str = _FIX):
        raise ValueError(f"{self.json_path}: layer {where} ({kind}): {problem}; {fix}")

    def build(self, node, where: str) -> Layer:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            self.fail(where, "?", f"expected an object with a string 'type', got {node!r}")
        kind = node["type"]
        args = node.get("args", {})
        if not isinstance(args, dict):
            self.fail(where, kind, f"'args' must be an object, got {args!r}")
        if kind == "Sequential":
            return self._build_sequential(node, args, where)
        codec = _CODECS.get(kind)
        if codec is None:
            self.fail(where, kind, f"unknown layer type {kind!r}; supported: {', '.join(supported_layer_types())}",
                      "save models made only of supported layers, or use a tinytorch version that knows this type")
        self._check_args(where, kind, args, codec.arg_types)
        arrays = self._arrays_for(node, args, codec, where)
        try:
            return codec.build(args, arrays)
        except (TypeError, ValueError) as error:  # the layer's own checks, e.g. a negative scale
            self.fail(where, kind, f"the layer rejects the stored values: {error} (file {self.npz_path})")

    def _build_sequential(self, node: dict, args: dict, where: str) -> Sequential:
        children = node.get("layers")
        if not isinstance(children, list):
            self.fail(where, "Sequential", f"'layers' must be a list, got {children!r}")
        name = args.get("name")
        if name is not None and not isinstance(name, str):
            self.fail(where, "Sequential", f"'name' must be a string or null, got {name!r}")
        layers = [self.build(child, f"{where}.{i}") for i, child in enumerate(children)]
        return Sequential(*layers, name=name)

    def _check_args(self, where: str, kind: str, args: dict, arg_types: dict[str, type]) -> None:
        if set(args) != set(arg_types):
            self.fail(where, kind, f"args {sorted(args)} differ from the expected {sorted(arg_types)}")
        for arg, wanted in arg_types.items():
            value = args[arg]
            # bool is a subclass of int in Python: keep `true` from passing as a size and 1 as a flag.
            if wanted is _NonNegativeInt:
                if type(value) is not int or value < 0:
                    self.fail(where, kind, f"arg {arg}={value!r} must be a non-negative int")
            elif type(value) is not wanted or (wanted is int and value < 1):
                self.fail(where, kind, f"arg {arg}={value!r} must be a {'positive ' if wanted is int else ''}"
                                       f"{wanted.__name__}")

    def _arrays_for(self, node: dict, args: dict, codec: _Codec, where: str) -> dict[str, np.ndarray]:
        names = node.get("arrays", {})
        specs = codec.expected(args)
        if not isinstance(names, dict) or set(names) != set(specs):
            self.fail(where, node["type"], f"'arrays' {names!r} must name exactly {sorted(specs)}")
        found = {}
        for name, spec in specs.items():
            key = names[name]
            problem = self.arrays.header_problem(key, spec)
            if problem:
                self.fail(where, node["type"], f"{problem} (file {self.npz_path})")
            _check_array(key, self.arrays.get(key), spec,
                         lambda problem: self.fail(where, node["type"], f"{problem} (file {self.npz_path})"))
            self.used.add(key)
            found[name] = self.arrays.get(key)
        return found


def _read_document(json_path: Path) -> dict:
    if not json_path.is_file():
        raise FileNotFoundError(f"model architecture file {json_path} does not exist; {_FIX}")
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{json_path} is not valid JSON ({error}); {_FIX}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"{json_path} is not a tinytorch model file (no \"format\": \"{FORMAT_NAME}\"); {_FIX}")
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{json_path} has format_version {document.get('format_version')!r}; this tinytorch "
                         f"reads version {FORMAT_VERSION}; use the tinytorch version that wrote it, or re-save")
    return document


def _previous_arrays(npz_path: Path) -> Path:
    """Where `save_model` keeps the arrays file it is replacing until the new architecture file is in place."""
    return npz_path.with_name(f".{npz_path.name}.previous")


def _read_arrays(npz_path: Path, json_path: Path, expected_sha256) -> _ZipArrays:
    if not npz_path.is_file():
        raise FileNotFoundError(f"model arrays file {npz_path} does not exist; {_FIX}")
    data = npz_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        previous = _previous_arrays(npz_path)  # a save interrupted between its two renames
        kept = previous.read_bytes() if previous.is_file() else b""
        if not kept or hashlib.sha256(kept).hexdigest() != expected_sha256:
            raise ValueError(f"{npz_path} is not the arrays file {json_path} was saved with (sha256 differs): "
                             f"it is corrupt, edited, or from another save; {_FIX}")
        data = kept
    return _ZipArrays(npz_path, data)


def load_model(path: str | Path) -> Layer:
    """Rebuild a model saved by `save_model`; reads data only, never runs code from the files.

    Args:
        path: the path given to `save_model` (with or without `.npz` / `.json`).

    Returns:
        The model, with the `name` it was saved with.

    Raises:
        FileNotFoundError: if either file is missing.
        ValueError: if a file is corrupt, of another format, names an unknown layer type, lacks an
            array, or holds arrays whose shapes or dtypes do not match the architecture.
    """
    npz_path, json_path = _model_paths(path)
    document = _read_document(json_path)
    loader = _Loader(json_path, npz_path, _read_arrays(npz_path, json_path, document.get("arrays_sha256")))
    model = loader.build(document.get("model"), "model")
    unused = sorted(set(loader.arrays) - loader.used)
    if unused:
        raise ValueError(f"{npz_path} holds arrays no layer of {json_path} uses: {unused}; {_FIX}")
    return model

# %% [markdown]
# A round trip: save a small model, load it back, and compare the outputs bit for bit.

# %% nbgrader={"grade": false, "grade_id": "models-roundtrip-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_roundtrip():
    import tempfile
    model = Sequential(Flatten(), Linear(4, 3, seed=1), ReLU(), Linear(3, 2, seed=2), Softmax(), name="tiny")
    with tempfile.TemporaryDirectory() as folder:
        npz_path, json_path = save_model(model, Path(folder) / "tiny")
        assert npz_path.name == "tiny.npz" and json_path.name == "tiny.json"
        loaded = load_model(Path(folder) / "tiny")
    x = np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 2, 2)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert loaded.name == "tiny" and [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    quantized = quantize_model(model, bits=8)
    with tempfile.TemporaryDirectory() as folder:
        save_model(quantized, Path(folder) / "tiny_int8")
        loaded_q = load_model(Path(folder) / "tiny_int8")
    assert loaded_q.layers[1].weight_q.dtype == np.int8, "int8 codes stay int8 on disk and back"
    np.testing.assert_array_equal(loaded_q(x).data, quantized(x).data)


test_unit_roundtrip()

# %% [markdown]
# ## The reference models
#
# Module 19 benchmarks these. The baseline is a 64-32-10 MLP trained by `tools/train_reference_mlp.py`
# (plain NumPy, seeded) on the TinyDigits training set; its weights ship with the package and load
# through `load_model`, like any other model. Two optimized variants are built from it on demand,
# deterministically, with the Module 15 and 16 tools:
#
# | name | how it is made |
# |---|---|
# | `tinydigits_mlp` | shipped weights (`tools/train_reference_mlp.py`, seeded NumPy, Adam) |
# | `tinydigits_mlp_int8` | `quantize_model(baseline, bits=8)`: per-channel symmetric int8 weights |
# | `tinydigits_mlp_pruned50` | `magnitude_prune(baseline, sparsity=0.5)` (global), then `fine_tune` for 20 epochs of SGD (lr 0.05, batch 32, seed 0) on the training set, zeros kept at zero |
#
# Fine-tuning takes a fraction of a second, so it is not worth shipping a second weights file; the
# result is cached in memory. `list_reference_models()` names what is available and
# `load_reference_model(name)` returns a fresh copy each time, so one benchmark's changes never leak
# into another's model.

# %% nbgrader={"grade": false, "grade_id": "models-zoo", "locked": false, "schema_version": 3, "solution": false}
#| export
WEIGHTS_DIR = Path(tinytorch.__file__).resolve().parent / "models" / "weights"


PRUNE_RECIPE = {"sparsity": 0.5, "scope": "global", "epochs": 20, "lr": 0.05, "batch_size": 32, "seed": 0}


def _baseline() -> Layer:
    return load_model(WEIGHTS_DIR / "tinydigits_mlp")


def _int8() -> Layer:
    return quantize_model(_baseline(), bits=8)


@functools.lru_cache(maxsize=1)
def _pruned50_cached() -> Layer:
    # imported here: compression needs scipy.sparse (0.17 s), which a worker process loading saved models never uses
    from tinytorch.optimization.compression import fine_tune, magnitude_prune

    pruned = magnitude_prune(_baseline(), sparsity=PRUNE_RECIPE["sparsity"], scope=PRUNE_RECIPE["scope"])
    x_train, y_train = load_tinydigits().train
    return fine_tune(pruned, x_train, y_train, epochs=PRUNE_RECIPE["epochs"], lr=PRUNE_RECIPE["lr"],
                     batch_size=PRUNE_RECIPE["batch_size"], seed=PRUNE_RECIPE["seed"])


def _pruned50() -> Layer:
    return copy.deepcopy(_pruned50_cached())


_REFERENCE_MODELS: dict[str, tuple[Callable[[], Layer], str]] = {
    "tinydigits_mlp": (_baseline, "Sequential(Flatten, Linear(64, 32), ReLU, Linear(32, 10)) trained on "
                                  "TinyDigits by tools/train_reference_mlp.py; shipped weights"),
    "tinydigits_mlp_int8": (_int8, "tinydigits_mlp with per-channel symmetric int8 weights: "
                                   "quantize_model(baseline, bits=8); built on demand"),
    "tinydigits_mlp_pruned50": (_pruned50, "tinydigits_mlp with the 50% smallest weights (global) set to zero, "
                                           f"then fine-tuned: {PRUNE_RECIPE}; built on demand"),
}


def list_reference_models() -> list[str]:
    """The names `load_reference_model` accepts."""
    return list(_REFERENCE_MODELS)


def describe_reference_model(name: str) -> str:
    """One line on how the named reference model is made."""
    _check_reference_name(name)
    return _REFERENCE_MODELS[name][1]


def _check_reference_name(name: str) -> None:
    if name not in _REFERENCE_MODELS:
        raise ValueError(f"unknown reference model {name!r}; choose one of {', '.join(_REFERENCE_MODELS)}")


def load_reference_model(name: str) -> Layer:
    """A fresh copy of a reference model, with its `name` attribute set.

    Args:
        name: one of `list_reference_models()`.

    Raises:
        ValueError: for an unknown name (the message lists the known ones) or a damaged weights file.
    """
    _check_reference_name(name)
    model = _REFERENCE_MODELS[name][0]()
    model.name = name
    return model

# %% [markdown]
# How well does each reference model do, and how big is it? Accuracy is measured on the 200
# TinyDigits test images; parameter bytes are the real buffer sizes of its arrays (int8 codes count
# one byte each; the pruned model's zeros still take four bytes each in this dense form).

# %% nbgrader={"grade": false, "grade_id": "models-zoo-demo", "locked": false, "schema_version": 3, "solution": false}
_digits = load_tinydigits()
for _name in list_reference_models():
    _model = load_reference_model(_name)
    _accuracy = float((_model(_digits.x_test).data.argmax(axis=-1) == _digits.y_test).mean())
    _bytes = sum(p.nbytes for p in _model.parameters())
    print(f"{_name}: test accuracy {_accuracy:.3f}, parameter bytes {_bytes}")

# %% nbgrader={"grade": false, "grade_id": "models-zoo-tests", "locked": false, "schema_version": 3, "solution": false}
def test_unit_reference_models():
    assert "tinydigits_mlp" in list_reference_models()
    first, second = load_reference_model("tinydigits_mlp"), load_reference_model("tinydigits_mlp")
    assert first.name == "tinydigits_mlp" and first is not second
    assert first(_digits.x_test[:1]).shape == (1, 10)
    try:
        load_reference_model("resnet50")
    except ValueError as error:
        assert "tinydigits_mlp" in str(error), "the error lists the known names"
    else:
        raise AssertionError("an unknown name must raise ValueError")


test_unit_reference_models()
print("Model tests passed")

# %% [markdown]
# **Training.** The shipped weights were trained by scripts in `tools/`, and TinyMLPerf's MLP references
# train on first use, all with the one Adam loop of `tinytorch.models.training` (provided code, in
# `training.py` beside this notebook): Adam on shuffled minibatches, every random draw from one seeded
# generator, so that a run gives the same bits on the same machine and BLAS.
