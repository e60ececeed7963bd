"""`run_event`: every submission of an event checked, measured alike, judged, and recorded as a run.

A submission that cannot take part (unreadable, hostile, wrong shapes, NaN outputs, too slow) becomes
an entry with status "rejected" and the reason; one that is measured but breaks the event's rules is
"invalid" with the reasons; the rest are "valid". Nothing a submission holds can stop the run.
The baseline of every run is tinytorch's reference MLP (`tinydigits_mlp`), measured with the entries.
"""
from __future__ import annotations

import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from .database import Database, EntryRecord, RunRecord
from .measure import MeasureSettings, ProcessResult, check_entries, measure_entries
from .scoring import Measured, verdict
from .submission import (EVENTS, Limits, ModelFiles, SubmissionError, find_submissions, read_model_files,
                         read_submission, team_hint)

REFERENCE_MODEL = "tinydigits_mlp"
REFERENCE_KEY = "reference"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class _Candidate:
    key: str
    entry: EntryRecord
    files: ModelFiles | None = None
    folder: Path | None = None


@dataclass
class RunReport:
    """What `run_event` did: the stored run (with its entries) and the folders it left out."""

    run: RunRecord
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)


def _versions() -> dict[str, str]:
    names = ("tinytorch-benchmarking", "numpy", "scipy", "sqlalchemy")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _gather(event: str, root: Path, limits: Limits) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    """Static checks of every folder under `root` (no model is loaded here)."""
    candidates, skipped, submissions = [], [], []
    for folder in find_submissions(root):
        try:
            submission = read_submission(folder, limits)
        except SubmissionError as error:
            entry = EntryRecord(team_hint(folder), folder.name[:255], "rejected", [str(error)])
            candidates.append(_Candidate("", entry))
            continue
        except OSError as error:  # e.g. a folder that cannot be read
            entry = EntryRecord(team_hint(folder), folder.name[:255], "rejected", [f"cannot read it: {error}"])
            candidates.append(_Candidate("", entry))
            continue
        if submission.event != event:
            skipped.append((folder.name, f"submitted for {submission.event}, not {event}"))
            continue
        submissions.append(submission)
    submissions.sort(key=lambda s: (s.submitted_at, s.folder.name))  # later submissions get later ids
    for submission in submissions:
        entry = EntryRecord(submission.team, submission.folder.name[:255], "rejected", [],
                            submitted_at=submission.submitted_at, model_sha256=submission.model_sha256,
                            model_bytes=submission.files.size_bytes)
        candidates.append(_Candidate("", entry, submission.files))
    return candidates, skipped


def _reference_files(workdir: Path) -> ModelFiles:
    from tinytorch.models.zoo import load_reference_model, save_model

    save_model(load_reference_model(REFERENCE_MODEL), workdir / "reference-source")
    return read_model_files(workdir / "reference-source")


def _per_entry(processes: list[ProcessResult], key: str) -> dict:
    return {"latency_ms": [p.latency_ms[key] for p in processes], "memory_mb": [p.memory_mb[key] for p in processes],
            "calls_per_block": [p.calls_per_block[key] for p in processes],
            "model_size_mb": processes[0].model_size_mb.get(key)}


def _judge(event: str, reference: Measured, candidate: _Candidate) -> None:
    entry = candidate.entry
    measured = entry.measured
    if min(float(measured.per_process("latency").min()), float(measured.per_process("memory").min())) <= 0:
        entry.status, entry.reasons = "invalid", ["a latency or memory of 0 was measured: no ratio can score it"]
        return
    valid, score, reasons = verdict(event, reference, measured)
    entry.status, entry.library_score, entry.reasons = ("valid" if valid else "invalid"), float(score), list(reasons)


