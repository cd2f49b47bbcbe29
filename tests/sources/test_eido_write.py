"""NENA EIDO writer: read → write → read gives the same records, and NENA's schema accepts what
is written.

Schema validation is full: every document is checked against ``EmergencyIncidentDataObjectType``
of NENA's ``openapi.yaml``, following its ``$ref``\\ s into ``NIEMComponents/*.yaml`` as the
validator reaches them (``referencing`` resolves them lazily; a validator that compiles the whole
NIEM graph up front runs out of memory). Two things are adjusted, both on the validator's side:
the schema's one typo is read as meant (``AgentType.agentRoleRegistryText`` has
``minItems: 1,``, a string), and ``date-time`` is checked as RFC 3339 (offset required) because
``jsonschema`` checks that format only with an optional package. Registry texts ("Shall only
contain values present in the ... registry") are not checked: the registries are not in the
schema.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from tests.conftest import SHARED_REFERENCE
from tests.sources.test_eido import TZ, synthetic_incident

from corespond.demo.exports import eido as demo_writer
from corespond.sources.base import ReadOptions, SourceRow
from corespond.sources.cad_csv import unit_response_key
from corespond.sources.eido import EidoAdapter, document_records
from corespond.sources.eido_write import Sender, incident_document
from corespond.sources.parse import BLANKS
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
    PoliceIncidentIn,
    Record,
    ResponderType,
    UnitResponseIn,
)

EIDO = SHARED_REFERENCE / "eido"
SAMPLE = EIDO / "Sample call transfer EIDO.json"
DOCUMENT_TYPE = "#/components/schemas/EmergencyIncidentDataObjectType"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)


# --- the official schema -------------------------------------------------------------------


@cache  # the registry does not keep what it retrieves between validations
def _schema_file(uri: str) -> Resource[Any]:
    text = Path(uri.removeprefix("file://")).read_text(encoding="utf-8")
    text = text.replace("minItems: 1,", "minItems: 1")  # the schema's typo, read as meant
    return DRAFT4.create_resource(yaml.load(text, Loader=yaml.CSafeLoader))


def _rfc3339(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.fullmatch(value))


@cache
def schema_validator() -> Draft4Validator:
    formats = FormatChecker()
    formats.checks("date-time")(_rfc3339)
    return Draft4Validator(
        {"$ref": (EIDO / "openapi.yaml").resolve().as_uri() + DOCUMENT_TYPE},
        registry=Registry(retrieve=_schema_file),  # type: ignore[call-arg]  # attrs class
        format_checker=formats,
    )


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in schema_validator().iter_errors(document)
    ]


def nulls(value: object, path: str = "") -> list[str]:
    """Where a document holds null: empty optional fields are left out instead."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in nulls(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in nulls(item, f"{path}/{i}")]
    return []


def sent(records: tuple[Record, ...] | list[Record], **options: Any) -> dict[str, Any]:
    """The document as the receiving side gets it: written, checked, through JSON text."""
    document = incident_document(records, **options)
    assert schema_errors(document) == []
    assert nulls(document) == []
    return json.loads(json.dumps(document))


def round_trip(records: tuple[Record, ...] | list[Record], **options: Any) -> tuple[Record, ...]:
    return document_records(sent(records, **options), TZ)


def test_the_validator_checks_the_schema_through_the_niem_files() -> None:
    assert schema_errors(json.loads(SAMPLE.read_text())) == []
    broken = json.loads(SAMPLE.read_text())
    broken["lastUpdateTimeStamp"] = "2021-04-30 14:43"  # no offset, no T
    broken["personComponent"][0]["ncPersonComponent"] = {"sexCode": [{"simpleType": "Q"}]}
    del broken["callComponent"][0]["direction"]
    assert sorted(schema_errors(broken)) == [
        "callComponent/0: 'direction' is a required property",
        "lastUpdateTimeStamp: '2021-04-30 14:43' is not a 'date-time'",
        "personComponent/0/ncPersonComponent/sexCode/0/simpleType: "
        "'Q' is not one of ['F', 'M', 'U']",
    ]


# --- round trips of existing documents -------------------------------------------------------


def test_the_official_sample_round_trips() -> None:
    records = document_records(json.loads(SAMPLE.read_text()), TZ)
    assert round_trip(records) == records


