"""The leaderboard of an event: each team's latest valid entry, scored, with noise-aware places.

`rank_entries` works on entries in memory (a run just made, or what the database holds);
`build_board` reads the database and adds what the page and the table show around the ranking.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .database import Database, EntryRecord, RunRecord
from .ranking import ALPHA, Placement, Ranking, log_score_test, mcnemar_test, noise_aware_ranking
from .scoring import process_scores, scored_metrics, t_interval_of_logs, wilson_interval


@dataclass
class BoardRow:
    """One ranked entry with the figures derived from its raw values."""

    key: str
    entry: EntryRecord
    process_scores: list[float]
    score: float
    score_low: float
    score_high: float
    score_interval: str  # how the interval was made
    latency_ms: tuple[float, float, float]  # geometric mean of per-process medians, 95% t interval (logs)
    memory_mb: float
    accuracy: tuple[float, float, float]  # accuracy, Wilson 95% interval
    placement: Placement | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return "reference (tinydigits_mlp baseline)" if self.entry.is_reference else self.entry.team


@dataclass
class Board:
    event: str
    objective: str
    constraints: list[str]
    rows: list[BoardRow]
    ranking: Ranking
    runs: list[RunRecord]
    not_ranked: list[EntryRecord] = field(default_factory=list)  # the latest run's invalid and rejected entries
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def to_json(self) -> dict:
        rows = []
        for row in self.rows:
            e, p = row.entry, row.placement
            rows.append({"rank": p.rank, "places": p.places, "plain_rank": p.plain_rank, "team": row.label,
                         "is_reference": e.is_reference, "entry_id": e.id, "run_id": e.run_id,
                         "score": row.score, "score_ci": [row.score_low, row.score_high],
                         "score_interval": row.score_interval, "process_scores": row.process_scores,
                         "latency_ms": row.latency_ms[0], "latency_ci_ms": list(row.latency_ms[1:]),
                         "accuracy": row.accuracy[0], "accuracy_ci": list(row.accuracy[1:]),
                         "correct": e.correct, "samples": e.samples, "memory_mb": row.memory_mb,
                         "model_size_mb": e.model_size_mb, "library_score": e.library_score,
                         "significantly_better": [self._label(k) for k in p.better],
                         "significantly_worse": [self._label(k) for k in p.worse],
                         "model_sha256": e.model_sha256, "submission": e.submission,
                         "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None,
                         "reasons": e.reasons, "note": row.note,
                         "raw": {"latency_ms": e.latency_ms, "memory_mb": e.memory_mb,
                                 "calls_per_block": e.calls_per_block}})
        return {"event": self.event, "objective": self.objective, "constraints": self.constraints,
                "ranking_method": self.ranking.method, "alpha": self.ranking.alpha,
                "generated_at": self.generated_at.isoformat(timespec="seconds"), "entries": rows,
                "not_ranked": [{"team": e.team, "submission": e.submission, "status": e.status, "reasons": e.reasons,
                                "entry_id": e.id, "run_id": e.run_id} for e in self.not_ranked],
                "runs": [{"run_id": r.id, "started_at": r.started_at.isoformat(timespec="seconds"),
                          "settings": r.settings, "load_average_start": r.environment.get("load_average_start"),
                          "load_average_end": r.environment.get("load_average_end"),
                          "warnings": r.environment.get("warnings", [])} for r in self.runs],
                "warnings": self.warnings}

    @property
    def warnings(self) -> list[str]:
        """The busy-machine and instability warnings of the runs behind the board, each naming its run."""
        return [f"run {r.id}: {w}" for r in self.runs for w in r.environment.get("warnings", [])]

    def _label(self, key: str) -> str:
        return next(row.label for row in self.rows if row.key == key)


def _key(entry: EntryRecord) -> str:
    return f"entry-{entry.id}" if entry.id is not None else f"{entry.team}/{entry.submission}"


def rank_entries(event: str, entries: list[EntryRecord], references: dict[int | None, EntryRecord], labels,
                 alpha: float = ALPHA) -> tuple[list[BoardRow], Ranking]:
    """Score and rank valid entries; `references[run_id]` is the baseline measured with each entry.

    Args:
        labels: the test-set labels the entries' predictions answer (TinyDigits test labels).
    """
    labels = np.asarray(labels)
    accuracy_only = scored_metrics(event) == ("accuracy",)
    rows: list[BoardRow] = []
    correct: dict[str, np.ndarray] = {}
    for entry in entries:
        measured, baseline = entry.measured, references[entry.run_id].measured
        key = _key(entry)
        scores = process_scores(event, baseline, measured)
        if accuracy_only:
            low, high = wilson_interval(measured.correct, measured.samples)
            base = baseline.accuracy
            score, score_low, score_high = measured.accuracy / base, low / base, high / base
            how = "Wilson 95% interval of the accuracy over the test images, divided by the baseline's accuracy"
        else:
            score, score_low, score_high = t_interval_of_logs(scores)
            how = f"95% t interval across {len(scores)} processes (log scale)"
        correct[key] = np.asarray(entry.predictions) == labels
        rows.append(BoardRow(key, entry, [float(s) for s in scores], score, score_low, score_high, how,
                             t_interval_of_logs(measured.per_process("latency")),
                             float(np.mean(measured.per_process("memory"))),
                             (measured.accuracy, *wilson_interval(measured.correct, measured.samples))))
    by_key = {row.key: row for row in rows}

    def test(a: str, b: str):
        if accuracy_only:
            return mcnemar_test(correct[a], correct[b])
        ea, eb = by_key[a].entry, by_key[b].entry
        paired = ea.run_id == eb.run_id and len(by_key[a].process_scores) == len(by_key[b].process_scores)
        return log_score_test(by_key[a].process_scores, by_key[b].process_scores, paired)

    ranking = noise_aware_ranking({row.key: row.score for row in rows}, test, alpha)
    for placement in ranking.placements:
        by_key[placement.key].placement = placement
    rows = [by_key[p.key] for p in ranking.placements]
    return rows, ranking


def build_board(database: Database, event: str, alpha: float = ALPHA) -> Board:
    """The event's board from the database (an empty board if nothing valid was recorded yet)."""
    from tinytorch.benchmarking.benchmark import OlympicEvent
    from tinytorch.datasets.tinydigits import load_tinydigits

    entries, references = database.board_entries(event)
    entries = [e for e in entries if e.run_id in references]
    rows, ranking = rank_entries(event, entries, references, load_tinydigits().y_test, alpha)
    latest = database.latest_per_team(event)
    for row in rows:
        newest = latest.get(row.entry.team)
        if not row.entry.is_reference and newest is not None and newest.id != row.entry.id:
            row.note = (f"a newer entry (run {newest.run_id}) is {newest.status}: "
                        f"{'; '.join(newest.reasons)[:300]}")
    runs = database.runs(event)
    not_ranked = []
    if runs:
        not_ranked = [e for e in database.run(runs[-1].id).entries if e.status != "valid"]
    rules = OlympicEvent(event)
    used = sorted({e.run_id for e in entries})
    return Board(event, rules.objective.description, [str(c) for c in rules.constraints], rows, ranking,
                 [r for r in runs if r.id in used], not_ranked)
