"""Submissions: a team's saved model, checked, in a folder with its hash, team, event and time.

Every file is hostile. The checks here read only bytes, JSON and zip/npy headers: sizes are capped
before anything is read whole, the arrays' sizes are taken from the zip and npy headers before any
array is unpacked, and JSON depth is bounded. Only a model that passes them is handed to
`tinytorch.models.zoo.load_model` (data only, never pickle), and in `tito olympics run` only inside a
worker process with a memory limit (`worker.py`).
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from . import EVENTS

# The task every event is held on: TinyDigits, 8x8 images in a batch, 10 class scores out.
INPUT_SHAPE = (1, 8, 8)
OUTPUT_SHAPE = (1, 10)

MANIFEST = "submission.json"
MODEL_JSON, MODEL_NPZ = "model.json", "model.npz"
MANIFEST_FORMAT, MANIFEST_VERSION = "tinytorch-olympics-submission", 1
MAX_MANIFEST_BYTES = 64 * 1024
_TEAM = re.compile(r"^[^\s/\\][^/\\]{0,62}[^\s/\\]$|^[^\s/\\]$")


@dataclass(frozen=True)
class Limits:
    """What a submission may weigh. The defaults fit the TinyDigits task with a wide margin
    (the reference MLP is 10 KB of arrays) and keep one entry's check to well under a second."""

    max_npz_bytes: int = 8 * 1024 * 1024  # the file on disk
    max_array_bytes: int = 32 * 1024 * 1024  # all arrays unpacked, from the zip and npy headers
    max_json_bytes: int = 256 * 1024
    max_json_depth: int = 64
    max_arrays: int = 1024

    def __post_init__(self):
        for name, value in vars(self).items():
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{name}={value!r} must be a positive integer")


class SubmissionError(Exception):
    """A submission that cannot enter: the message says what is wrong and, where there is one, the fix."""


@dataclass(frozen=True)
class ModelFiles:
    """The bytes of a saved model that passed the static checks."""

    json_bytes: bytes
    npz_bytes: bytes

    @property
    def sha256(self) -> str:
        """The model's hash: over the architecture file, then the arrays file."""
        digest = hashlib.sha256()
        for part in (self.json_bytes, self.npz_bytes):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()

    @property
    def size_bytes(self) -> int:
        return len(self.json_bytes) + len(self.npz_bytes)

    def write(self, folder: Path) -> Path:
        """Write `model.json` and `model.npz` into `folder`; return the path `load_model` takes."""
        (folder / MODEL_JSON).write_bytes(self.json_bytes)
        (folder / MODEL_NPZ).write_bytes(self.npz_bytes)
        return folder / "model"


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """`(json, npz)` of a model saved by `save_model(model, path)`; `path` may end in .json or .npz."""
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".npz")


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    """The bytes of a regular file (not a link) of at most `cap` bytes, checked before reading."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise SubmissionError(f"{what} {path} does not exist") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise SubmissionError(f"{what} {path} is not a regular file (links are refused)")
    if info.st_size > cap:
        raise SubmissionError(f"{what} {path} is {info.st_size:,} bytes; the limit is {cap:,}")
    with open(path, "rb") as handle:
        data = handle.read(info.st_size + 1)  # one byte more: the file may have grown since lstat
    if len(data) > info.st_size:
        raise SubmissionError(f"{what} {path} changed while it was read; submit it again")
    return data


def _json_depth(value) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if depth > 10_000:
            break
    return depth - 1


def parse_json(data: bytes, what: str, max_depth: int):
    """JSON from untrusted bytes: invalid text, deep nesting (RecursionError) and depth over `max_depth`
    are a SubmissionError."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError(f"{what} is not valid JSON ({error})") from None
    except RecursionError:
        raise SubmissionError(f"{what} is nested too deeply to read") from None
    depth = _json_depth(value)
    if depth > max_depth:
        raise SubmissionError(f"{what} is nested {depth} levels deep; the limit is {max_depth}")
    return value


