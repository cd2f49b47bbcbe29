"""The ingest command as a user runs it: JSON summary, clear errors, the quarantine listing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from corespond.cli.main import app

runner = CliRunner()
CAD = (
    "CAD Event Number,Call Type,Priority,CAD Event Original Time Queued,Dispatch Beat,"
    "Call Sign Dispatch ID,Call Sign Type\n"
    "E-1,911,1,2025-01-05T08:00:00,N1,1A1,POLICE\n"
    "E-2,PIGEON,1,2025-01-05T08:05:00,N1,1A2,POLICE\n"
    "E-3,ONVIEW,3,2025-01-05T08:09:00,N1,,\n"
)


def test_json_summary_counts_every_row_per_file(store: Engine, tmp_path: Path) -> None:
    cad = tmp_path / "calls.csv"
    cad.write_text(CAD)

    result = runner.invoke(app, ["ingest", str(cad), "--source", "CLI CAD", "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {key: summary[key] for key in ("read", "stored", "unchanged", "quarantined")} == {
        "read": 3,
        "stored": 2,
        "unchanged": 0,
        "quarantined": 1,
    }
    [file] = summary["files"]
    assert file["path"] == str(cad) and file["quarantined"] == 1

    listing = runner.invoke(app, ["ingest", "quarantine", "--json"])
    [row] = [json.loads(line) for line in listing.stdout.splitlines()]
    assert "PIGEON" in row["reason"] and row["raw"].startswith("E-2,PIGEON")


def test_a_missing_path_is_a_clear_error(store: Engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.csv")])

    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_an_undetectable_file_asks_for_a_format(store: Engine, tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("just some words\n")

    result = runner.invoke(app, ["ingest", str(odd)])

    assert result.exit_code == 2
    assert "--format" in result.output


def test_python_dash_m_corespond_shows_the_commands() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "corespond", "--help"], capture_output=True, text=True, check=True
    )

    for command in ("ingest", "db", "demo", "serve"):
        assert command in result.stdout


def test_quarantine_listing_shows_source_text_as_text(store: Engine, tmp_path: Path) -> None:
    cad = tmp_path / "calls.csv"
    cad.write_text(CAD.replace("E-2,PIGEON,1", "E-2,[/b][red],1"))
    runner.invoke(app, ["ingest", str(cad), "--source", "CLI CAD"])

    listing = runner.invoke(app, ["ingest", "quarantine"])

    assert listing.exit_code == 0, listing.output
    assert "[/b][red]" in listing.output
