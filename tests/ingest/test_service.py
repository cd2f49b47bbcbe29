"""Ingest guarantees: every row accounted for, idempotent re-import, references, quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.crypto import FieldCipher
from corespond.db.engine import session_factory, unit_of_work
from corespond.ingest import service
from corespond.ingest.schemas import IngestReport
from corespond.ingest.tables import SSN_CONTEXT
from corespond.sources.base import ReadOptions
from corespond.sources.plan import plan_exports

ZONE = "America/Los_Angeles"
"""Where the test exports' wall-clock times are (the settings' default zone)."""

JURISDICTION = """\
jurisdiction: Testville
timezone: America/Los_Angeles
agencies:
  - key: tv-911
    name: Testville 911
    kind: dispatch
    sources:
      - {name: Testville CAD, format: cad-csv, path: cad}
  - key: tv-pd
    name: Testville Police
    kind: police
    sources:
      - {name: Testville RMS, format: rms-csv, path: rms}
beats:
  - {beat: N1, sector: N, precinct: North, neighborhood: Hillcrest}
  - {beat: S1, sector: S, precinct: South, neighborhood: Riverside}
programs:
  - key: tv-care
    name: Testville CARE
    agency: tv-911
    type: co_response
    start_date: 2025-06-01
    beats: [N1]
    hours: [7, 23]
