"""Real services for the Olympics tests: a throw-away PostgreSQL cluster and a headless Chromium.

Both are Debian packages that `make test-services` (part of `make test`) installs. Nothing is mocked:
the cluster is initdb'd in a temporary folder, started on a free port and stopped at the end; the
browser is Debian's chromium driven by selenium through Debian's chromium-driver.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tito.olympics.database import EntryRecord, RunRecord

INSTALL_HINT = "run `make test-services` (as root on Debian: apt-get install postgresql chromium chromium-driver)"


def _postgres_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    pytest.fail(f"the PostgreSQL server programs (initdb, pg_ctl) are not installed; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster of our own: `(host, port)`. initdb refuses root, so as root the server runs
    as the `postgres` user the Debian package creates."""
    bindir = _postgres_bindir()
    base = Path(tempfile.mkdtemp(prefix="olympics-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def run(*args):
        return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, env=env)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start")
    except subprocess.CalledProcessError as error:
        log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {error.stderr or error.stdout}\n{log[-2000:]}")
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(base, ignore_errors=True)


_database_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test cluster."""
    import psycopg

    host, port = postgres_server
    name = f"olympics_test_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each database test runs on a SQLite file and on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "olympics.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's chromium, headless, driven through Debian's chromium-driver; browser console logs kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")
    if not Path(chromium).exists() or driver is None:
        pytest.fail(f"chromium and chromedriver are not installed; {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1400,2400",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's own sandbox cannot start as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture(scope="session")
def test_labels():
    from tinytorch.datasets.tinydigits import load_tinydigits

    return load_tinydigits().y_test


@pytest.fixture
def make_entry(test_labels):
    """`make_entry(team, latency_ms, ...)`: an entry with made-up values (see `fake_entry`)."""
    return lambda *args, **kwargs: fake_entry(*args, labels=test_labels, **kwargs)


@pytest.fixture
def make_run():
    return fake_run


def fake_entry(team: str, latency_ms: float, *, accuracy_correct: int = 193, memory_kb: float = 1.6,
               processes: int = 6, runs: int = 5, spread: float = 0.02, seed: int = 0, status: str = "valid",
               is_reference: bool = False, labels=None) -> EntryRecord:
    """An entry with made-up values, for tests of storage, ranking and rendering only (never reported as
    a measurement). Latency varies by `spread` (relative) from process to process."""
    rng = np.random.default_rng(seed)
    per_process = latency_ms * np.exp(rng.normal(0, spread, processes))
    latency = [list(map(float, centre * np.exp(rng.normal(0, spread / 2, runs)))) for centre in per_process]
    labels = np.arange(200) % 10 if labels is None else np.asarray(labels)
    predictions = labels.copy()
    predictions[: 200 - accuracy_correct] = (labels[: 200 - accuracy_correct] + 1) % 10
    return EntryRecord(team, f"{team}-submission", status, [] if status == "valid" else ["made up: breaks a rule"],
                       is_reference=is_reference, model_sha256=f"{seed:064x}", model_bytes=10_000,
                       correct=accuracy_correct, samples=200, predictions=predictions.tolist(), latency_ms=latency,
                       calls_per_block=[128] * processes, memory_mb=[[memory_kb / 1024] * runs] * processes,
                       model_size_mb=0.009, library_score=1.0)


def fake_run(event: str, entries: list[EntryRecord], started=None) -> RunRecord:
    from datetime import datetime, timezone

    started = started or datetime(2026, 1, 1, tzinfo=timezone.utc)
    return RunRecord(event, started, started, {"processes": 6, "method": "made-up values for a test"},
                     {"load_average_start": [0.1, 0.1, 0.1]}, [{"index": i, "ok": True} for i in range(6)], entries)
