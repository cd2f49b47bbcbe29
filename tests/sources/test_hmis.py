"""HMIS CSV (FY2024) reader and writer: HUD's sample, round trip, bad input, fuzzing."""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SHARED_REFERENCE

from corespond.demo.exports import hmis_csv
from corespond.sources.base import ReadOptions, Rejection, Retraction, SourceRow
from corespond.sources.hmis import HmisCsvAdapter
from corespond.sources.records import (
    AgencyIn,
    EnrollmentExitIn,
    EnrollmentIn,
    PersonRecordIn,
    ProgramIn,
    Record,
    ServiceIn,
    ServiceKind,
)

SAMPLE = SHARED_REFERENCE / "hmis" / "fy2024_sample"
TZ = ZoneInfo("America/Los_Angeles")
OPTIONS = ReadOptions(timezone=TZ)


def read(folder: Path) -> list[SourceRow | Rejection]:
    return list(HmisCsvAdapter().read(folder, OPTIONS))


def records_of(items: list[SourceRow | Rejection]) -> list[Record]:
    return [record for item in items if isinstance(item, SourceRow) for record in item.records]


def rejections(items: list[SourceRow | Rejection]) -> list[Rejection]:
    return [item for item in items if isinstance(item, Rejection)]


def synthetic_records() -> list[Record]:
    """An agency, two projects, three invented clients and their enrollments and services."""
    return [
        AgencyIn(
            source_key="ORG-1", name="Riverbend Shelter Network", agency_kind="homeless_services"
        ),
        ProgramIn(
            source_key="PRJ-1",
            name="Harbor Night Shelter",
            agency_key="ORG-1",
            program_type="emergency_shelter",
            hmis_project_type=1,
            start_date=date(2020, 1, 1),
        ),
        ProgramIn(
            source_key="PRJ-2",
            name="Riverbend Street Outreach",
            agency_key="ORG-1",
            program_type="street_outreach",
            hmis_project_type=4,
        ),
        PersonRecordIn(
            source_key="C-1",
            first_name="Ada",
            middle_name="Wren",
            last_name="Quill",
            dob=date(1980, 2, 3),
            ssn="123456789",
            race="Black, African American, or African; White",
            ethnicity="Not Hispanic/Latina/e/o",
            sex="female",
        ),
        PersonRecordIn(
            source_key="C-2",
            first_name="Bram",
            last_name="Oakhollow",
            race="Asian or Asian American; Pictish",
            ethnicity="Hispanic/Latina/e/o",
            sex="male; transgender",
        ),
        PersonRecordIn(source_key="C-3", sex="unknown"),
        EnrollmentIn(
            source_key="E-1",
            person_key="C-1",
            program_key="PRJ-1",
            entry_date=date(2025, 6, 1),
            household_id="H-1",
            living_situation=116,
        ),
        EnrollmentIn(
            source_key="E-2", person_key="C-2", program_key="PRJ-2", entry_date=date(2025, 6, 3)
        ),
        EnrollmentExitIn(
            source_key="X-1",
            enrollment_key="E-1",
            person_key="C-1",
            exit_date=date(2025, 7, 1),
            destination=435,
        ),
        ServiceIn(
            source_key="S-1",
            person_key="C-1",
            enrollment_key="E-1",
            provided_on=date(2025, 6, 1),
            service_kind=ServiceKind.BED_NIGHT,
            record_type=200,
            type_provided=200,
        ),
        ServiceIn(
            source_key="S-2",
            person_key="C-1",
            enrollment_key="E-1",
            provided_on=date(2025, 6, 2),
            record_type=144,
            type_provided=3,
            description="Bus pass",
        ),
        ServiceIn(
            source_key="CLS/1",
            person_key="C-2",
            enrollment_key="E-2",
            provided_on=date(2025, 6, 4),
            service_kind=ServiceKind.OUTREACH_CONTACT,
            living_situation=116,
            description="Under the Fifth St bridge",
        ),
    ]


def write_valid(folder: Path) -> list[Path]:
    return hmis_csv.write(synthetic_records(), folder, timezone=TZ)


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- HUD's sample export ----------------------------------------------------------------------


