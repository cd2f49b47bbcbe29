"""The jurisdiction file: agencies, source systems, beats and programs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.sources.base import ReadOptions, Rejection, SourceError, SourceRow
from corespond.sources.jurisdiction import JurisdictionAdapter, load_jurisdiction
from corespond.sources.records import AgencyIn, BeatIn, ProgramIn

GOOD = """\
jurisdiction: Testville
timezone: America/Chicago
agencies:
  - key: tv-pd
    name: Testville Police
    kind: police
    sources:
      - {name: Testville RMS, format: rms-csv, path: rms}
beats:
  - {beat: N1, sector: N, precinct: North}
programs:
  - {key: care, name: CARE, agency: tv-pd, type: co_response, start_date: 2025-06-01,
     beats: [N1], hours: [7, 23]}
"""


def read(text: str, tmp_path: Path) -> list[SourceRow | Rejection]:
    path = tmp_path / "jurisdiction.yaml"
    path.write_text(text)
    return list(JurisdictionAdapter().read(path, ReadOptions()))


def test_a_jurisdiction_yields_agencies_beats_and_programs(tmp_path: Path) -> None:
    items = read(GOOD, tmp_path)

    records = [record for item in items if isinstance(item, SourceRow) for record in item.records]
    agency, beat, program = records
    assert isinstance(agency, AgencyIn) and agency.source_key == "tv-pd"
    assert isinstance(beat, BeatIn) and beat.precinct == "North"
    assert isinstance(program, ProgramIn)
    assert (program.start_date, program.beats, program.hours_start) == (
        date(2025, 6, 1),
        ("N1",),
        7,
    )
    assert load_jurisdiction(tmp_path / "jurisdiction.yaml").zone.key == "America/Chicago"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD.replace("America/Chicago", "Mars/Olympus"), "unknown time zone"),
        (GOOD.replace("kind: police", "kind: wizards"), "agencies.0.kind"),
        (GOOD.replace("start_date: 2025-06-01", "start_date: 2025-02-30"), "day is out of range"),
        (GOOD + "surprise: 1\n", "surprise"),
        ("jurisdiction: [unclosed", "cannot read"),
    ],
)
def test_a_bad_jurisdiction_is_one_rejection_that_says_why(
    tmp_path: Path, text: str, problem: str
) -> None:
    [item] = read(text, tmp_path)

    assert isinstance(item, Rejection)
    assert problem in item.reason
    assert item.raw == text
    with pytest.raises(SourceError, match=problem.split(".")[0]):  # the same words on the CLI
        load_jurisdiction(tmp_path / "jurisdiction.yaml")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jurisdiction.yaml"
        path.write_bytes(data)
        items = list(JurisdictionAdapter().read(path, ReadOptions()))
    assert all(isinstance(item, SourceRow | Rejection) for item in items)
