"""CAD CSV (Seattle style) reader and writer: round trip, bad input, streaming, fuzzing."""

from __future__ import annotations

import tempfile
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.demo.exports import cad_csv as cad_writer
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.cad_csv import CadCsvAdapter, call_person_key, unit_response_key
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CallSource,
    CautionIn,
    CautionSeverity,
    PersonRecordIn,
    PlaceIn,
    Record,
    ResponderType,
    UnitResponseIn,
)
from support.csv_rows import expected_items

TZ = ZoneInfo("America/Los_Angeles")
OPTIONS = ReadOptions(timezone=TZ)
T0 = datetime(2024, 3, 10, 9, 40, 7, tzinfo=UTC)  # 01:40 local, 20 minutes before 2 AM PST→PDT
HEADER = (
    "CAD Event Number,Call Type,Priority,Initial Call Type,Final Call Type,"
    "CAD Event Original Time Queued,Dispatch Beat,Call Sign Dispatch ID,Call Sign Type,"
    "Call Sign Dispatch Time\n"
)
GOOD_ROW = "24-1,911,2,CRISIS,CRISIS,03/01/2024 10:00:00 AM,N1,3K12,CARE,03/01/2024 10:02:00 AM\n"


def read(path: Path) -> list[SourceRow | Rejection]:
    return list(CadCsvAdapter().read(path, OPTIONS))


def write_text(content: str | bytes, name: str = "calls.csv") -> Path:
    path = Path(tempfile.mkdtemp()) / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def synthetic_calls() -> list[Record]:
    """Three invented calls in the generator's order: call, units, person pairs, caution."""
    at = [(T0 + timedelta(minutes=minutes)).astimezone(TZ) for minutes in range(0, 90, 5)]
    first_units = [
        UnitResponseIn(
            source_key=unit_response_key("24-000101", sign, at[1]),
            call_key="24-000101",
            call_sign=sign,
            responder_type=kind,
            dispatched_at=at[1],
            en_route_at=at[2],
            at_scene_at=at[5],  # 03:05 PDT, after clocks went forward
            in_service_at=at[8],
        )
        for sign, kind in (("CARE12", ResponderType.CARE_TEAM), ("3K12", ResponderType.POLICE))
    ]
    person = PersonRecordIn(
        source_key="N-9001",
        first_name="Orla",
        middle_name="Bett",
        last_name="Fennimore",
        dob=date(1988, 7, 14),
        sex="female",
        race="W",
        phone="2065550142",
        address=AddressIn(street="12 Quarry Ln", city="Riverbend", state="WA", zip="98101"),
    )
    return [
        CallIn(
            source_key="24-000101",
            call_source=CallSource.E911,
            priority=1,
            initial_call_type="CRISIS - PERSON IN BEHAVIORAL/EMOTIONAL CRISIS",
            final_call_type="CRISIS - COMPLAINT",
            disposition="CCR only - INTERPERSONAL SUPPORT ONLY",
            received_at=at[0],
            queued_at=at[0],
            dispatched_at=at[1],
            first_arrival_at=at[3],
            cleared_at=at[8],
            place=PlaceIn(
                street="1XX BLOCK OF ELM ST",
                beat="N1",
                sector="N",
                precinct="North",
                neighborhood="Hillcrest",
                latitude=47.61234,
                longitude=-122.3301,
            ),
        ),
        *first_units,
        person,
        CallPersonIn(
            source_key=call_person_key("24-000101", "N-9001"),
            call_key="24-000101",
            person_key="N-9001",
            role="subject",
        ),
        CautionIn(  # a CAD export has no cautions: the writer skips it
            source_key="24-000101/c1",
            call_key="24-000101",
            caution_type="weapon",
            severity=CautionSeverity.HIGH,
        ),
        CallIn(source_key="24-000102", call_source=CallSource.ON_VIEW, priority=7),
        CallIn(source_key="24-000103", call_source=CallSource.PHONE, queued_at=at[10]),
        UnitResponseIn(
            source_key=unit_response_key("24-000103", "M7", None),
            call_key="24-000103",
            call_sign="M7",
            responder_type=ResponderType.OTHER,
        ),
    ]


