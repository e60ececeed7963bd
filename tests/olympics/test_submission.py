"""Submissions: `submit` writes a checked folder; every hostile file is refused with a reason, before loading."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from tinytorch.benchmarking.benchmark import OlympicEvent
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.models.zoo import load_reference_model, save_model
from tito.olympics import EVENTS
from tito.olympics.submission import (MANIFEST, Limits, SubmissionError, check_npz_headers, find_submissions,
                                      load_checked_model, read_model_files, read_submission, submit)

WHEN = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(moment=WHEN):
    return lambda: moment


@pytest.fixture
def saved_mlp(tmp_path):
    save_model(load_reference_model("tinydigits_mlp"), tmp_path / "mine" / "mlp")
    return tmp_path / "mine" / "mlp"


def forge(folder, json_bytes: bytes, npz_bytes: bytes, team="mallory", event="latency_sprint"):
    """A submission folder written by hand, as an attacker would: the manifest's hash matches the files."""
    folder.mkdir(parents=True)
    (folder / "model.json").write_bytes(json_bytes)
    (folder / "model.npz").write_bytes(npz_bytes)
    digest = hashlib.sha256(hashlib.sha256(json_bytes).digest() + hashlib.sha256(npz_bytes).digest()).hexdigest()
    manifest = {"format": "tinytorch-olympics-submission", "format_version": 1, "team": team, "event": event,
                "submitted_at": WHEN.isoformat(), "model_sha256": digest,
                "model_bytes": len(json_bytes) + len(npz_bytes)}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