def test_documents_the_demo_city_writes_round_trip() -> None:
    out = Path(tempfile.mkdtemp())
    records = synthetic_incident("24-000201") + synthetic_incident("24/000202")
    demo_writer.write(records, out, timezone=TZ)
    rows = list(EidoAdapter().read(out, ReadOptions(timezone=TZ)))
    assert len(rows) == 2
    for row in rows:
        assert isinstance(row, SourceRow), row
        assert round_trip(row.records) == row.records


def test_the_records_the_demo_writes_from_round_trip_without_the_demo() -> None:
    records = synthetic_incident("24/000202")
    assert round_trip(records) == tuple(records)


# --- what the writer decides -----------------------------------------------------------------


def test_times_carry_the_zone_asked_for_and_the_same_instants() -> None:
    records = synthetic_incident("24-000301")
    zone = ZoneInfo("America/Los_Angeles")
    document = sent(records, tz=zone)
    call = document["callComponent"][0]
    assert call["callStartTimestamp"].endswith("-07:00")
    assert all(
        entry.endswith("-07:00")
        for entry in document["incidentComponent"]["incidentStatusInternalText"]
    )
    back = document_records(document, TZ)
    assert back[0] == records[0]  # the same instants
    # A unit's key carries its dispatch time as written: another offset, another key.
    assert back[1].source_key != records[1].source_key
    assert back[1].model_dump(exclude={"source_key"}) == records[1].model_dump(
        exclude={"source_key"}
    )


def test_the_sender_names_the_document_and_every_component() -> None:
    sender = Sender(agency="988.crisis.example", agency_type="mental_health", role="Support")
    document = sent(
        synthetic_incident("24/9"), sender=sender, updated_at=datetime(2024, 5, 3, tzinfo=UTC)
    )
    assert document["$id"] == "urn:emergency:uid:incidentid:24%2F9:988.crisis.example"
    assert document["issuingElementIdentification"] == "988.crisis.example"
    assert document["lastUpdateTimeStamp"] == "2024-05-03T00:00:00+00:00"
    assert document["agencyComponent"] == [
        {
            "$id": "988.crisis.example",
            "lastUpdateTimeStamp": "2024-05-03T00:00:00+00:00",
            "updatedByAgencyReference": {"$ref": "988.crisis.example"},
            "agencyRoleDescriptionRegistryText": ["Support"],
            "agencyType": ["mental_health"],
        }
    ]
    components = [
        component
        for name, value in document.items()
        if name.endswith("Component")
        for component in (value if isinstance(value, list) else [value])
    ]
    assert {c["updatedByAgencyReference"]["$ref"] for c in components} == {"988.crisis.example"}


def test_a_caution_about_the_incident_location_shares_its_location() -> None:
    event = "24-000401"
    place = PlaceIn(street="12 Ferry Rd", city="Riverbend")
    records = [
        CallIn(source_key=event, place=place.model_copy(update={"beat": "K2"})),
        CautionIn(
            source_key=f"{event}/dog",
            call_key=event,
            place=place,
            caution_type="Dog on premises",
            severity=CautionSeverity.LOW,
        ),
    ]
    document = sent(records)
    (location,) = document["locationComponent"]
    (note,) = document["notesComponent"]
    assert location["notesReference"] == [{"$ref": note["$id"]}]
    assert note == {**note, "notesActionComments": "", "cautionReference": [{"$ref": "dog"}]}
    assert document_records(document, TZ) == tuple(records)


def test_generated_ids_step_aside_for_ids_that_keys_give() -> None:
    event = "E-1"
    person = f"{event}/note-1"
    records = [
        CallIn(source_key=event, notes=("first", "second")),
        PersonRecordIn(source_key=person, phone="5550100"),
        CallPersonIn(source_key=person, call_key=event, person_key=person, role="caller"),
    ]
    document = sent(records)
    ids = [
        c["$id"]
        for c in [
            *document["notesComponent"],
            *document["personComponent"],
            *document["callbackComponent"],
        ]
    ]
    assert len(ids) == len(set(ids)) and "note-1" in ids
    assert document_records(document, TZ) == tuple(records)