def run_event(event: str, submissions: str | Path, database: Database, settings: MeasureSettings = MeasureSettings(),
              limits: Limits = Limits(), progress: Progress = lambda stage, done, total: None,
              clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> RunReport:
    """Check, measure and judge every submission for `event` under `submissions`; store the run.

    Raises:
        SubmissionError: the submissions folder does not exist.
        RuntimeError: the reference model itself could not be measured (the machine, not a submission).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; choose one of {', '.join(EVENTS)}")
    started = clock()
    load_before = _load_average()
    candidates, skipped = _gather(event, Path(submissions), limits)
    with tempfile.TemporaryDirectory(prefix="olympics-run-") as tmp:
        workdir = Path(tmp)
        reference = _Candidate(REFERENCE_KEY, EntryRecord("reference", f"{REFERENCE_MODEL} (baseline)", "rejected",
                                                          [], is_reference=True), _reference_files(workdir))
        reference.entry.model_sha256, reference.entry.model_bytes = reference.files.sha256, reference.files.size_bytes
        loadable = [reference] + [c for c in candidates if c.files is not None]
        for index, candidate in enumerate(loadable):
            # private copies of the bytes that were checked: later edits of a submission folder change nothing
            candidate.key = candidate.key or f"entry{index}"
            candidate.folder = workdir / candidate.key
            candidate.folder.mkdir()
            candidate.files.write(candidate.folder)

        checked = 0

        def on_check(key: str, outcome: dict) -> None:
            nonlocal checked
            checked += 1
            progress("check", checked, len(loadable))

        progress("check", 0, len(loadable))
        outcomes = check_entries([(c.key, c.folder) for c in loadable], settings, on_check)
        for candidate in loadable:
            outcome = outcomes[candidate.key]
            if not outcome["ok"]:
                candidate.entry.reasons = [outcome["reason"]]
                continue
            datasets = outcome["accuracy"]["metadata"]["datasets"][0]
            candidate.entry.correct, candidate.entry.samples = int(datasets["correct"]), int(datasets["samples"])
            candidate.entry.predictions = outcome["predictions"]
            candidate.entry.single_inference_ms = outcome["single_inference_ms"]
        if not outcomes[REFERENCE_KEY]["ok"]:
            raise RuntimeError(f"the reference model could not be checked: {outcomes[REFERENCE_KEY]['reason']}")
        measurable = [c for c in loadable if outcomes[c.key]["ok"]]

        progress("measure", 0, settings.processes)
        processes = measure_entries([(c.key, c.folder) for c in measurable], settings,
                                    lambda done, total: progress("measure", done, total))
    good = [p for p in processes if p.ok]
    if len(good) < 2:
        failures = "; ".join(f"process {p.index}: {p.reason}" for p in processes if not p.ok)
        for candidate in measurable:
            candidate.entry.reasons = [f"the measurement failed: only {len(good)} of {len(processes)} processes "
                                       f"finished ({failures})"]
    else:
        for candidate in measurable:
            values = _per_entry(good, candidate.key)
            candidate.entry.latency_ms, candidate.entry.memory_mb = values["latency_ms"], values["memory_mb"]
            candidate.entry.calls_per_block, candidate.entry.model_size_mb = values["calls_per_block"], \
                values["model_size_mb"]
        reference_measured = reference.entry.measured
        for candidate in measurable:
            _judge(event, reference_measured, candidate)
    environment = {"versions": _versions(), "executable": sys.executable, "load_average_start": load_before,
                   "load_average_end": _load_average(), "system_info": good[0].system_info if good else {},
                   "warnings": good[0].warnings if good else []}
    process_log = [{"index": p.index, "ok": p.ok, "reason": p.reason, "seconds": round(p.seconds, 3),
                    "order": p.order, "load_average": (p.system_info or {}).get("load_average")} for p in processes]
    entries = [reference.entry] + [c.entry for c in candidates]
    run = RunRecord(event, started, clock(), {**settings.describe(), "limits": vars(limits),
                                              "reference_model": REFERENCE_MODEL}, environment, process_log, entries)
    database.record_run(run)
    return RunReport(run, skipped)