def model_bytes(model) -> tuple[dict, bytes]:
    """A model's architecture document and arrays bytes, as save_model writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp) / "m")
        return json.loads((Path(tmp) / "m.json").read_text()), (Path(tmp) / "m.npz").read_bytes()


def with_npz(document: dict, npz: bytes) -> bytes:
    document = dict(document, arrays_sha256=hashlib.sha256(npz).hexdigest())
    return json.dumps(document).encode()


def test_the_events_are_tinytorchs():
    assert EVENTS == tuple(event.value for event in OlympicEvent)


def test_submit_writes_a_checked_folder(saved_mlp, tmp_path):
    folder = submit("latency_sprint", saved_mlp, "Fast Foxes", tmp_path / "subs", now=at())
    assert folder.name.startswith("Fast-Foxes-20260301T120000Z-")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["team"] == "Fast Foxes" and manifest["event"] == "latency_sprint"
    assert manifest["submitted_at"] == "2026-03-01T12:00:00+00:00"
    submission = read_submission(folder)
    assert submission.model_sha256 == manifest["model_sha256"] == read_model_files(saved_mlp).sha256
    assert submission.submitted_at == WHEN and submission.team == "Fast Foxes"
    assert find_submissions(tmp_path / "subs") == [folder]
    assert not [p for p in (tmp_path / "subs").iterdir() if p.name.startswith(".")], "no staging folder is left"


def test_the_same_model_twice_in_one_second_is_refused(saved_mlp, tmp_path):
    submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs", now=at())
    with pytest.raises(SubmissionError, match="already exists"):
        submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs", now=at())
    later = submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs", now=at(WHEN.replace(second=1)))
    assert len(find_submissions(tmp_path / "subs")) == 2 and later.exists()


@pytest.mark.parametrize("team", ["", " lead", "trail ", "a/b", "a\\b", "x" * 65, "tab\there", None])
def test_bad_team_names(saved_mlp, tmp_path, team):
    with pytest.raises(SubmissionError, match="team name"):
        submit("latency_sprint", saved_mlp, team, tmp_path / "subs")


def test_unknown_event(saved_mlp, tmp_path):
    with pytest.raises(SubmissionError, match="unknown event 'marathon'; choose one of latency_sprint"):
        submit("marathon", saved_mlp, "foxes", tmp_path / "subs")


def test_wrong_output_shape_is_refused_at_submit(tmp_path):
    save_model(Sequential(Flatten(), Linear(64, 12)), tmp_path / "twelve")
    shapes = r"maps an input of shape \(1, 8, 8\) to \(1, 12\); the task needs \(1, 10\)"
    with pytest.raises(SubmissionError, match=shapes):
        submit("latency_sprint", tmp_path / "twelve", "foxes", tmp_path / "subs")
    assert not (tmp_path / "subs").exists() or not list((tmp_path / "subs").iterdir())


def test_wrong_input_width_is_refused_at_submit(tmp_path):
    save_model(Sequential(Flatten(), Linear(50, 10)), tmp_path / "narrow")
    with pytest.raises(SubmissionError, match="fails on a TinyDigits input"):
        submit("latency_sprint", tmp_path / "narrow", "foxes", tmp_path / "subs")


def test_nan_at_zero_input_is_refused_at_submit(tmp_path):
    model = Sequential(Flatten(), Linear(64, 10))
    model[1].bias.data[:] = np.nan
    save_model(model, tmp_path / "nan")
    with pytest.raises(SubmissionError, match="NaN or infinite"):
        submit("latency_sprint", tmp_path / "nan", "foxes", tmp_path / "subs")


# --- hostile folders: each is refused by read_submission (static) or load_checked_model, with a reason ---

def test_corrupt_npz(tmp_path, saved_mlp):
    document, _ = model_bytes(load_reference_model("tinydigits_mlp"))
    junk = os.urandom(3000)
    folder = forge(tmp_path / "s", with_npz(document, junk), junk)
    with pytest.raises(SubmissionError, match="not a readable .npz"):
        read_submission(folder)


def test_corrupt_json(tmp_path):
    _, npz = model_bytes(load_reference_model("tinydigits_mlp"))
    folder = forge(tmp_path / "s", b'{"format": "tinytorch-model", "model": [', npz)
    with pytest.raises(SubmissionError, match="model.json is not valid JSON"):
        read_submission(folder)


def test_deeply_nested_json(tmp_path):
    _, npz = model_bytes(load_reference_model("tinydigits_mlp"))
    folder = forge(tmp_path / "s", b"[" * 100_000 + b"]" * 100_000, npz)
    with pytest.raises(SubmissionError, match="nested too deeply"):
        read_submission(folder)


def test_json_nested_past_the_limit_but_readable(tmp_path):
    document, npz = model_bytes(load_reference_model("tinydigits_mlp"))
    deep = {"format": "tinytorch-model"}
    node = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    folder = forge(tmp_path / "s", with_npz(deep, npz), npz)
    with pytest.raises(SubmissionError, match=r"nested 20\d levels deep; the limit is 64"):
        read_submission(folder)


def test_manifest_that_is_not_json(tmp_path, saved_mlp):
    folder = submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs")
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(SubmissionError, match="submission.json is not valid JSON"):
        read_submission(folder)


def test_files_edited_after_submission(tmp_path, saved_mlp):
    folder = submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs")
    document = json.loads((folder / "model.json").read_text())
    document["metadata"] = {"edited": True}
    (folder / "model.json").write_text(json.dumps(document))
    with pytest.raises(SubmissionError, match="not the ones submitted"):
        read_submission(folder)


def test_arrays_file_swapped(tmp_path):
    document, _ = model_bytes(load_reference_model("tinydigits_mlp"))
    _, other_npz = model_bytes(load_reference_model("tinydigits_mlp_int8"))
    folder = forge(tmp_path / "s", json.dumps(document).encode(), other_npz)
    with pytest.raises(SubmissionError, match="not the arrays file model.json was saved with"):
        read_submission(folder)


def test_huge_file_is_refused_from_its_size_without_reading_it(tmp_path):
    document, npz = model_bytes(load_reference_model("tinydigits_mlp"))
    folder = forge(tmp_path / "s", with_npz(document, npz), npz)
    with open(folder / "model.npz", "r+b") as handle:
        handle.truncate(2 * 1024**3)  # a sparse 2 GB file: costs no disk, and must never be read
    tracemalloc.start()
    try:
        with pytest.raises(SubmissionError, match=r"is 2,147,483,648 bytes; the limit is 8,388,608"):
            read_submission(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024**2


def zip_bomb(declared_bytes: int) -> bytes:
    """An .npz holding one float32 array of zeros: tiny on disk, `declared_bytes` unpacked."""
    buffer = io.BytesIO()
    header = io.BytesIO()
    count = declared_bytes // 4
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (count,)})
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("model.1.weight.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(count * 4 // len(zeros)):
                member.write(zeros)
    return buffer.getvalue()


def test_zip_bomb_is_refused_from_the_zip_headers(tmp_path):
    document, _ = model_bytes(load_reference_model("tinydigits_mlp"))
    bomb = zip_bomb(64 * 1024**2)
    assert len(bomb) < 1024**2
    folder = forge(tmp_path / "s", with_npz(document, bomb), bomb)
    tracemalloc.start()
    try:
        with pytest.raises(SubmissionError, match=r"would unpack to 67,108,\d+ bytes \(zip headers\)"):
            read_submission(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024**2, "the check reads headers, not arrays"


def test_npy_header_that_lies_about_its_shape(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.1.weight.npy", header.getvalue() + bytes(64))
    with pytest.raises(SubmissionError, match=r"claims shape \(100000, 100000\) of float32"):
        check_npz_headers(buffer.getvalue(), Limits())


def test_pickled_object_array_is_refused(tmp_path):
    document, _ = model_bytes(load_reference_model("tinydigits_mlp"))
    buffer = io.BytesIO()
    np.savez(buffer, **{"model.1.weight": np.array([{"a": 1}, None], dtype=object)})
    npz = buffer.getvalue()
    folder = forge(tmp_path / "s", with_npz(document, npz), npz)
    with pytest.raises(SubmissionError, match="holds Python objects"):
        read_submission(folder)


def test_a_member_that_is_not_an_array(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.py", "import os")
    with pytest.raises(SubmissionError, match="'payload.py', which is not a .npy array"):
        check_npz_headers(buffer.getvalue(), Limits())


def test_links_are_refused(tmp_path, saved_mlp):
    folder = submit("latency_sprint", saved_mlp, "foxes", tmp_path / "subs")
    (folder / "model.npz").unlink()
    (folder / "model.npz").symlink_to(saved_mlp.with_name("mlp.npz"))
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission(folder)
    (tmp_path / "subs" / "link").symlink_to(folder)
    with pytest.raises(SubmissionError, match="is not a folder"):
        read_submission(tmp_path / "subs" / "link")


def test_unknown_layer_passes_the_static_checks_and_fails_to_load(tmp_path):
    document, npz = model_bytes(load_reference_model("tinydigits_mlp"))
    document["model"]["layers"][2]["type"] = "Lambda"
    folder = forge(tmp_path / "s", with_npz(document, npz), npz)
    read_submission(folder)
    with pytest.raises(SubmissionError, match="unknown layer type 'Lambda'"):
        load_checked_model(folder)


def test_arrays_of_the_wrong_shape_fail_to_load(tmp_path):
    document, _ = model_bytes(load_reference_model("tinydigits_mlp"))
    buffer = io.BytesIO()
    arrays = {"model.1.weight": np.zeros((64, 33), np.float32), "model.1.bias": np.zeros(32, np.float32),
              "model.3.weight": np.zeros((32, 10), np.float32), "model.3.bias": np.zeros(10, np.float32)}
    np.savez(buffer, **arrays)
    npz = buffer.getvalue()
    folder = forge(tmp_path / "s", with_npz(document, npz), npz)
    with pytest.raises(SubmissionError, match=r"has shape \(64, 33\)"):
        load_checked_model(folder)


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_npz_bytes=0"):
        Limits(max_npz_bytes=0)


def test_missing_submissions_folder(tmp_path):
    with pytest.raises(SubmissionError, match="does not exist"):
        find_submissions(tmp_path / "nowhere")