def test_round_trip_gives_back_the_records() -> None:
    records = synthetic_calls()
    out = Path(tempfile.mkdtemp())
    paths = cad_writer.write(records, out, timezone=TZ)
    assert [path.name for path in paths] == ["calls.csv", "names.csv"]

    items = read(out)
    assert all(isinstance(item, SourceRow) for item in items), items
    read_back: dict[tuple[str, str], Record] = {}
    for item in items:
        for record in item.records:
            # A call repeats on each of its unit rows, identically.
            assert read_back.setdefault((record.kind, record.source_key), record) == record
    expected = {
        (record.kind, record.source_key): record
        for record in records
        if not isinstance(record, CautionIn)
    }
    assert read_back == expected


def test_calls_file_is_read_before_names_file_in_a_folder() -> None:
    out = Path(tempfile.mkdtemp())
    cad_writer.write(synthetic_calls(), out, timezone=TZ)
    (out / "a_names.csv").write_bytes((out / "names.csv").read_bytes())
    (out / "names.csv").unlink()
    files = [Path(item.file).name for item in read(out)]
    assert files == sorted(files, key=lambda name: name != "calls.csv")


def test_sniff_tells_cad_files_from_others() -> None:
    out = Path(tempfile.mkdtemp())
    cad_writer.write(synthetic_calls(), out, timezone=TZ)
    assert CadCsvAdapter.sniff(out, b"")
    for name in ("calls.csv", "names.csv"):
        assert CadCsvAdapter.sniff(out / name, (out / name).read_bytes())
    rms = b"ORI,Incident Number,Incident Date/Hour,CAD Event Number,UCR Offense Code\n"
    assert not CadCsvAdapter.sniff(Path("incidents.csv"), rms)
    assert not CadCsvAdapter.sniff(Path(tempfile.mkdtemp()), b"")


def test_writer_refuses_records_out_of_order() -> None:
    call, unit = synthetic_calls()[0], synthetic_calls()[1]
    other = call.model_copy(update={"source_key": "24-999"})
    with pytest.raises(ValueError, match="not the CallIn just before it"):
        cad_writer.write([other, unit], Path(tempfile.mkdtemp()), timezone=TZ)
    person = synthetic_calls()[3]
    with pytest.raises(ValueError, match="unpaired"):
        cad_writer.write([call, person], Path(tempfile.mkdtemp()), timezone=TZ)


TIME_QUEUED = "CAD Event Original Time Queued"
BAD_ROWS = [
    pytest.param(b"24-2,911,2,X,X,\xff\xfeA,N1,,,\n", "not valid utf-8-sig text", id="bad-bytes"),
    pytest.param(b"24-2,911,2,X\n", "has 4 fields, header has 10", id="field-count"),
    pytest.param(
        b"24-2,911,2,X,X,02/30/2024 10:00:00 AM,N1,,,\n", f"{TIME_QUEUED}: not a date", id="feb-30"
    ),
    pytest.param(b"24-2,PIGEON,2,X,X,,N1,,,\n", "Call Type: unknown code; expected one of 911"),
    pytest.param(b"24-2,911,12,X,X,,N1,,,\n", "Priority (priority): Input should be less than"),
    pytest.param(b",911,2,X,X,,N1,,,\n", "CAD Event Number: missing required field", id="no-key"),
    pytest.param(b"24-2,911,2,X,X,,N1,3K1,SWAT,\n", "Call Sign Type: unknown code", id="unit"),
    pytest.param(b"24-2,911,2,X,X,01/01/1850 10:00:00 AM,N1,,,\n", "year out of range", id="year"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_a_bad_row_is_rejected_verbatim_and_the_others_taken(row: bytes, reason: str) -> None:
    path = write_text(HEADER.encode() + GOOD_ROW.encode() + row)
    items = read(path)
    assert isinstance(items[0], SourceRow)
    assert len(items) == 2
    rejection = items[1]
    assert isinstance(rejection, Rejection)
    assert rejection.locator == "row 2"
    assert reason in rejection.reason
    assert rejection.raw


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("24-1,N-1,PASSERBY,Quill,Ada,,,,,,,,,\n", "Person Role: unknown code"),
        ("24-1,N-1,CALLER,Quill,Ada,,02/30/1990,,,,,,,\n", "Date of Birth: not a date"),
        ("24-1,N-1,CALLER,Quill,Ada,,,Q,,,,,,\n", "Sex: unknown code; expected one of F, M, U, X"),
        ("24-1,N-1,,Quill,Ada,,,,,,,,,\n", "Person Role: missing required field"),
    ],
)
def test_a_bad_name_row_is_rejected(row: str, reason: str) -> None:
    header = ",".join(cad_writer.NAME_FILE_COLUMNS) + "\n"
    items = read(write_text(header + row, "names.csv"))
    assert len(items) == 1 and isinstance(items[0], Rejection)
    assert reason in items[0].reason