"""

CALL_HEADER = (
    "CAD Event Number,Call Type,Priority,Initial Call Type,Final Call Type,"
    "CAD Event Clearance Description,CAD Event Received Time,CAD Event Original Time Queued,"
    "CAD Event First Dispatch Time,CAD Event Arrived Time,CAD Event Cleared Time,"
    "Dispatch Precinct,Dispatch Sector,Dispatch Beat,Dispatch Neighborhood,Dispatch Address,"
    "Dispatch Latitude,Dispatch Longitude,Call Sign Dispatch ID,Call Sign Type,"
    "Call Sign Dispatch Time,Call Sign En Route Time,Call Sign At Scene Time,"
    "Call Sign In-Service Time"
)


def call_row(event: str, unit: str, *, call_type: str = "911", disposition: str = "REPORT") -> str:
    return (
        f"{event},{call_type},2,CRISIS - PERSON IN CRISIS,CRISIS - PERSON IN CRISIS,{disposition},"
        "06/02/2025 10:00:00 AM,06/02/2025 10:00:30 AM,06/02/2025 10:02:00 AM,"
        "06/02/2025 10:09:00 AM,06/02/2025 11:00:00 AM,North,N,N1,Hillcrest,"
        f"1XX BLOCK OF ELM ST,47.61,-122.33,{unit},POLICE,06/02/2025 10:02:00 AM,"
        "06/02/2025 10:02:30 AM,06/02/2025 10:09:00 AM,06/02/2025 11:00:00 AM"
    )


PERSON_HEADER = (
    "Person ID,Last Name,First Name,Middle Name,Name Suffix,Alias Names,Date of Birth,Sex,Race,"
    "Ethnicity,SSN,Phone,Address,City,State,Zip,Height (in),Weight (lb),Hair Color,Eye Color,"
    "Scars Marks Tattoos"
)
ARREST_HEADER = (
    "ORI,Incident Number,Arrest Transaction Number,Arrestee Sequence Number,Person ID,"
    "Arrest Date,Type of Arrest,UCR Arrest Offense Code,Arrestee Was Armed With,Age,Sex,Race,"
    "Ethnicity,CAD Event Number"
)


def write_city(root: Path, *, calls: list[str], persons: list[str], arrests: list[str]) -> Path:
    (root / "cad").mkdir(parents=True, exist_ok=True)
    (root / "rms").mkdir(parents=True, exist_ok=True)
    (root / "jurisdiction.yaml").write_text(JURISDICTION)
    (root / "cad" / "calls.csv").write_text("\n".join([CALL_HEADER, *calls]) + "\n")
    (root / "rms" / "persons.csv").write_text("\n".join([PERSON_HEADER, *persons]) + "\n")
    (root / "rms" / "arrests.csv").write_text("\n".join([ARREST_HEADER, *arrests]) + "\n")
    return root


def ingest(paths: list[Path], **kwargs: object) -> IngestReport:
    report = IngestReport()
    for task in plan_exports(paths, default_timezone=ZONE, **kwargs):  # type: ignore[arg-type]
        with unit_of_work() as session:
            report.add(service.run(session, task))
    return report


def count(model: type[models.Base]) -> int:
    with session_factory()() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


PERSON_ZED = (
    'P1,Quillon,Zedna,A,,"Quill, Zed",03/04/1981,F,W,N,123-45-6780,5550100,12 Elm St,'
    "Testville,WA,98101,65,140,BRO,BLU,"
)
PERSON_OREN = "P2,Marsh,Oren,,,,11/12/1990,M,B,N,,,,,,,,,,,"
ARREST_ZED = "WA0010000,I-1,A-1,1,P1,06/02/2025 10:30:00 AM,T,13B,01,44,F,W,N,E-100"


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return write_city(
        tmp_path / "city",
        calls=[call_row("E-100", "1A1"), call_row("E-100", "1A2"), call_row("E-101", "2B1")],
        persons=[PERSON_ZED, PERSON_OREN],
        arrests=[ARREST_ZED],
    )


def test_every_row_is_accounted_for_and_references_resolve(store: Engine, city: Path) -> None:
    report = ingest([city])

    assert [run.source for run in report.runs] == ["jurisdiction", "Testville CAD", "Testville RMS"]
    assert report.read == report.stored + report.unchanged + report.quarantined
    assert report.quarantined == 0
    assert count(models.CallForService) == 2
    assert count(models.UnitResponse) == 3
    assert count(models.Agency) == 2 and count(models.Beat) == 2 and count(models.Program) == 1
    with session_factory()() as session:
        arrest = session.scalars(select(models.Arrest)).one()
        call = session.get(models.CallForService, arrest.call_id)
        assert call is not None and call.source_key == "E-100"
        assert call.queued_at is not None and call.queued_at.hour == 17  # 10:00 PDT is 17:00 UTC
        units = session.scalars(select(models.UnitResponse.call_id)).all()
        assert None not in units
        program = session.scalars(select(models.Program)).one()
        assert program.agency_id is not None and program.beats == "N1"
        place = session.scalars(select(models.Place)).one()
        assert place.beat == "N1" and place.street == "1XX BLOCK OF ELM ST"


def test_importing_the_same_files_twice_changes_nothing(store: Engine, city: Path) -> None:
    first = ingest([city])
    with session_factory()() as session:
        before = session.execute(
            select(models.CallForService.id, models.CallForService.content_hash)
        ).all()

    second = ingest([city])

    assert second.read == first.read
    assert second.stored == 0 and second.quarantined == 0
    assert second.unchanged == second.read
    with session_factory()() as session:
        after = session.execute(
            select(models.CallForService.id, models.CallForService.content_hash)
        ).all()
    assert sorted(after) == sorted(before)
    assert count(models.PersonAlias) == 1


def test_a_changed_row_is_updated_in_place(store: Engine, city: Path) -> None:
    ingest([city])
    calls = city / "cad" / "calls.csv"
    calls.write_text(
        calls.read_text()
        .replace("2B1,POLICE", "2B1,CARE")
        .replace(
            "E-101,911,2,CRISIS - PERSON IN CRISIS,CRISIS - PERSON IN CRISIS,REPORT",
            "E-101,911,2,CRISIS - PERSON IN CRISIS,CRISIS - PERSON IN CRISIS,CCR ONLY",
        )
    )

    report = ingest([city / "cad"], source="Testville CAD")

    assert report.stored == 1 and report.unchanged == 2
    assert count(models.CallForService) == 2
    with session_factory()() as session:
        call = session.scalars(
            select(models.CallForService).where(models.CallForService.source_key == "E-101")
        ).one()
        assert call.disposition == "CCR ONLY"
        unit = session.scalars(
            select(models.UnitResponse).where(models.UnitResponse.call_sign == "2B1")
        ).one()
        assert unit.responder_type == "care_team"


def test_a_reference_to_a_missing_person_is_quarantined_verbatim(
    store: Engine, tmp_path: Path
) -> None:
    orphan = "WA0010000,I-2,A-2,1,P404,06/03/2025 09:00:00 AM,S,90C,01,30,M,W,N,"
    root = write_city(tmp_path / "c", calls=[], persons=[PERSON_OREN], arrests=[orphan])

    report = ingest([root])

    assert report.quarantined == 1
    assert count(models.Arrest) == 0
    with session_factory()() as session:
        row = session.scalars(select(models.QuarantinedRow)).one()
        assert "P404" in row.reason and "Testville RMS" in row.reason
        assert service.quarantined_text(row) == orphan


def test_broken_rows_are_kept_with_their_reason(store: Engine, tmp_path: Path) -> None:
    bad_priority = call_row("E-200", "1A1").replace(",2,CRISIS", ",urgent,CRISIS", 1)
    bad_date = call_row("E-201", "1A1").replace("06/02/2025 10:00:30 AM", "02/30/2025 10:00:30 AM")
    short = "E-202,911,2"
    root = write_city(
        tmp_path / "c",
        calls=[call_row("E-199", "1A1"), bad_priority, bad_date, short],
        persons=[],
        arrests=[],
    )

    report = ingest([root / "cad"], source="Testville CAD")

    assert (report.read, report.stored, report.quarantined) == (4, 1, 3)
    with session_factory()() as session:
        rows = session.scalars(select(models.QuarantinedRow).order_by(models.QuarantinedRow.id))
        texts = {service.quarantined_text(row): row.reason for row in rows}
    assert set(texts) == {bad_priority, bad_date, short}
    assert "Priority" in texts[bad_priority]
    assert "fields" in texts[short]


def test_ssns_are_never_stored_in_plain_text(store: Engine, city: Path) -> None:
    ingest([city])

    cipher = FieldCipher.from_settings()
    with Session(store) as session:
        person = session.scalars(
            select(models.PersonRecord).where(models.PersonRecord.source_key == "P1")
        ).one()
        assert person.ssn_encrypted is not None
        assert b"123456780" not in person.ssn_encrypted
        assert b"123-45-6780" not in person.ssn_encrypted
        assert cipher.decrypt(person.ssn_encrypted, context=SSN_CONTEXT) == "123-45-6780"
        assert person.ssn_blind_index == cipher.blind_index("123456780", context=SSN_CONTEXT)
        assert person.ssn_status == "valid"
        # Nothing else in the row holds the digits either.
        for column in models.PersonRecord.__table__.columns:
            value = getattr(person, column.key)
            assert "123456780" not in str(value) and "123-45-6780" not in str(value)


@pytest.mark.parametrize("junk", ["123-45-6789", "000-00-0000", "999-12-3456", "12345"])
def test_junk_ssns_get_no_blind_index(store: Engine, tmp_path: Path, junk: str) -> None:
    person = PERSON_ZED.replace("123-45-6780", junk)
    root = write_city(tmp_path / "c", calls=[], persons=[person], arrests=[])

    ingest([root / "rms"], source="Testville RMS")

    with session_factory()() as session:
        record = session.scalars(select(models.PersonRecord)).one()
    assert record.ssn_blind_index is None
    assert record.ssn_status in {"junk", "malformed"}
    assert record.ssn_encrypted is not None


def test_a_folder_naming_an_unknown_format_fails_before_importing(
    store: Engine, city: Path
) -> None:
    (city / "jurisdiction.yaml").write_text(JURISDICTION.replace("format: rms-csv", "format: xls"))

    result = CliRunner().invoke(app, ["ingest", str(city)])

    assert result.exit_code == 2
    assert "unknown format 'xls'" in result.output
    assert count(models.IngestRun) == 0 and count(models.CallForService) == 0


def test_a_key_repeated_with_other_content_is_an_update_and_the_last_one_wins(
    store: Engine, tmp_path: Path
) -> None:
    first = call_row("E-300", "1A1", disposition="REPORT")
    later = call_row("E-300", "1A1", disposition="NO ACTION")
    root = write_city(tmp_path / "c", calls=[first, later], persons=[], arrests=[])

    report = ingest([root / "cad"], source="Testville CAD")
    again = ingest([root / "cad"], source="Testville CAD")

    assert report.read == 2 and report.quarantined == 0
    assert (again.stored, again.unchanged) == (0, 2)
    with session_factory()() as session:
        call = session.scalars(select(models.CallForService)).one()
    assert call.disposition == "NO ACTION"
    assert call.ingest_run_id == report.runs[0].run_id  # the re-import wrote nothing


@pytest.mark.parametrize("set_lane", [True, False], ids=["lane", "row path"])
def test_a_key_repeated_across_batches_is_unchanged_on_re_import(
    store: Engine, tmp_path: Path, set_lane: bool
) -> None:
    # Five versions of one event, in batches of two rows: a re-import overwrites the stored
    # last version with earlier ones before the last puts it back.
    rows = [call_row("E-500", f"1A{n}", disposition=f"V{n % 3}") for n in range(5)]
    rows.append(call_row("E-501", "2B1"))
    root = write_city(tmp_path / "c", calls=rows, persons=[], arrests=[])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.get_settings(), "ingest_batch_size", 2)
        patch.setattr(service.get_settings(), "ingest_set_lane", set_lane)
        first = ingest([root / "cad"], source="Testville CAD")
        before = calls_as_stored()
        again = ingest([root / "cad"], source="Testville CAD")

    assert (first.read, first.stored) == (6, 6)
    assert (again.read, again.stored, again.unchanged) == (6, 0, 6)
    assert calls_as_stored() == before  # content, run and write time: nothing changed
    assert before[0][1] == "V1"  # the last version of E-500 (V4 % 3)


def calls_as_stored() -> list[tuple[object, ...]]:
    with session_factory()() as session:
        rows = session.execute(
            select(
                models.CallForService.source_key, models.CallForService.disposition,
                models.CallForService.content_hash, models.CallForService.ingest_run_id,
                models.CallForService.updated_at,
            ).order_by(models.CallForService.source_key)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def test_a_stray_quote_rejects_one_row_and_the_rest_are_read(store: Engine, tmp_path: Path) -> None:
    broken = call_row("E-402", "1A1").replace(",N1,", ',"N1"x,', 1)
    rows = [call_row("E-401", "1A1"), broken, call_row("E-403", "1A1"), call_row("E-404", "1A1")]
    root = write_city(tmp_path / "c", calls=rows, persons=[], arrests=[])

    report = ingest([root / "cad"], source="Testville CAD")

    assert (report.read, report.stored, report.quarantined) == (4, 3, 1)
    assert count(models.CallForService) == 3


def test_a_corrected_reference_moves_to_the_right_call(store: Engine, city: Path) -> None:
    calls = city / "cad" / "calls.csv"
    calls.write_text(calls.read_text() + call_row("E-102", "3C1") + "\n")
    ingest([city])
    arrests = city / "rms" / "arrests.csv"
    arrests.write_text(arrests.read_text().replace(",N,E-100", ",N,E-102"))

    ingest([city / "rms"], source="Testville RMS")

    with session_factory()() as session:
        arrest = session.scalars(select(models.Arrest)).one()
        call = session.get(models.CallForService, arrest.call_id)
    assert arrest.call_key == "E-102"
    assert call is not None and call.source_key == "E-102"


def test_options_on_the_command_line_keep_the_jurisdictions_time_zone(
    store: Engine, city: Path
) -> None:
    (city / "jurisdiction.yaml").write_text(
        JURISDICTION.replace("America/Los_Angeles", "America/New_York")
    )

    for task in plan_exports([city], options=ReadOptions(encoding="utf-8"), default_timezone=ZONE):
        assert str(task.options.timezone) == "America/New_York"
        assert task.options.encoding == "utf-8"


def test_a_key_two_other_sources_share_is_left_unresolved_not_guessed(
    store: Engine, city: Path, tmp_path: Path
) -> None:
    other_cad = tmp_path / "other" / "calls.csv"
    other_cad.parent.mkdir()
    other_cad.write_text(CALL_HEADER + "\n" + call_row("E-100", "9Z9") + "\n")
    ingest([other_cad], source="Neighbouring CAD")

    ingest([city])

    with session_factory()() as session:
        arrest = session.scalars(select(models.Arrest)).one()
        units = session.scalars(select(models.UnitResponse.call_id)).all()
    assert arrest.call_key == "E-100" and arrest.call_id is None
    assert None not in units  # a unit's own CAD is found first, whatever the neighbours hold