def test_text_that_looks_like_markup_stays_text() -> None:
    event = "24-000501"
    records = [CallIn(source_key=event, notes=("<b>not bold</b> & &amp; stays", "5 < 6 > 4"))]
    document = sent(records)
    assert document["notesComponent"][0]["notesActionComments"] == (
        "&lt;b&gt;not bold&lt;/b&gt; &amp; &amp;amp; stays"
    )
    assert document_records(document, TZ) == tuple(records)


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ([], "one incident has one CallIn, not 0"),
        ([CallIn(source_key="A"), CallIn(source_key="B")], "one incident has one CallIn, not 2"),
        (
            [
                CallIn(source_key="A"),
                UnitResponseIn(
                    source_key="B/1/", call_key="B", call_sign="1", responder_type="ems"
                ),
            ],
            "unit_response B/1/ is of call B, not A",
        ),
        (
            [CallIn(source_key="A"), PersonRecordIn(source_key="A/p")],
            "a person record and its CallPersonIn go together",
        ),
        (
            [
                CallIn(source_key="A"),
                CautionIn(source_key="A/c", person_key="A/p", caution_type="t", severity="high"),
            ],
            "cautions about a person not in the incident",
        ),
        (
            [
                CallIn(source_key="A"),
                PersonRecordIn(source_key="A/x"),
                CallPersonIn(source_key="A/x", call_key="A", person_key="A/x", role="caller"),
                CautionIn(source_key="A/x", caution_type="t", severity="high"),
            ],
            "gives the $id 'x', empty or taken",
        ),
        (
            [
                CallIn(source_key="A", received_at=datetime(2024, 1, 1, tzinfo=UTC)),
                CautionIn(
                    source_key="A/c",
                    caution_type="t",
                    severity="high",
                    valid_from=datetime(2024, 1, 1),
                ),
            ],
            "caution A/c: valid_from has no zone",
        ),
        (
            [
                CallIn(source_key="A"),
                PoliceIncidentIn(source_key="R", occurred_at=datetime(2024, 1, 1, tzinfo=UTC)),
            ],
            "EIDO carries no police_incident",
        ),
    ],
)
def test_records_that_are_not_one_incident_are_refused(records: list[Record], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        incident_document(records)


def test_an_update_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="2024-01-01T00:00:00 has no zone"):
        incident_document([CallIn(source_key="A")], updated_at=datetime(2024, 1, 1))


# --- any incident ----------------------------------------------------------------------------


CHARACTERS = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn"))
"""Text EIDO carries: no control characters (XML in PIDF-LO refuses them), no surrogates."""


def words(max_size: int = 16) -> st.SearchStrategy[str]:
    """Stripped, non-empty text the reader does not take for blank (``N/A``, ``none``...)."""
    return (
        st.text(CHARACTERS, min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(lambda word: bool(word) and word.lower() not in BLANKS)
    )


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


ZONES = st.sampled_from([UTC, *(timezone(timedelta(minutes=m)) for m in (-240, -420, 330))])
TIMES = st.datetimes(datetime(2000, 1, 1), datetime(2035, 12, 31), timezones=ZONES)
"""Aware times as the reader gives them, with a fixed offset (Python never finds a time in a
zone's repeated hour equal to the same instant in another zone)."""
COORDINATES = st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False))


@st.composite
def located_places(draw: st.DrawFn) -> PlaceIn:
    """A place PIDF-LO carries: a civic address part or a position, no beat."""
    position = draw(maybe(COORDINATES))
    place = PlaceIn(
        street=draw(maybe(words(30))),
        unit=draw(maybe(words(5))),
        city=draw(maybe(words())),
        state=draw(maybe(words(2))),
        zip=draw(maybe(st.from_regex(r"\d{5}", fullmatch=True))),
        neighborhood=draw(maybe(words())),
        latitude=position[0] if position else None,
        longitude=position[1] if position else None,
    )
    if all(value is None for value in place.model_dump().values()):
        place = place.model_copy(update={"city": "Riverbend"})
    return place