def test_a_row_ending_inside_a_quote_is_rejected_as_truncated() -> None:
    items = read(write_text(HEADER + GOOD_ROW + '24-2,911,2,"CRISIS,X\n'))
    assert [type(item) for item in items] == [SourceRow, Rejection]
    assert items[1].locator == "row 2"
    assert "file may be truncated" in items[1].reason  # type: ignore[union-attr]


def test_a_truncated_row_keeps_its_text() -> None:
    items = read(write_text(HEADER + GOOD_ROW + '24-2,911,2,"CRISIS,X\n'))
    assert '24-2,911,2,"CRISIS,X' in items[1].raw  # type: ignore[union-attr]


def test_missing_required_column_rejects_the_file_once() -> None:
    header = "CAD Name ID,Person Role,Last Name\n"  # a names file without its event column
    content = header + "".join(f"N-{n},CALLER,Quill\n" for n in range(300))
    items = read(write_text(content, "names.csv"))
    assert len(items) == 1
    assert isinstance(items[0], Rejection) and items[0].locator == "file"
    assert "not a CAD file" in items[0].reason
    assert items[0].raw.count("\n") == 100  # the first hundred lines, kept verbatim

    items = read(write_text(b"CAD Event Number,Call Type\xff\n24-1,911\n24-2,911\n"))
    assert len(items) == 1 and isinstance(items[0], Rejection) and items[0].locator == "file"
    assert "header is not valid" in items[0].reason
    assert "24-2,911" in items[0].raw


def test_empty_and_header_only_files() -> None:
    items = read(write_text(b""))
    assert len(items) == 1 and isinstance(items[0], Rejection)
    assert "empty file" in items[0].reason
    assert read(write_text(HEADER)) == []


def test_reading_streams() -> None:
    """Peak memory while reading does not grow with the number of rows."""

    def peak(rows: int) -> int:
        path = write_text(HEADER + GOOD_ROW * rows)
        tracemalloc.start()
        for _ in CadCsvAdapter().read(path, OPTIONS):
            pass
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    peak(200)  # warm-up: first-use caches and buffers are not growth
    small, large = peak(2000), peak(20000)
    assert large < small * 1.5


# --- fuzzing ---------------------------------------------------------------------------------


def assert_accounted(data: bytes, items: list[SourceRow | Rejection]) -> None:
    if len(items) == 1 and items[0].locator == "file":
        return
    assert [item.locator for item in items] == [f"row {n}" for n in range(1, len(items) + 1)]
    assert len(items) == expected_items(data)
    for item in items:
        if isinstance(item, Rejection):
            assert item.reason


def valid_file() -> bytes:
    out = Path(tempfile.mkdtemp())
    cad_writer.write(synthetic_calls(), out, timezone=TZ)
    return (out / "calls.csv").read_bytes()


VALID = valid_file()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_and_every_row_is_accounted_for(data: bytes) -> None:
    assert_accounted(data, read(write_text(data)))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, len(VALID)),
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(b'"\n,\xff\x00x9/')), max_size=5
    ),
)
def test_mutated_file_never_raises_and_every_row_is_accounted_for(
    cut: int, edits: list[tuple[int, int]]
) -> None:
    data = bytearray(VALID)
    for position, byte in edits:
        if byte in b'"\n':
            data.insert(position, byte)  # a stray quote or line break
        else:
            data[position] = byte  # a flipped byte
    mutated = bytes(data[: cut + len(edits)])
    assert_accounted(mutated, read(write_text(mutated)))
