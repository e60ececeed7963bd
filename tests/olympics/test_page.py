"""The results page, opened in a real headless Chromium (Debian's, through chromium-driver)."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest
from selenium.webdriver.common.by import By

from tito.olympics.board import build_board
from tito.olympics.database import Database
from tito.olympics.html import pareto_png, render_page, write_page

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ATTACK = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"


@pytest.fixture
def board(tmp_path, make_entry, make_run):
    """A board of eight teams, two of them tied, an attacker's team name, and an invalid entry."""
    with Database(str(tmp_path / "olympics.db")) as db:
        entries = [make_entry("reference", 0.010, is_reference=True)]
        teams = [("foxes", 0.005, 190), ("owls", 0.005, 192), ("bats", 0.012, 188), ("moles", 0.007, 185),
                 ("crows", 0.009, 193), (ATTACK, 0.006, 191), ("hares", 0.0045, 186)]
        for i, (team, latency, correct) in enumerate(teams):
            entries.append(make_entry(team, latency, accuracy_correct=correct, seed=i + 1))
        entries.append(make_entry("cheats", 0.002, accuracy_correct=120, seed=42, status="invalid"))
        db.record_run(make_run("latency_sprint", entries))
        return build_board(db, "latency_sprint")


def test_page_in_chromium(board, tmp_path, browser):
    page = write_page(board, tmp_path / "site")
    assert page.name == "latency_sprint.html"
    browser.get_log("browser")  # drop anything logged before this page
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table#leaderboard tbody tr")
    assert len(rows) == len(board.rows) == 8, "one row per valid entry (the reference included)"
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[0].text == "1" and first[2].text == board.rows[0].label
    image = browser.find_element(By.CSS_SELECTOR, "figure img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 400
    assert browser.title == "TorchPerf Olympics: latency_sprint", "the attacker's script did not run"
    assert ATTACK in browser.find_element(By.ID, "leaderboard").text, "the team name shows as text"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    not_ranked = browser.find_elements(By.CSS_SELECTOR, "#not-ranked-table tbody tr")
    assert len(not_ranked) == 1 and "cheats" in not_ranked[0].text
    details = browser.find_element(By.ID, board.rows[-1].key)
    assert details.tag_name == "details"
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("data:", "#")):
                self.external.append(value)


def test_the_page_needs_nothing_from_outside(board):
    collector = _Collector()
    collector.feed(render_page(board))
    assert collector.external == [] and collector.scripts == 0


def test_the_page_says_how_it_ranks_and_how_sure(board):
    text = render_page(board)
    assert "Holm" in text and "places" in text and "plain rank" in text
    tied = [row for row in board.rows if "-" in row.placement.places]
    assert tied, "made-up data with two entries at 0.005 ms gives a shared place"
    assert f"<td>{tied[0].placement.places}</td>" in text


def test_pareto_plot_is_a_png(board):
    data = pareto_png(board)
    assert data.startswith(PNG_MAGIC)
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', render_page(board)).group(1)
    assert base64.b64decode(embedded).startswith(PNG_MAGIC)


def test_an_empty_board_renders(tmp_path):
    with Database(str(tmp_path / "empty.db")) as db:
        text = render_page(build_board(db, "memory_challenge"))
    assert "0 ranked entries" in text and text.count("<tr id=") == 0


def test_a_run_on_a_busy_machine_is_flagged_on_the_page_the_json_and_the_cli(tmp_path, make_entry, make_run, capsys):
    from tito.main import main

    with Database(str(tmp_path / "olympics.db")) as db:
        run = make_run("latency_sprint", [make_entry("reference", 0.010, is_reference=True), make_entry("foxes", 0.005)])
        run.environment["warnings"] = ["other processes used 1.9 core(s) on average while this ran"]
        db.record_run(run)
        busy = build_board(db, "latency_sprint")
    assert busy.warnings == [f"run {busy.runs[0].id}: other processes used 1.9 core(s) on average while this ran"]
    assert busy.to_json()["warnings"] == busy.warnings
    page = render_page(busy)
    assert 'id="warnings"' in page and "These results may not hold" in page and "1.9 core(s)" in page
    assert main(["olympics", "leaderboard", "latency_sprint", "--db", str(tmp_path / "olympics.db")]) == 0
    assert "warning: run" in capsys.readouterr().err


def test_a_quiet_run_has_no_warning_box(board):
    assert board.warnings == [] and 'id="warnings"' not in render_page(board)