def test_official_sample_imports() -> None:
    items = read(SAMPLE)
    per_file = Counter((Path(item.file).name, type(item).__name__) for item in items)
    assert per_file == {
        ("Export.csv", "SourceRow"): 1,
        ("Organization.csv", "SourceRow"): 1,
        ("Project.csv", "SourceRow"): 1,
        ("Client.csv", "SourceRow"): 3,
        ("Enrollment.csv", "SourceRow"): 4,
        ("Exit.csv", "SourceRow"): 1,
        ("Services.csv", "SourceRow"): 18,
        ("CurrentLivingSituation.csv", "Rejection"): 3,
    }
    # The sample's outreach rows belong to another export: clients 6805 and 6791 are not in
    # its Client.csv, and the third row is shifted (an ExportID sits in DateDeleted).
    reasons = [r.reason for r in rejections(items)]
    assert "refers to a record that is not in Client.csv" in reasons[0]
    assert "refers to a record that is not in Client.csv" in reasons[1]
    assert reasons[2].startswith("DateDeleted: not a date")


def test_official_sample_honours_data_quality() -> None:
    records = records_of(read(SAMPLE))
    clients = [r for r in records if isinstance(r, PersonRecordIn)]
    # DOBDataQuality 99 (not collected): the DOB given is not to be trusted.
    assert [c.dob for c in clients] == [None, None, None]
    assert all(c.ssn is None for c in clients)
    project = next(r for r in records if isinstance(r, ProgramIn))
    assert (project.program_type, project.hmis_project_type) == ("emergency_shelter", 1)
    nights = [r for r in records if isinstance(r, ServiceIn)]
    assert {n.service_kind for n in nights} == {ServiceKind.BED_NIGHT}


def test_sniff_and_source_name() -> None:
    assert HmisCsvAdapter.sniff(SAMPLE, b"")
    assert not HmisCsvAdapter.sniff(SAMPLE / "Client.csv", b"PersonalID")
    assert HmisCsvAdapter().default_source_name(SAMPLE) == "Boston DND Warehouse"


# --- round trip -----------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    files = write_valid(tmp_path)
    assert {f.name for f in files} >= {"Export.csv", "Client.csv", "CurrentLivingSituation.csv"}
    items = read(tmp_path)
    assert rejections(items) == []
    expected = synthetic_records()
    assert records_of(items) == expected


def test_writer_uses_official_headers(tmp_path: Path) -> None:
    write_valid(tmp_path)
    for name in hmis_csv.HEADERS:
        with (SAMPLE / name).open(encoding="utf-8") as official:
            header = next(csv.reader(official))
        with (tmp_path / name).open(encoding="utf-8") as written:
            assert next(csv.reader(written)) == header


def test_writer_states_export_range(tmp_path: Path) -> None:
    write_valid(tmp_path)
    with (tmp_path / "Export.csv").open(encoding="utf-8") as handle:
        export = next(csv.DictReader(handle))
    assert (export["ExportStartDate"], export["ExportEndDate"]) == ("2025-06-01", "2025-07-01")


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "old", "new", "reason"),
    [
        ("Enrollment.csv", "2025-06-03", "2025-02-30", "EntryDate: not a date"),
        ("Project.csv", ",4,", ",5,", "ProjectType: unknown code; expected one of 0, 1, 2"),
        ("Services.csv", ",144,", ",999,", "RecordType: unknown code"),
        ("Exit.csv", "X-1,E-1,C-1", "X-1,E-9,C-1", "EnrollmentID: refers to a record that is not"),
        ("Services.csv", "S-2,E-1,C-1", "S-2,E-2,C-1", "belongs to another client"),
    ],
)
def test_bad_row_is_rejected_with_reason(
    tmp_path: Path, name: str, old: str, new: str, reason: str
) -> None:
    write_valid(tmp_path)
    edit(tmp_path, name, old, new)
    items = read(tmp_path)
    rejection, *dependents = rejections(items)
    assert Path(rejection.file).name == name
    assert reason in rejection.reason
    # Rows that refer to the rejected one are rejected too, saying so.
    assert all("refers to a record that is not in" in r.reason for r in dependents)
    assert len(items) == len(read_fresh())


def read_fresh() -> list[SourceRow | Rejection]:
    with tempfile.TemporaryDirectory() as folder:
        write_valid(Path(folder))
        return read(Path(folder))


