"""``corespond link csv``: anyone's spreadsheet in, a person id per row out, junk inert."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from typer.testing import CliRunner

from corespond.cli.main import app
from support.person_rows import HEADER, synthetic_rows


def test_a_spreadsheet_is_linked_and_placeholders_never_link_strangers(tmp_path: Path) -> None:
    rows, truth = synthetic_rows(random.Random(3))
    hostile = [
        # Strangers sharing only junk: SSN 000-00-0000 / 123-45-6789, DOB 1900-01-01 and 01/01.
        ["junk-1", "Zed", "", "Alpha", "1900-01-01", "M", "000-00-0000", "", "", "", "", ""],
        ["junk-2", "Yan", "", "Beta", "1900-01-01", "M", "000-00-0000", "", "", "", "", ""],
        ["junk-3", "", "", "", "1971-01-01", "", "123-45-6789", "0000000000", "", "", "", ""],
        ["junk-4", "", "", "", "1971-01-01", "", "123-45-6789", "0000000000", "", "", "", ""],
        ["junk-5", "Xi", "", "Gamma", "not a date", "", "", "", "", "", "", ""],
    ]
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows, *hostile])
    out = tmp_path / "persons.csv"

    result = CliRunner().invoke(app, ["link", "csv", str(source), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert f"line {len(rows) + 1 + len(hostile)}: dob: not a date" in result.output
    with out.open(newline="") as handle:
        linked = list(csv.DictReader(handle))
    assert [row["record_id"] for row in linked] == [row[0] for row in rows + hostile]
    person = {row["record_id"]: row["person_id"] for row in linked}
    junk = [person[f"junk-{n}"] for n in range(1, 6)]
    assert len(set(junk)) == 5  # nobody linked through junk
    assert not set(junk) & {person[r] for r in truth}
    same = sum(
        person[a] == person[b] for a in truth for b in truth if a < b and truth[a] == truth[b]
    )
    together = sum(1 for a in truth for b in truth if a < b and truth[a] == truth[b])
    wrong = sum(
        person[a] == person[b] for a in truth for b in truth if a < b and truth[a] != truth[b]
    )
    assert same / together >= 0.95 and wrong == 0
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rows"] == len(rows) + len(hostile)
    assert summary["unlinkable"] >= 2  # junk-3 and junk-4 have nothing left to match on


def test_a_file_that_is_not_a_person_csv_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "calls.csv"
    source.write_text("event,priority\n1,2\n")

    result = CliRunner().invoke(app, ["link", "csv", str(source), "--out", str(tmp_path / "o.csv")])

    assert result.exit_code == 2
    assert "names none of the columns" in result.output


def test_a_repeated_record_id_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "dupes.csv"
    source.write_text("record_id,first_name,last_name\n1,Ana,Reyes\n1,Ana,Reyes\n")

    result = CliRunner().invoke(app, ["link", "csv", str(source), "--out", str(tmp_path / "o.csv")])

    assert result.exit_code == 2
    assert "record_id '1' appears twice" in result.output