def check_npz_headers(data: bytes, limits: Limits, what: str = MODEL_NPZ) -> dict[str, tuple[tuple[int, ...], str]]:
    """Check an .npz from its zip and npy headers only: no array is unpacked.

    Returns:
        name -> (shape, dtype) for every array.

    Raises:
        SubmissionError: not a zip, too many members, a member that is not a .npy, object arrays
            (pickle), unpacked sizes over the limit, or an npy header that disagrees with the zip's size.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise SubmissionError(f"{what} is not a readable .npz (zip) file ({error})") from None
    if len(members) > limits.max_arrays:
        raise SubmissionError(f"{what} holds {len(members)} files; the limit is {limits.max_arrays}")
    declared = sum(member.file_size for member in members)
    if declared > limits.max_array_bytes:
        raise SubmissionError(f"{what} would unpack to {declared:,} bytes (zip headers); "
                              f"the limit is {limits.max_array_bytes:,}")
    arrays = {}
    for member in members:
        if not member.filename.endswith(".npy") or member.is_dir():
            raise SubmissionError(f"{what} holds {member.filename!r}, which is not a .npy array")
        shape, dtype, header_end = _npy_header(archive, member, what)
        itemsize = dtype.itemsize
        expected = int(np.prod(shape, dtype=object)) * itemsize + header_end
        if expected != member.file_size:
            raise SubmissionError(f"{what}: {member.filename!r} claims shape {shape} of {dtype} "
                                  f"({expected:,} bytes with its header) but the zip says {member.file_size:,}")
        arrays[member.filename[:-4]] = (shape, str(dtype))
    return arrays


def _npy_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, what: str):
    """(shape, dtype, header length) from the start of one .npy member, read through a bounded stream."""
    from numpy.lib import format as npy

    try:
        with archive.open(member) as stream:
            version = npy.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy.read_array_header_2_0(stream)
            else:
                raise ValueError(f"npy format version {version} is not supported")
            header_end = stream.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:
        raise SubmissionError(f"{what}: {member.filename!r} is not a valid .npy array ({error})") from None
    if dtype.hasobject:
        raise SubmissionError(f"{what}: {member.filename!r} holds Python objects (pickle); only numbers are accepted")
    if any(type(n) is not int or n < 0 for n in shape):
        raise SubmissionError(f"{what}: {member.filename!r} has an invalid shape {shape!r}")
    return tuple(shape), dtype, header_end


def read_model_files(path: str | Path, limits: Limits = Limits()) -> ModelFiles:
    """Read a saved model's two files and check them without unpacking an array.

    Args:
        path: what was given to `save_model` (with or without .json / .npz).

    Raises:
        SubmissionError: naming the file and the problem.
    """
    json_path, npz_path = model_paths(path)
    json_bytes = _read_capped(json_path, limits.max_json_bytes, "the model architecture file")
    npz_bytes = _read_capped(npz_path, limits.max_npz_bytes, "the model arrays file")
    document = parse_json(json_bytes, json_path.name, limits.max_json_depth)
    if not isinstance(document, dict) or document.get("format") != "tinytorch-model":
        raise SubmissionError(f"{json_path.name} is not a tinytorch model file; save the model with "
                              "tinytorch.models.zoo.save_model")
    if document.get("arrays_sha256") != hashlib.sha256(npz_bytes).hexdigest():
        raise SubmissionError(f"{npz_path.name} is not the arrays file {json_path.name} was saved with "
                              "(sha256 differs); save the model again")
    check_npz_headers(npz_bytes, limits, npz_path.name)
    return ModelFiles(json_bytes, npz_bytes)


def probe_model(model) -> None:
    """Run one all-zero TinyDigits batch through a loaded model; SubmissionError unless out comes (1, 10)."""
    from tinytorch.core.tensor import Tensor

    x = np.zeros(INPUT_SHAPE, dtype=np.float32)
    try:
        output = model(Tensor(x))
    except Exception as error:  # a layer rejecting the input shape: the model does not fit the task
        raise SubmissionError(f"the model fails on a TinyDigits input of shape {INPUT_SHAPE}: "
                              f"{type(error).__name__}: {error}") from None
    data = getattr(output, "data", output)
    shape = tuple(np.shape(data))
    if shape != OUTPUT_SHAPE:
        raise SubmissionError(f"the model maps an input of shape {INPUT_SHAPE} to {shape}; the task needs "
                              f"{OUTPUT_SHAPE} (10 class scores per image)")
    if not np.isfinite(np.asarray(data, dtype=np.float64)).all():
        raise SubmissionError("the model outputs NaN or infinite values for an all-zero image")


def load_checked_model(folder: Path):
    """Load `folder/model` with the safe loader and probe its shapes (after `read_model_files` passed)."""
    from tinytorch.models.zoo import load_model

    try:
        model = load_model(folder / "model")
    except (FileNotFoundError, ValueError, TypeError) as error:
        raise SubmissionError(f"the model cannot be loaded: {error}") from None
    except RecursionError:
        raise SubmissionError("the model's layers are nested too deeply to load") from None
    probe_model(model)
    return model


def check_team(team: str) -> str:
    """A team name: 1-64 printable characters, no slash or backslash, no space at either end."""
    if not isinstance(team, str) or not team.isprintable() or not _TEAM.match(team):
        raise SubmissionError(f"team name {team!r} is not accepted: use 1-64 printable characters without "
                              "/ or \\ and without spaces at either end, e.g. 'fast-foxes'")
    return team


def check_event(event: str) -> str:
    if event not in EVENTS:
        raise SubmissionError(f"unknown event {event!r}; choose one of {', '.join(EVENTS)}")
    return event


def _slug(team: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", team).strip("-")[:40] or "team"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def submit(event: str, model_path: str | Path, team: str, out_dir: str | Path, limits: Limits = Limits(),
           now: Callable[[], datetime] = _utc_now) -> Path:
    """Check a saved model and write a submission folder `out_dir/<team>-<time>-<hash>/`.

    The folder holds `model.json`, `model.npz` (the bytes that were checked) and `submission.json`
    (team, event, time, the model's hash and sizes). It appears whole or not at all.

    Raises:
        SubmissionError: the model does not load as data, does not fit the task's shapes, or is too big.
    """
    check_event(event)
    check_team(team)
    files = read_model_files(model_path, limits)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    when = now().astimezone(timezone.utc)
    final = out_dir / f"{_slug(team)}-{when.strftime('%Y%m%dT%H%M%SZ')}-{files.sha256[:8]}"
    if final.exists():
        raise SubmissionError(f"{final} already exists: this model was submitted a moment ago")
    staging = Path(tempfile.mkdtemp(prefix=".submission-", dir=out_dir))
    try:
        files.write(staging)
        load_checked_model(staging)
        manifest = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, "team": team, "event": event,
                    "submitted_at": when.isoformat(timespec="seconds"), "model_sha256": files.sha256,
                    "model_bytes": files.size_bytes}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes 0700
        os.rename(staging, final)  # atomic: the folder appears whole
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):  # the same model, the same second, another writer
            raise SubmissionError(f"{final} already exists: this model was submitted a moment ago") from None
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


@dataclass(frozen=True)
class Submission:
    """A submission folder that passed the static checks; `files` are the bytes that were checked."""

    folder: Path
    team: str
    event: str
    submitted_at: datetime
    files: ModelFiles

    @property
    def model_sha256(self) -> str:
        return self.files.sha256


def team_hint(folder: Path) -> str:
    """A name for a folder whose manifest cannot be read: the team it claims, else the folder's name."""
    try:
        manifest = json.loads(_read_capped(folder / MANIFEST, MAX_MANIFEST_BYTES, "manifest"))
        return check_team(manifest["team"])
    except Exception:  # anything unreadable: fall back to the folder name, which is only a label
        return folder.name[:64] or "?"


def read_submission(folder: str | Path, limits: Limits = Limits()) -> Submission:
    """Read and check a submission folder written by `submit` (it may have been edited since).

    Raises:
        SubmissionError: a missing or malformed manifest, a model that fails the static checks,
            or model files that are not the ones the manifest's hash names.
    """
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder (links are refused)")
    manifest = parse_json(_read_capped(folder / MANIFEST, MAX_MANIFEST_BYTES, "the manifest"), MANIFEST, 4)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise SubmissionError(f"{MANIFEST} is not an Olympics submission manifest; submit with "
                              "`tito olympics submit`")
    if manifest.get("format_version") != MANIFEST_VERSION:
        raise SubmissionError(f"{MANIFEST} has format_version {manifest.get('format_version')!r}; this tito "
                              f"reads version {MANIFEST_VERSION}")
    team, event = check_team(manifest.get("team")), check_event(manifest.get("event"))
    try:
        submitted_at = datetime.fromisoformat(manifest["submitted_at"])
    except (KeyError, TypeError, ValueError):
        raise SubmissionError(f"{MANIFEST} has no valid submitted_at time") from None
    if submitted_at.tzinfo is None:
        raise SubmissionError(f"{MANIFEST}: submitted_at {manifest['submitted_at']!r} has no time zone")
    files = read_model_files(folder / "model", limits)
    if files.sha256 != manifest.get("model_sha256"):
        raise SubmissionError("the model files are not the ones submitted (their hash differs from "
                              f"{MANIFEST}'s model_sha256); submit again")
    return Submission(folder, team, event, submitted_at.astimezone(timezone.utc), files)


def find_submissions(root: str | Path) -> list[Path]:
    """The submission folders directly under `root` (hidden ones, e.g. unfinished, are left out)."""
    root = Path(root)
    if not root.is_dir():
        raise SubmissionError(f"submissions folder {root} does not exist or is not a folder")
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p.is_dir() or p.is_symlink()))