def test_bad_encoding_rejects_the_row(tmp_path: Path) -> None:
    write_valid(tmp_path)
    path = tmp_path / "Client.csv"
    path.write_bytes(path.read_bytes().replace(b"C-3,", b"C-3,Ed\xff,", 1))
    items = read(tmp_path)
    (rejection,) = rejections(items)
    assert rejection.reason == "not valid utf-8-sig text"
    assert "\\xff" in rejection.raw
    assert len(items) == len(read_fresh())


def test_missing_required_column_rejects_every_row(tmp_path: Path) -> None:
    write_valid(tmp_path)
    edit(tmp_path, "Enrollment.csv", "EntryDate", "EntryDay")
    items = read(tmp_path)
    bad = rejections(items)
    assert [(Path(r.file).name, r.locator) for r in bad[:2]] == [
        ("Enrollment.csv", "row 1"),
        ("Enrollment.csv", "row 2"),
    ]
    assert all("missing required columns: EntryDate" in r.reason for r in bad[:2])
    # Exits and services of enrollments that could not be read are rejected as dangling.
    assert all("EnrollmentID: refers to a record that is not in" in r.reason for r in bad[2:])
    assert len(items) == len(read_fresh())


def test_deleted_client_and_what_refers_to_it(tmp_path: Path) -> None:
    write_valid(tmp_path)
    path = tmp_path / "Client.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = next(csv.reader([lines[2]]))
    row[header.index("DateDeleted")] = "2025-06-10 00:00:00"
    lines[2] = ",".join(row)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    items = read(tmp_path)
    (retraction,) = [item for item in items if isinstance(item, Retraction)]
    assert (retraction.kind, retraction.source_key) == ("person_record", "C-2")
    assert retraction.deleted_on == date(2025, 6, 10) and retraction.raw.startswith("C-2,")
    bad = rejections(items)
    assert all("refers to a record deleted in source (Client.csv)" in r.reason for r in bad)
    assert len(bad) == 2  # its enrollment, its outreach contact


def test_unknown_data_quality_means_unknown_value(tmp_path: Path) -> None:
    write_valid(tmp_path)
    edit(tmp_path, "Client.csv", "1980-02-03,1", "1980-02-03,8")
    person = next(r for r in records_of(read(tmp_path)) if r.source_key == "C-1")
    assert isinstance(person, PersonRecordIn)
    assert person.dob is None


def test_truncated_last_row(tmp_path: Path) -> None:
    write_valid(tmp_path)
    path = tmp_path / "Services.csv"
    path.write_bytes(path.read_bytes()[:-40] + b'"unterminated')
    bad = rejections(read(tmp_path))
    assert len(bad) == 1
    assert "truncated" in bad[0].reason or "fields" in bad[0].reason


def test_folder_without_export_is_not_read(tmp_path: Path) -> None:
    from corespond.sources.base import SourceError

    with pytest.raises(SourceError):
        read(tmp_path)


# --- fuzzing --------------------------------------------------------------------------------


def valid_folder_bytes() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        return {path.name: path.read_bytes() for path in write_valid(Path(folder))}


VALID = valid_folder_bytes()
FILES = sorted(name for name in VALID if name != "Export.csv")


def read_mutated(name: str, data: bytes) -> list[SourceRow | Rejection]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for file_name, content in VALID.items():
            (root / file_name).write_bytes(data if file_name == name else content)
        return read(root)


def check_accounted(items: list[SourceRow | Rejection], mutated: str) -> None:
    assert all(isinstance(item, SourceRow | Rejection) for item in items)
    counts = Counter(Path(item.file).name for item in items)
    for name, content in VALID.items():
        if name != mutated:
            rows = len(content.decode("utf-8").splitlines()) - 1
            assert counts[name] == rows, name


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FILES), st.binary(max_size=1500))
def test_fuzz_random_bytes(name: str, data: bytes) -> None:
    check_accounted(read_mutated(name, data), name)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FILES), st.floats(0, 1))
def test_fuzz_truncation(name: str, fraction: float) -> None:
    content = VALID[name]
    check_accounted(read_mutated(name, content[: int(len(content) * fraction)]), name)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(FILES),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
)
def test_fuzz_byte_flips(name: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(VALID[name])
    for fraction, value in flips:
        data[int(len(data) * fraction)] = value
    check_accounted(read_mutated(name, bytes(data)), name)
