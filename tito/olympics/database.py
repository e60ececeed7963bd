"""The leaderboard's database, through SQLAlchemy: a SQLite file by default, PostgreSQL for a course server.

Two tables: a run (an event measured once: when, how, on what machine, each process's outcome) and
its entries (one per submission: team, model hash, verdict with reasons, and the raw measured values).
Runs only append; nothing is updated or deleted. Statistics are derived from the raw values on read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from .scoring import Measured

SCHEMA_VERSION = "1"
STATUSES = ("valid", "invalid", "rejected")


class DatabaseError(Exception):
    """The database cannot be used; the message names it (password hidden) and the cause."""


class _Base(DeclarativeBase):
    pass


class _Meta(_Base):
    __tablename__ = "olympics_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class _Run(_Base):
    __tablename__ = "olympics_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settings: Mapped[dict] = mapped_column(JSON)
    environment: Mapped[dict] = mapped_column(JSON)
    processes: Mapped[list] = mapped_column(JSON)
    entries: Mapped[list[_Entry]] = relationship(back_populates="run", order_by="_Entry.id")


class _Entry(_Base):
    __tablename__ = "olympics_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("olympics_run.id"), index=True)
    run: Mapped[_Run] = relationship(back_populates="entries")
    team: Mapped[str] = mapped_column(String(64), index=True)
    submission: Mapped[str] = mapped_column(String(255))
    is_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    model_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    samples: Mapped[int | None] = mapped_column(Integer, nullable=True)
    predictions: Mapped[list | None] = mapped_column(JSON, nullable=True)
    latency_ms: Mapped[list | None] = mapped_column(JSON, nullable=True)
    calls_per_block: Mapped[list | None] = mapped_column(JSON, nullable=True)
    memory_mb: Mapped[list | None] = mapped_column(JSON, nullable=True)
    model_size_mb: Mapped[float | None] = mapped_column(Float, nullable=True)
    library_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    single_inference_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


@dataclass
class EntryRecord:
    """One entry of a run, as written and as read back (then with `id` and `run_id`)."""

    team: str
    submission: str
    status: str  # "valid", "invalid" (measured, breaks a rule) or "rejected" (could not be measured)
    reasons: list[str]
    is_reference: bool = False
    submitted_at: datetime | None = None
    model_sha256: str | None = None
    model_bytes: int | None = None
    correct: int | None = None
    samples: int | None = None
    predictions: list[int] | None = None
    latency_ms: list[list[float]] | None = None  # per process, per block
    calls_per_block: list[int] | None = None  # per process
    memory_mb: list[list[float]] | None = None  # per process, per traced inference
    model_size_mb: float | None = None
    library_score: float | None = None
    single_inference_ms: float | None = None
    id: int | None = None
    run_id: int | None = None

    @property
    def measured(self) -> Measured | None:
        if self.latency_ms is None or self.memory_mb is None or self.correct is None or not self.samples:
            return None
        return Measured(self.latency_ms, self.memory_mb, self.correct, self.samples)


@dataclass
class RunRecord:
    event: str
    started_at: datetime
    finished_at: datetime
    settings: dict
    environment: dict
    processes: list[dict]
    entries: list[EntryRecord] = field(default_factory=list)
    id: int | None = None


_ENTRY_FIELDS = [f.name for f in fields(EntryRecord) if f.name not in ("id", "run_id")]


def _jsonable(value):
    """Plain JSON values (PostgreSQL's json refuses NaN): non-finite floats become None, the rest str."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return str(value)


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every time stored here is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def database_url(value: str) -> str:
    """A SQLAlchemy URL from `--db`: a file path means SQLite; `postgresql://` uses psycopg 3."""
    if "://" not in value:
        path = Path(value).expanduser().resolve()
        if not path.parent.is_dir():
            raise DatabaseError(f"cannot create the database {path}: folder {path.parent} does not exist")
        return f"sqlite:///{path}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return value


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


class Database:
    """The Olympics database at `url` (a path or a SQLAlchemy URL); tables are created when missing."""

    def __init__(self, url: str):
        self.url = database_url(url)
        try:
            options = {"connect_args": {"timeout": 30}} if self.url.startswith("sqlite") else {}
            self.engine = create_engine(self.url, **options)
            _Base.metadata.create_all(self.engine)
            with Session(self.engine) as session, session.begin():
                version = session.get(_Meta, "schema_version")
                if version is None:
                    session.add(_Meta(key="schema_version", value=SCHEMA_VERSION))
                elif version.value != SCHEMA_VERSION:
                    raise DatabaseError(f"database {_shown(self.url)} has Olympics schema version {version.value}; "
                                        f"this tito uses {SCHEMA_VERSION}: use the tito version that made it")
        except (SQLAlchemyError, ArgumentError, ImportError) as error:
            raise DatabaseError(f"cannot open the database {_shown(self.url)}: {type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else ''}") from None

    @property
    def shown_url(self) -> str:
        return _shown(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record_run(self, run: RunRecord) -> int:
        """Store a run and its entries in one transaction; return the run's id."""
        for entry in run.entries:
            if entry.status not in STATUSES:
                raise ValueError(f"entry status {entry.status!r} is not one of {STATUSES}")
        row = _Run(event=run.event, started_at=_utc(run.started_at), finished_at=_utc(run.finished_at),
                   settings=_jsonable(run.settings), environment=_jsonable(run.environment),
                   processes=_jsonable(run.processes))
        for entry in run.entries:
            values = {name: getattr(entry, name) for name in _ENTRY_FIELDS}
            for name in ("reasons", "predictions", "latency_ms", "calls_per_block", "memory_mb"):
                values[name] = _jsonable(values[name])
            values["submitted_at"] = _utc(values["submitted_at"])
            row.entries.append(_Entry(**values))
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()
                run.id = row.id
                for entry, stored in zip(run.entries, row.entries):
                    entry.id, entry.run_id = stored.id, row.id
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot write the run to {self.shown_url}: {type(error).__name__}: {error}") from None
        return run.id

    @staticmethod
    def _entry(row: _Entry) -> EntryRecord:
        values = {name: getattr(row, name) for name in _ENTRY_FIELDS}
        values["submitted_at"] = _utc(values["submitted_at"])
        return EntryRecord(**values, id=row.id, run_id=row.run_id)

    @staticmethod
    def _run(row: _Run, with_entries: bool) -> RunRecord:
        entries = [Database._entry(e) for e in row.entries] if with_entries else []
        return RunRecord(row.event, _utc(row.started_at), _utc(row.finished_at), row.settings, row.environment,
                         row.processes, entries, id=row.id)

    def run(self, run_id: int) -> RunRecord:
        with Session(self.engine) as session:
            row = session.get(_Run, run_id)
            if row is None:
                raise DatabaseError(f"{self.shown_url} has no run {run_id}")
            return self._run(row, with_entries=True)

    def runs(self, event: str) -> list[RunRecord]:
        """The event's runs, oldest first, without their entries."""
        with Session(self.engine) as session:
            rows = session.scalars(select(_Run).where(_Run.event == event).order_by(_Run.id)).all()
            return [self._run(row, with_entries=False) for row in rows]

    def board_entries(self, event: str) -> tuple[list[EntryRecord], dict[int, EntryRecord]]:
        """Each team's latest valid entry, the latest valid reference, and the reference of every run involved.

        Returns:
            `(entries, references)`: entries best-known first by id; `references` maps run id -> that run's
            reference entry (scores are ratios to the baseline measured in the same processes).
        """
        with Session(self.engine) as session:
            valid = (select(func.max(_Entry.id)).join(_Run).where(_Run.event == event, _Entry.status == "valid")
                     .group_by(_Entry.is_reference, _Entry.team))
            ids = list(session.scalars(valid))
            rows = session.scalars(select(_Entry).where(_Entry.id.in_(ids)).order_by(_Entry.id)).all() if ids else []
            entries = [self._entry(row) for row in rows]
            references = [e for e in entries if e.is_reference]
            entries = [e for e in entries if not e.is_reference] + references[-1:]
            run_ids = {e.run_id for e in entries}
            refs = session.scalars(select(_Entry).where(_Entry.run_id.in_(run_ids), _Entry.is_reference.is_(True),
                                                        _Entry.status == "valid")).all() if run_ids else []
            return entries, {row.run_id: self._entry(row) for row in refs}

    def latest_per_team(self, event: str) -> dict[str, EntryRecord]:
        """Each team's latest entry of any status (to say when it is not the one on the board)."""
        with Session(self.engine) as session:
            latest = (select(func.max(_Entry.id)).join(_Run)
                      .where(_Run.event == event, _Entry.is_reference.is_(False)).group_by(_Entry.team))
            ids = list(session.scalars(latest))
            rows = session.scalars(select(_Entry).where(_Entry.id.in_(ids))).all() if ids else []
            return {row.team: self._entry(row) for row in rows}
