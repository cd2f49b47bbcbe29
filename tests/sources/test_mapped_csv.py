"""Mapped CSV: the documented New Orleans example, bad mappings, bad rows, fuzzing."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corespond.sources.base import ReadOptions, Rejection, SourceError, SourceRow
from corespond.sources.mapped_csv import MappedCsvAdapter
from corespond.sources.records import (
    CallIn,
    CallPersonIn,
    CallSource,
    PersonRecordIn,
    ResponderType,
    UnitResponseIn,
)
from support.csv_rows import expected_items as expected_csv_items

DOC = Path(__file__).resolve().parents[2] / "docs" / "mapped-csv.md"
TZ = ZoneInfo("America/Chicago")


def doc_block(language: str, number: int = 0) -> str:
    """The ``number``-th fenced block of ``language`` in docs/mapped-csv.md."""
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)[number]


def write(content: str, name: str) -> Path:
    path = Path(tempfile.mkdtemp()) / name
    path.write_text(content)
    return path


def read(csv_path: Path, mapping: Path) -> list[SourceRow | Rejection]:
    options = ReadOptions(timezone=TZ, mapping=mapping)
    return list(MappedCsvAdapter().read(csv_path, options))


NOLA_MAPPING = write(doc_block("yaml", 1), "nola-cfs.yaml")
NOLA_CSV = doc_block("csv", 0)


def test_the_documented_mapping_outline_is_valid() -> None:
    items = read(write(NOLA_CSV, "cfs.csv"), write(doc_block("yaml", 0), "outline.yaml"))
    assert len(items) == 4


def test_the_documented_new_orleans_example_reads_as_documented() -> None:
    items = read(write(NOLA_CSV, "cfs.csv"), NOLA_MAPPING)
    assert [type(item) for item in items] == [SourceRow, SourceRow, Rejection, Rejection]
    call, unit = items[0].records  # type: ignore[union-attr]
    assert isinstance(call, CallIn) and isinstance(unit, UnitResponseIn)
    assert call.source_key == "A0000119"
    assert call.call_source == CallSource.OTHER
    assert call.priority == 2
    assert call.queued_at == datetime(2019, 1, 1, 0, 0, 13, tzinfo=TZ)
    assert call.place is not None and (call.place.latitude, call.place.longitude) == (
        29.93391,
        -90.08532,
    )
    assert call.place.precinct == "6"
    assert call.agency_key == "nopd"
    assert (unit.source_key, unit.call_key, unit.responder_type) == (
        "A0000119/6A12",
        "A0000119",
        ResponderType.POLICE,
    )
    assert len(items[1].records) == 1  # type: ignore[union-attr]  # no unit on this row
    assert items[1].records[0].call_source == CallSource.ON_VIEW  # type: ignore[union-attr]
    assert "TimeCreate: not a date and time" in items[2].reason  # type: ignore[union-attr]
    assert "SelfInitiated: unknown code; expected one of N, Y" in items[3].reason  # type: ignore[union-attr]


def test_person_records_and_their_calls() -> None:
    mapping = write(doc_block("yaml", 2), "names.yaml")
    content = "EVENT,NAME_NO,ROLE,LNAME,FNAME,DOB,SEX\nE1,7,C,Quill,Ada,1980-02-03,F\n"
    items = read(write(content, "names.csv"), mapping)
    person, link = items[0].records  # type: ignore[union-attr]
    assert isinstance(person, PersonRecordIn) and person.sex == "female"
    assert person.source_key == "E1-7" and person.dob is not None
    assert isinstance(link, CallPersonIn) and link.role == "caller"


CALL = "records:\n  - kind: call\n    key: '{A}'\n"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("records: []", "records: Tuple should have at least 1 item"),
        ("records:\n  - kind: parcel\n    key: '{A}'", "unknown record kind 'parcel'"),
        (
            "records:\n  - kind: call\n    key: '{A}'\n    fields: {colour: B}",
            "call: unknown or unmappable field 'colour'",
        ),
        (
            "records:\n  - kind: unit_response\n    key: '{A}'\n    fields: {call_key: A}",
            "unit_response: required fields not mapped: call_sign, responder_type",
        ),
        (
            CALL + "    fields: {priority: {column: A, value: 1}}",
            "give exactly one of column, template or value",
        ),
        (
            "records:\n  - kind: call\n    key: '{A}'\n    fields: {call_source: {value: pigeon}}",
            "unknown code; expected one of 911",
        ),
        (
            CALL + "    fields: {priority: {column: A, pattern: '('}}",
            "is not a regular expression",
        ),
        ("records: [unclosed", "not valid YAML"),
        ("records: []\nwhen: 2025-02-30", "day is out of range"),
        (
            "records:\n  - kind: call\n    key: '{A}'\n    extra: 1",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_mapping_raises_a_clear_source_error(mapping: str, message: str) -> None:
    with pytest.raises(SourceError, match=re.escape(message)):
        read(write("A\n1\n", "x.csv"), write(mapping, "bad.yaml"))


def test_no_mapping_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="needs a mapping"):
        list(MappedCsvAdapter().read(write("A\n1\n", "x.csv"), ReadOptions()))


def test_a_csv_without_the_mapped_columns_is_one_file_rejection() -> None:
    items = read(write("NOPD_Item,Type\nA1,103\n", "cfs.csv"), NOLA_MAPPING)
    assert len(items) == 1 and items[0].locator == "file"
    assert "missing required columns" in items[0].reason  # type: ignore[union-attr]
    assert not MappedCsvAdapter.sniff(Path("cfs.csv"), NOLA_CSV.encode())


def test_a_blank_key_column_rejects_the_row() -> None:
    header = NOLA_CSV.splitlines()[0]
    row = next(csv.reader([NOLA_CSV.splitlines()[1]]))
    row[0] = ""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    items = read(write(f"{header}\n{buffer.getvalue()}", "cfs.csv"), NOLA_MAPPING)
    assert "NOPD_Item" in items[0].reason and "missing required field" in items[0].reason  # type: ignore[union-attr]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, len(NOLA_CSV)),
    st.lists(
        st.tuples(st.integers(0, len(NOLA_CSV) - 1), st.sampled_from('"\n,\x00x9/')), max_size=5
    ),
)
def test_mutated_file_never_raises_and_every_row_is_accounted_for(
    cut: int, edits: list[tuple[int, str]]
) -> None:
    text = list(NOLA_CSV)
    for position, char in edits:
        if char in '"\n':
            text.insert(position, char)
        else:
            text[position] = char
    mutated = "".join(text)[: cut + len(edits)]
    items = read(write(mutated, "cfs.csv"), NOLA_MAPPING)
    if len(items) == 1 and items[0].locator in ("file",):
        return
    assert [item.locator for item in items] == [f"row {n}" for n in range(1, len(items) + 1)]
    assert len(items) == expected_items(mutated)


def expected_items(content: str) -> int:
    """The shared independent count, for text."""
    return expected_csv_items(content.encode("utf-8", "surrogateescape"))
