"""``corespond outcomes`` as a program manager's script runs it: refresh, evaluate, report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine
from typer.testing import CliRunner

from corespond.cli.main import app
from corespond.config import get_settings
from support.calls_by_hand import DAY, City

runner = CliRunner()


@pytest.fixture
def city(store: Engine) -> Iterator[City]:
    yield City()


def test_refresh_evaluate_and_report(city: City, tmp_path: Path) -> None:
    run = city.run("cad")
    for week in range(-6, 6):  # around the program start, 2024-01-01
        city.call(run, at=DAY + timedelta(weeks=week), beat="B1")
        city.call(run, at=DAY + timedelta(weeks=week), beat="B2")

    refreshed = runner.invoke(app, ["outcomes", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "24 call(s) rebuilt" in refreshed.output
    assert "0 call(s)" in runner.invoke(app, ["outcomes", "refresh"]).output
    assert "24 call(s)" in runner.invoke(app, ["outcomes", "refresh", "--full"]).output

    evaluated = runner.invoke(app, ["outcomes", "evaluate", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    answer = json.loads(evaluated.stdout)
    assert answer["program"] == {
        "name": "Test CARE", "start": "2024-01-01", "beats": ["B1"], "hours": [7, 23],
    }  # fmt: skip
    assert {item["metric"] for item in answer["results"]} == {
        "arrests_eligible", "citations_eligible", "holds_eligible", "er_transports",
    }  # fmt: skip
    # Twelve weeks of calls without one arrest: nothing to estimate, and it says so.
    assert all(item["did"] is None and item["problems"] for item in answer["results"])
    assert all("not evaluated" in finding for finding in answer["findings"][:4])

    out = tmp_path / "council.pdf"
    written = runner.invoke(
        app, ["outcomes", "report", "--from", "2023-12-01", "--to", "2024-02-15", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Test CARE" in text and "What changed" in text


def test_a_bad_definitions_file_is_refused_by_name(
    city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = tmp_path / "definitions.yaml"
    wrong.write_text("eligible_categories: [welfare]\nbehavioral_categories: []\n"
                     "community_sources: ['911']\nprivacy: {min_cell: 0}\n")  # fmt: skip
    monkeypatch.setenv("CORESPOND_OUTCOME_DEFINITIONS", str(wrong))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["outcomes", "evaluate"])
    finally:
        monkeypatch.delenv("CORESPOND_OUTCOME_DEFINITIONS")
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "privacy.min_cell" in result.output


def test_evaluating_an_empty_store_says_what_is_missing(city: City) -> None:
    result = runner.invoke(app, ["outcomes", "evaluate"])
    assert result.exit_code == 2
    assert "no call facts yet" in result.output
