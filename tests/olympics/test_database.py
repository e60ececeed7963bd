"""The leaderboard database, on a SQLite file and on a real PostgreSQL server (see conftest.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from tito.olympics.board import build_board
from tito.olympics.database import Database, DatabaseError, database_url

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_a_run_reads_back_as_written(db_url, make_entry, make_run):
    with Database(db_url) as db:
        entries = [make_entry("reference", 0.010, is_reference=True), make_entry("foxes", 0.005, seed=1)]
        entries[1].submitted_at = T0
        run = make_run("latency_sprint", entries, started=T0)
        run_id = db.record_run(run)
        assert run_id == run.id and [e.run_id for e in entries] == [run_id] * 2
        stored = db.run(run_id)
    assert stored.started_at == T0 and stored.event == "latency_sprint" and stored.settings["processes"] == 6
    back = {e.team: e for e in stored.entries}
    assert back["foxes"].latency_ms == entries[1].latency_ms, "raw values survive exactly"
    assert back["foxes"].predictions == entries[1].predictions and back["foxes"].submitted_at == T0
    assert back["reference"].is_reference and back["reference"].submitted_at is None
    assert back["foxes"].id == entries[1].id


def test_reruns_append_and_the_board_shows_each_teams_latest_valid_entry(db_url, make_entry, make_run):
    with Database(db_url) as db:
        db.record_run(make_run("latency_sprint", [make_entry("reference", 0.010, is_reference=True),
                                                  make_entry("foxes", 0.005, seed=1),
                                                  make_entry("owls", 0.008, seed=2)]))
        db.record_run(make_run("latency_sprint", [make_entry("reference", 0.010, is_reference=True, seed=3),
                                                  make_entry("foxes", 0.004, seed=4),
                                                  make_entry("owls", 0.002, seed=5, status="invalid")]))
        db.record_run(make_run("memory_challenge", [make_entry("reference", 0.010, is_reference=True),
                                                    make_entry("bats", 0.001)]))
        assert [r.id for r in db.runs("latency_sprint")] == [1, 2]
        entries, references = db.board_entries("latest_sprint_typo")
        assert entries == [] and references == {}
        board = build_board(db, "latency_sprint")
    teams = {row.label: row for row in board.rows}
    assert set(teams) == {"foxes", "owls", "reference (tinydigits_mlp baseline)"}
    assert teams["foxes"].entry.run_id == 2, "the latest valid entry"
    assert teams["owls"].entry.run_id == 1, "the newer owls entry is invalid, so the older valid one stays"
    assert "a newer entry (run 2) is invalid" in teams["owls"].note
    assert teams["reference (tinydigits_mlp baseline)"].entry.run_id == 2
    assert [e.team for e in board.not_ranked] == ["owls"]
    # owls (run 1) and foxes (run 2) were measured in different runs: compared with Welch's test
    pair = next(c for c in board.ranking.comparisons
                if {c.first, c.second} == {teams["owls"].key, teams["foxes"].key})
    assert "Welch" in pair.test


def test_the_board_ranks_with_ties(db_url, make_entry, make_run):
    with Database(db_url) as db:
        db.record_run(make_run("latency_sprint", [
            make_entry("reference", 0.010, is_reference=True), make_entry("twin-a", 0.005, seed=1),
            make_entry("twin-b", 0.005, seed=2), make_entry("slow", 0.020, seed=3)]))
        board = build_board(db, "latency_sprint")
    ranks = {row.label: (row.placement.rank, row.placement.places) for row in board.rows}
    assert ranks["twin-a"][0] == ranks["twin-b"][0] == 1 and ranks["twin-a"][1] == "1-2"
    assert ranks["slow"] == (4, "4")
    data = board.to_json()
    assert [e["team"] for e in data["entries"]][-1] == "slow" and "Holm" in data["ranking_method"]
    assert data["entries"][0]["raw"]["latency_ms"], "the raw values travel with the board"


def test_an_empty_board(db_url):
    with Database(db_url) as db:
        board = build_board(db, "all_around")
    assert board.rows == [] and board.not_ranked == [] and board.to_json()["entries"] == []


def test_unknown_status_is_refused_before_writing(db_url, make_entry, make_run):
    with Database(db_url) as db:
        with pytest.raises(ValueError, match="status 'maybe'"):
            db.record_run(make_run("latency_sprint", [make_entry("x", 1.0, status="maybe")]))
        assert db.runs("latency_sprint") == []


def test_a_database_of_another_schema_version_is_named(db_url):
    Database(db_url).close()
    engine = create_engine(database_url(db_url))
    with engine.begin() as connection:
        connection.execute(text("UPDATE olympics_meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="schema version 99; this tito uses 1"):
        Database(db_url)


def test_hostile_team_names_are_data(db_url, make_entry, make_run):
    team = "x'); DROP TABLE olympics_entry; --"
    with Database(db_url) as db:
        db.record_run(make_run("latency_sprint", [make_entry("reference", 0.01, is_reference=True),
                                                  make_entry(team, 0.01)]))
        assert team in {row.label for row in build_board(db, "latency_sprint").rows}


def test_unreachable_server_hides_the_password(postgres_server):
    host, _ = postgres_server
    with pytest.raises(DatabaseError, match=r"cannot open the database postgresql\+psycopg://olympics:\*\*\*@"):
        Database(f"postgresql://olympics:s3cret@{host}:1/olympics")


def test_sqlite_path_in_a_missing_folder(tmp_path):
    with pytest.raises(DatabaseError, match="folder .*nowhere does not exist"):
        Database(str(tmp_path / "nowhere" / "olympics.db"))


def test_urls():
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
