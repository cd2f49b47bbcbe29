"""NENA EIDO JSON reader and writer: NENA's sample, round trip, arrays, bad input, fuzzing."""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SHARED_REFERENCE

from corespond.demo.exports import eido as eido_writer
from corespond.sources.base import ReadOptions, Rejection, SourceRow
from corespond.sources.cad_csv import unit_response_key
from corespond.sources.eido import EidoAdapter, split_json_array
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CallSource,
    CautionIn,
    CautionSeverity,
    NameIn,
    PersonRecordIn,
    PlaceIn,
    Record,
    ResponderType,
    UnitResponseIn,
)

SAMPLE = SHARED_REFERENCE / "eido" / "Sample call transfer EIDO.json"
TZ = ZoneInfo("America/New_York")
OPTIONS = ReadOptions(timezone=TZ)
T0 = datetime(2024, 5, 2, 17, 3, 11, 250000, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return (T0 + timedelta(minutes=minutes)).astimezone(TZ)


def read(path: Path) -> list[SourceRow | Rejection]:
    return list(EidoAdapter().read(path, OPTIONS))


def write_file(content: str | bytes, name: str = "incident.json") -> Path:
    path = Path(tempfile.mkdtemp()) / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def synthetic_incident(event: str = "24-000201") -> list[Record]:
    """One invented incident in the generator's order, with every part EIDO carries."""
    person_key = f"{event}/p1"
    return [
        CallIn(
            source_key=event,
            call_source=CallSource.E911,
            priority=2,
            final_call_type="WELFARE CHECK",
            disposition="Resources provided",
            received_at=at(0),
            queued_at=at(1),
            dispatched_at=at(3),
            first_arrival_at=at(11),
            cleared_at=at(58),
            place=PlaceIn(
                street="2XX BLOCK OF WILLOW & <RD>",
                city="Riverbend",
                state="NY",
                zip="10001",
                neighborhood="Old Mill",
                beat="S3",
                latitude=40.7128,
                longitude=-74.006,
            ),
            notes=("Caller says the man is shouting <at> traffic & cold", "No weapons seen"),
        ),
        UnitResponseIn(
            source_key=unit_response_key(event, "CARE4", at(3)),
            call_key=event,
            call_sign="CARE4",
            responder_type=ResponderType.CARE_TEAM,
            dispatched_at=at(3),
            en_route_at=at(4),
            at_scene_at=at(11),
            in_service_at=at(58),
        ),
        UnitResponseIn(
            source_key=unit_response_key(event, "2B21", None),
            call_key=event,
            call_sign="2B21",
            responder_type=ResponderType.POLICE,
        ),
        PersonRecordIn(
            source_key=person_key,
            first_name="Mattias",
            middle_name="Oren",
            last_name="Valderne",
            suffix="III",
            aliases=(NameIn(first_name="Matty", last_name="Vale"),),
            dob=date(1969, 1, 30),
            sex="male",
            race="White",
            ethnicity="Not Hispanic",
            hair="GRY",
            eyes="BLU",
            description="tall, grey beard",
            ssn="900-55-0101",
            phone="7185550123",
            address=AddressIn(street="88 Lantern Row", unit="4B", city="Riverbend", state="NY"),
        ),
        CallPersonIn(source_key=person_key, call_key=event, person_key=person_key, role="subject"),
        CautionIn(
            source_key=f"{event}/c1",
            call_key=event,
            person_key=person_key,
            caution_type="Known to resist",
            severity=CautionSeverity.HIGH,
            description="Fought officers in 2022; calmer with clinicians",
            source="care-team",
            valid_from=at(-60 * 24 * 30),
        ),
        CautionIn(
            source_key=f"{event}/c2",
            call_key=event,
            place=PlaceIn(street="88 Lantern Row", city="Riverbend"),
            caution_type="Dog on premises",
            severity=CautionSeverity.LOW,
        ),
    ]


def test_the_official_sample_imports_without_rejections() -> None:
    items = read(SAMPLE)
    assert len(items) == 1 and isinstance(items[0], SourceRow)
    call, person, link = items[0].records
    incident = "urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us"
    assert isinstance(call, CallIn) and call.source_key == incident
    assert call.call_source == CallSource.E911
    assert call.received_at == datetime(2021, 4, 30, 18, 42, tzinfo=UTC)
    assert call.place is not None
    assert (call.place.street, call.place.city, call.place.state) == (
        "42 W Cellular Street",
        "Wilmington",
        "DE",
    )
    assert isinstance(person, PersonRecordIn) and person.phone == "8195551212"
    assert isinstance(link, CallPersonIn) and link.role == "caller"
    assert (
        link.person_key == person.source_key == f"{incident}/123e4567-abcd-12d3-a456-426614174000"
    )
    assert EidoAdapter.sniff(SAMPLE, SAMPLE.read_bytes())


def expected_after_round_trip(records: list[Record]) -> dict[tuple[str, str], Record]:
    """The records as EIDO gives them back (documented losses applied)."""
    expected: dict[tuple[str, str], Record] = {}
    for record in records:
        if isinstance(record, CallIn) and record.place is not None:
            record = record.model_copy(
                update={"place": record.place.model_copy(update={"sector": None, "precinct": None})}
            )
        expected[(record.kind, record.source_key)] = record
    return expected


def test_round_trip_gives_back_the_records() -> None:
    records = synthetic_incident("24-000201") + synthetic_incident("24/000202")
    out = Path(tempfile.mkdtemp())
    paths = eido_writer.write(records, out, timezone=TZ)
    assert [path.name for path in paths] == ["24-000201.json", "24%2F000202.json"]

    items = read(out)
    assert [item.locator for item in items] == ["document 1", "document 1"]
    assert all(isinstance(item, SourceRow) for item in items), items
    read_back = {(r.kind, r.source_key): r for item in items for r in item.records}  # type: ignore[union-attr]
    assert read_back == expected_after_round_trip(records)


def test_an_array_of_documents_is_read_one_document_at_a_time() -> None:
    out = Path(tempfile.mkdtemp())
    paths = eido_writer.write(
        synthetic_incident("A-1") + synthetic_incident("A-2"), out, timezone=TZ
    )
    first, second = (path.read_text() for path in paths)
    broken = first.replace('"eidoVersion": "1.0",', '"eidoVersion": "1.0" "oops",', 1)
    array = write_file(f"[{first}, {broken}, 7, {second}]")
    items = read(array)
    assert [type(item) for item in items] == [SourceRow, Rejection, Rejection, SourceRow]
    assert [item.locator for item in items] == [f"document {n}" for n in range(1, 5)]
    assert "malformed JSON" in items[1].reason  # type: ignore[union-attr]
    assert items[1].raw == broken.strip()
    assert "not a JSON object" in items[2].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"resourceType": "Patient"}', "not an EIDO document: no eidoVersion key"),
        (b'{"eidoVersion": "1.0", "incidentComponent": ', "malformed JSON"),
        (b'[{"eidoVersion": "1.0", "$id": "x"}, {"eidoVersion": "1.', "truncated"),
        (b'{"eidoVersion": "1.0", "$id": "x\xff"}', "not valid utf-8-sig text"),
        (b"", "empty file"),
        (b'{"eidoVersion": "1.0"}', "incidentComponent.internalIncidentId: missing"),
        (
            b'{"eidoVersion": "1.0", "$id": "x", "cautionComponent": [{"$id": "c",'
            b' "cautionTypeInternalText": "t", "cautionSeverity": "extreme"}]}',
            "cautionSeverity: severity must be highest, high, normal, low or lowest",
        ),
        (
            b'{"eidoVersion": "1.0", "$id": "x", "personComponent": [{"$id": "p",'
            b' "personIncidentRoleRegistryText": ["Caller"],'
            b' "ncPersonComponent": {"sexCode": [{"simpleType": "Q"}]}}]}',
            "ncPersonComponent.sexCode: unknown code; expected one of F, M, U",
        ),
        (
            b'{"eidoVersion": "1.0", "$id": "x", "incidentComponent": {"internalIncidentId": "x",'
            b' "incidentTypeCommonRegistryText": "T", "incidentStatusInternalText":'
            b' ["QUEUED 2024-02-30T10:00:00"]}}',
            "incidentStatusInternalText QUEUED: not a date and time",
        ),
        (b'[{"eidoVersion": "1.0", "$id": "x"}] trailing', "text after the end of the JSON array"),
        (b'{"eidoVersion": "1.0", "$id": "x", "personComponent": 5}', "not a JSON object"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_reason(content: bytes, reason: str) -> None:
    items = read(write_file(content))
    rejections = [item for item in items if isinstance(item, Rejection)]
    assert len(rejections) == 1
    assert reason in rejections[0].reason


def test_writer_refuses_records_of_another_call() -> None:
    call, unit = synthetic_incident("A-1")[:2]
    with pytest.raises(ValueError, match="is of call A-1, not B"):
        eido_writer.write(
            [call.model_copy(update={"source_key": "B"}), unit], Path("."), timezone=TZ
        )


def test_reading_an_array_streams() -> None:
    document = (Path(tempfile.mkdtemp()) / "x").with_suffix(".json")
    eido_writer.write(synthetic_incident("S-1"), document.parent, timezone=TZ)
    one = (document.parent / "S-1.json").read_text()

    def peak(count: int) -> int:
        path = write_file("[" + ",".join([one] * count) + "]")
        tracemalloc.start()
        for _ in EidoAdapter().read(path, OPTIONS):
            pass
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    peak(5)  # warm-up: first-use caches and buffers are not growth
    assert peak(400) < peak(40) * 1.5


# --- properties and fuzzing --------------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\,[]{} \u00e9'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(JSON_VALUES, max_size=6), st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_splitting_an_array_in_any_chunks_gives_its_elements(
    elements: list[object], cuts: list[int]
) -> None:
    encoded = json.dumps(elements)
    chunks, position = [], 0
    for size in cuts * (len(encoded) // sum(cuts) + 1):
        chunks.append(encoded[position : position + size])
        position += size
    split = list(split_json_array(chunks))
    assert [problem for _, problem in split] == [None] * len(elements)
    assert [json.loads(text) for text, _ in split] == elements


def assert_accounted(data: bytes, items: list[SourceRow | Rejection]) -> None:
    locators = [item.locator for item in items]
    if locators == ["file"]:
        assert not data.strip(b" \t\n\r")
        return
    assert locators == [f"document {n}" for n in range(1, len(items) + 1)]
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        assert items  # broken text is rejected, never dropped
        return
    assert len(items) == (len(parsed) if isinstance(parsed, list) else 1)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert_accounted(data, read(write_file(data)))


def valid_array() -> bytes:
    out = Path(tempfile.mkdtemp())
    paths = eido_writer.write(
        synthetic_incident("F-1") + synthetic_incident("F-2"), out, timezone=TZ
    )
    return ("[" + ",".join(path.read_text() for path in paths) + "]").encode()


VALID = valid_array()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, len(VALID)),
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.sampled_from(b'"\n,{}[]\\\xff\x00x')),
        max_size=5,
    ),
)
def test_mutated_array_never_raises_and_every_document_is_accounted_for(
    cut: int, edits: list[tuple[int, int]]
) -> None:
    data = bytearray(VALID)
    for position, byte in edits:
        if byte in b'"\n{}[]':
            data.insert(position, byte)
        else:
            data[position] = byte
    mutated = bytes(data[: cut + len(edits)])
    assert_accounted(mutated, read(write_file(mutated)))