@st.composite
def persons(draw: st.DrawFn, event: str, person_id: str) -> tuple[PersonRecordIn, CallPersonIn]:
    key = f"{event}/{person_id}"
    address = draw(
        maybe(
            st.builds(
                AddressIn,
                street=maybe(words(30)),
                unit=maybe(words(5)),
                city=maybe(words()),
                state=maybe(words(2)),
                zip=maybe(st.from_regex(r"\d{5}(-\d{4})?", fullmatch=True)),
            ).filter(lambda address: any(address.model_dump().values()))
        )
    )
    names = st.builds(
        NameIn,
        first_name=maybe(words()),
        middle_name=maybe(words()),
        last_name=maybe(words()),
        suffix=maybe(st.sampled_from(["Jr", "Sr", "III"])),
    )
    name = draw(names)
    record = PersonRecordIn(
        source_key=key,
        **name.model_dump(),
        aliases=tuple(draw(st.lists(names, max_size=2))),
        dob=draw(maybe(st.dates(date(1900, 1, 1), date(2024, 12, 31)))),
        sex=draw(maybe(st.sampled_from(["female", "male", "unknown", "nonbinary", "x"]))),
        race=draw(maybe(words())),
        ethnicity=draw(maybe(words())),
        hair=draw(maybe(st.sampled_from(["BRO", "BLK", "GRY"]))),
        eyes=draw(maybe(st.sampled_from(["BRO", "BLU", "HAZ"]))),
        description=draw(maybe(words(40))),
        ssn=draw(maybe(st.from_regex(r"9\d\d-\d\d-\d{4}", fullmatch=True))),
        phone=draw(maybe(st.from_regex(r"[2-9]\d{9}", fullmatch=True))),
        address=address,
    )
    role = draw(
        st.sampled_from(["caller", "subject", "victim", "witness", "patient"])
        | words().map(str.lower).filter(lambda word: word == word.lower().strip())
    )
    return record, CallPersonIn(source_key=key, call_key=event, person_key=key, role=role)


@st.composite
def incidents(draw: st.DrawFn) -> list[Record]:
    """One incident's records as the reader gives them (see the module docstring of the writer
    for what EIDO cannot carry; none of it is generated here)."""
    event = draw(words(30))
    ids = draw(st.lists(words(12), min_size=5, max_size=5, unique=True))
    person_ids, caution_ids = ids[:3], ids[3:]
    received = draw(maybe(TIMES))
    place = draw(
        maybe(
            st.one_of(
                located_places().flatmap(
                    lambda p: maybe(words(6)).map(lambda beat: p.model_copy(update={"beat": beat}))
                ),
                words(6).map(lambda beat: PlaceIn(beat=beat)),
            )
        )
    )
    call = CallIn(
        source_key=event,
        call_source=draw(maybe(st.sampled_from(CallSource))) if received else None,
        priority=draw(maybe(st.integers(0, 9))),
        final_call_type=draw(maybe(words())),
        disposition=draw(maybe(words())),
        received_at=received,
        queued_at=draw(maybe(TIMES)),
        dispatched_at=draw(maybe(TIMES)),
        first_arrival_at=draw(maybe(TIMES)),
        cleared_at=draw(maybe(TIMES)),
        place=place,
        notes=tuple(draw(st.lists(words(60), max_size=3))),
    )
    units = []
    for _ in range(draw(st.integers(0, 3))):
        call_sign, dispatched = draw(words(8)), draw(maybe(TIMES))
        units.append(
            UnitResponseIn(
                source_key=unit_response_key(event, call_sign, dispatched),
                call_key=event,
                call_sign=call_sign,
                responder_type=draw(st.sampled_from(ResponderType)),
                dispatched_at=dispatched,
                en_route_at=draw(maybe(TIMES)),
                at_scene_at=draw(maybe(TIMES)),
                in_service_at=draw(maybe(TIMES)),
            )
        )
    pairs = [draw(persons(event, person_id)) for person_id in person_ids[: draw(st.integers(0, 3))]]
    # A caution's place travels when the call has a place of its own (else the reader would
    # take the caution's location for the call's).
    call_located = place is not None and place.model_copy(update={"beat": None}) != PlaceIn()
    caution_places = (
        st.none() | located_places() | st.just(place.model_copy(update={"beat": None}))  # type: ignore[union-attr]
        if call_located
        else st.none()
    )
    cautions = [
        CautionIn(
            source_key=f"{event}/{caution_id}",
            call_key=event,
            person_key=draw(st.sampled_from([None, *(person.source_key for person, _ in pairs)])),
            place=draw(caution_places),
            caution_type=draw(words()),
            severity=draw(st.sampled_from(CautionSeverity)),
            description=draw(maybe(words(60))),
            source=draw(maybe(words())),
            valid_from=draw(maybe(TIMES)),
        )
        for caution_id in caution_ids[: draw(st.integers(0, 2))]
    ]
    return [call, *units, *(record for pair in pairs for record in pair), *cautions]


@settings(max_examples=150, deadline=None)
@given(incidents())
def test_any_incident_round_trips_and_validates(records: list[Record]) -> None:
    assert round_trip(records) == tuple(records)
