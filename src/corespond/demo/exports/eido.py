"""Write canonical call records as NENA EIDO JSON: one document per incident, one file each.

Each file is named by the CAD event number, percent-encoded so that any key is a safe and
distinct file name (``24-000123.json``). Records must come in the generator's order: a
``CallIn``, then its ``UnitResponseIn``\\ s, ``PersonRecordIn`` + ``CallPersonIn`` pairs and
``CautionIn``\\ s (``call_key`` set), then the next ``CallIn``; only the current incident is held
in memory. Records of other kinds are skipped. The reader is :mod:`corespond.sources.eido`,
whose module documentation describes the mapping and the ``CODE ISO-TIME`` status convention
used for event and unit milestones.

What does not survive a round trip:

- keys the reader rebuilds: units (as in CAD CSV), persons and call-persons
  (``{event}/{person id}``), cautions (``{event}/{caution id}``); a key already of that form
  keeps its id part.
- ``CallIn.initial_call_type`` (EIDO has one incident type: the final type, else the initial,
  is written and read back as ``final_call_type``; a call with neither reads back as
  ``Unknown``, the registry text the schema requires), ``agency_key``, ``call_source`` when there is
  no ``received_at`` (no call component is written), place sector and precinct, ``data_category``.
- person suffix-less aliases keep their parts; height and weight are dropped;
  ``CautionIn.valid_to``; a caution's ``person_key`` that names no person of the incident.
- times keep their instant and are written with the zone's offset, to the microsecond.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from corespond.sources.eido import EMERGENCY_CALL_TYPE, INCIDENT_STATUSES, UNIT_STATUSES
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CallSource,
    CautionIn,
    NameIn,
    PersonRecordIn,
    Record,
    UnitResponseIn,
)

DEFAULT_AGENCY = "psap.corespond.example"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EMERGENCY_SOURCES = {CallSource.E911, CallSource.TEXT}
SEX_CODES = {"female": "F", "male": "M", "unknown": "U"}


class _Incident:
    """The records of one incident, gathered until the next ``CallIn``."""

    def __init__(self, call: CallIn, timezone: ZoneInfo) -> None:
        self.call, self.timezone = call, timezone
        self.agency = call.agency_key or DEFAULT_AGENCY
        self.units: list[UnitResponseIn] = []
        self.persons: dict[str, PersonRecordIn] = {}
        self.links: dict[str, CallPersonIn] = {}
        self.cautions: list[CautionIn] = []
        self.notes: list[dict[str, Any]] = []
        self.locations: list[dict[str, Any]] = []
        self.person_notes: dict[str, list[str]] = {}
        """Person id → the notes that link cautions to that person."""

    def add(self, record: Record) -> None:
        linked = isinstance(record, UnitResponseIn | CallPersonIn | CautionIn)
        if linked and record.call_key != self.call.source_key:  # type: ignore[attr-defined]
            raise ValueError(
                f"{record.kind} {record.source_key} refers to call {record.call_key}, "  # type: ignore[attr-defined]
                f"not to the CallIn just before it ({self.call.source_key})"
            )
        if isinstance(record, UnitResponseIn):
            self.units.append(record)
        elif isinstance(record, PersonRecordIn):
            self.persons[record.source_key] = record
        elif isinstance(record, CallPersonIn):
            self.links[record.person_key] = record
        elif isinstance(record, CautionIn):
            self.cautions.append(record)

    # --- helpers ---------------------------------------------------------------------------

    def time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.timezone)
        return value.astimezone(self.timezone).isoformat()

    def updated(self) -> str:
        call = self.call
        times = [
            call.received_at,
            call.queued_at,
            call.dispatched_at,
            call.first_arrival_at,
            call.cleared_at,
            *[u.in_service_at or u.at_scene_at or u.dispatched_at for u in self.units],
        ]
        return self.time(max((t for t in times if t), default=EPOCH)) or ""

    def prologue(self, component_id: str, when: datetime | None = None) -> dict[str, Any]:
        return {
            "$id": component_id,
            "lastUpdateTimeStamp": self.time(when) or self.updated(),
            "updatedByAgencyReference": {"$ref": self.agency},
        }

    def local_id(self, key: str) -> str:
        """The id part of a key the reader builds as ``{event}/{id}``."""
        return key.removeprefix(f"{self.call.source_key}/")

    def location(self, location_id: str, kind: str, place: AddressIn) -> dict[str, Any]:
        location = {
            **self.prologue(location_id),
            "locationTypeDescriptionRegistryText": kind,
            "locationByValue": pidf_lo(place),
        }
        self.locations.append(location)
        return location

    def note(self, text: str, caution_id: str | None = None) -> str:
        note_id = f"note:{len(self.notes) + 1}"
        note: dict[str, Any] = {**self.prologue(note_id), "notesActionComments": html.escape(text)}
        if caution_id:
            note["cautionReference"] = [{"$ref": caution_id}]
        self.notes.append(note)
        return note_id

    # --- components ------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        call, event = self.call, self.call.source_key
        unpaired = sorted(set(self.persons) ^ set(self.links))
        if unpaired:
            raise ValueError(f"call {event}: person records without a CallPersonIn: {unpaired}")
        incident: dict[str, Any] = {
            **self.prologue(f"incident:{event}"),
            "incidentTypeCommonRegistryText": call.final_call_type
            or call.initial_call_type
            or "Unknown",
            "internalIncidentId": event,
            "incidentStatusInternalText": [
                f"{code} {self.time(getattr(call, name))}"
                for code, name in INCIDENT_STATUSES.items()
                if getattr(call, name)
            ],
        }
        if call.final_call_type or call.initial_call_type:
            incident["incidentTypeInternalText"] = call.final_call_type or call.initial_call_type
        if call.priority is not None:
            incident["incidentCommonPriorityNumber"] = call.priority
            incident["incidentPriorityInternalText"] = str(call.priority)
        if call.disposition:
            incident["dispositionComponent"] = [
                {
                    **self.prologue(f"disposition:{event}"),
                    "dispositionCommonRegistryCode": call.disposition,
                    "dispositionPrimaryIndicator": True,
                    "dispositionDescriptionText": call.disposition,
                }
            ]
        if call.place is not None:
            incident["beatOrDispatchGroupText"] = call.place.beat
            if _has_address(call.place):
                self.location("location:incident", "Incident", call.place)
                incident["locationReference"] = [{"$ref": "location:incident"}]
        note_ids = [self.note(text) for text in call.notes]
        if note_ids:
            incident["notesReference"] = [{"$ref": note_id} for note_id in note_ids]
        cautions = [self.caution_component(caution) for caution in self.cautions]
        persons, callbacks = self.person_components()
        if persons:
            incident["personReference"] = [{"$ref": person["$id"]} for person in persons]
        units, dispatches = self.unit_components()
        document: dict[str, Any] = {
            **self.prologue(f"urn:emergency:uid:incidentid:{event}:{self.agency}"),
            "eidoVersion": "1.0",
            "issuingElementIdentification": self.agency,
            "agencyComponent": [
                {
                    **self.prologue(self.agency),
                    "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                    "agencyType": ["psap"],
                    "incidentOwningAgencyIndicator": True,
                }
            ],
            "incidentComponent": incident,
            "callComponent": self.call_components(),
            "callbackComponent": callbacks,
            "dispatchComponent": dispatches,
            "emergencyResourceComponent": units,
            "locationComponent": self.locations,
            "personComponent": persons,
            "cautionComponent": cautions,
            "notesComponent": self.notes,
        }
        return {name: value for name, value in document.items() if value != []}

    def call_components(self) -> list[dict[str, Any]]:
        call = self.call
        if call.received_at is None:  # an on-view or officer-initiated event has no call
            return []
        component = {
            **self.prologue(f"call:{call.source_key}", call.received_at),
            "standardPrimaryCallType": EMERGENCY_CALL_TYPE
            if call.call_source in EMERGENCY_SOURCES
            else "nonEmergency",
            "direction": "incoming",
            "callStartTimestamp": self.time(call.received_at),
            "answerDate": self.time(call.received_at),
            "callStateRegistryText": "callEnd",
        }
        if call.call_source is not None:
            component["localCallType"] = call.call_source.value
        return [component]

    def unit_components(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        units, dispatches = [], []
        for number, unit in enumerate(self.units, start=1):
            unit_id = f"unit:{number}:{unit.call_sign}"
            statuses = [
                (code, getattr(unit, name))
                for code, name in UNIT_STATUSES.items()
                if getattr(unit, name)
            ]
            units.append(
                {
                    **self.prologue(unit_id, statuses[-1][1] if statuses else None),
                    "emergencyResourceTypeCommonRegistryText": unit.responder_type.value,
                    "emergencyResourceTypeInternalText": unit.responder_type.value,
                    "resourceAttributeRegistryText": [],
                    "emergencyResourceName": unit.call_sign,
                    "primaryUnitStatusRegistryText": statuses[-1][0] if statuses else "Unknown",
                    "secondaryUnitStatusRegistryText": [],
                    "unitStatusInternal": [f"{code} {self.time(when)}" for code, when in statuses],
                    "agentReference": [],
                }
            )
            if unit.dispatched_at:
                dispatches.append(
                    {
                        **self.prologue(f"dispatch:{number}", unit.dispatched_at),
                        "emergencyResourceReference": [{"$ref": unit_id}],
                    }
                )
        return units, dispatches

    def person_components(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        persons, callbacks = [], []
        for key, record in self.persons.items():
            person_id = self.local_id(key)
            person: dict[str, Any] = {
                **self.prologue(person_id),
                "personIncidentRoleRegistryText": [self.links[key].role.title()],
                "ncPersonComponent": niem_person(record),
            }
            if self.call.received_at is not None:
                person["callIdentifier"] = [f"call:{self.call.source_key}"]
            if record.address is not None and _has_address(record.address):
                location_id = f"location:{person_id}"
                self.location(location_id, "Residence", record.address)
                person["locationReference"] = [{"$ref": location_id}]
            if record.phone:
                callback_id = f"callback:{person_id}"
                callbacks.append(
                    {
                        **self.prologue(callback_id),
                        "callBackInformationUri": [f"tel:{record.phone}"],
                    }
                )
                person["callBackReference"] = {"$ref": callback_id}
            if person_id in self.person_notes:
                person["notesReference"] = [{"$ref": n} for n in self.person_notes[person_id]]
            persons.append(person)
        return persons, callbacks

    def caution_component(self, caution: CautionIn) -> dict[str, Any]:
        caution_id = self.local_id(caution.source_key)
        component: dict[str, Any] = {
            **self.prologue(caution_id),
            "cautionTypeInternalText": caution.caution_type,
            "cautionTypeCommonRegistryText": caution.caution_type,
            "cautionSeverity": caution.severity.value,
        }
        if caution.source:
            component["cautionSource"] = caution.source
        if caution.valid_from:
            component["startDate"] = self.time(caution.valid_from)
        # EIDO links a caution through a note that names it; the note carries the description.
        note_id = self.note(caution.description or "", caution_id)
        if caution.person_key and caution.person_key in self.persons:
            person_id = self.local_id(caution.person_key)
            self.person_notes.setdefault(person_id, []).append(note_id)
        if caution.place is not None and _has_address(caution.place):
            location = self.location(f"location:{caution_id}", "Caution", caution.place)
            location["notesReference"] = [{"$ref": note_id}]
        return component


LOCATED_BY = ("street", "unit", "city", "state", "zip", "neighborhood", "latitude", "longitude")


def _has_address(place: AddressIn) -> bool:
    """True when PIDF-LO can carry something of the place (beat and sector it cannot)."""
    return any(getattr(place, name, None) is not None for name in LOCATED_BY)


def pidf_lo(place: AddressIn) -> str:
    """A PIDF-LO ``presence`` document with the place's civic address and position."""
    civic = {
        "A1": place.state,
        "A3": place.city,
        "A5": getattr(place, "neighborhood", None),
        "RD": place.street,
        "UNIT": place.unit,
        "PC": place.zip,
    }
    elements = "".join(
        f"<{name}>{escape(value)}</{name}>" for name, value in civic.items() if value
    )
    latitude, longitude = getattr(place, "latitude", None), getattr(place, "longitude", None)
    point = (
        f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{latitude!r} {longitude!r}'
        "</gml:pos></gml:Point>"
        if latitude is not None and longitude is not None
        else ""
    )
    civic_block = (
        f'<civicAddress xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">{elements}'
        "</civicAddress>"
        if elements
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" '
        'entity="pres:incident@corespond.example"><tuple id="location"><status><gp:geopriv>'
        f"<gp:location-info>{civic_block}{point}</gp:location-info>"
        "<gp:usage-rules/></gp:geopriv></status></tuple></presence>"
    )


def _texts(value: str | None) -> list[dict[str, str]]:
    return [{"value": value}] if value else []


def _niem_name(name: NameIn | PersonRecordIn) -> dict[str, Any]:
    parts = {
        "personGivenName": _texts(name.first_name),
        "personMiddleName": _texts(name.middle_name),
        "personSurName": _texts(name.last_name),
        "suffix": _texts(name.suffix),
    }
    return {part: value for part, value in parts.items() if value}


def niem_person(person: PersonRecordIn) -> dict[str, Any]:
    """The NIEM ``nc:Person`` of a person record (names, birth date, sex, description)."""
    names: list[NameIn | PersonRecordIn] = [person, *person.aliases]
    niem: dict[str, Any] = {
        "name": [_niem_name(name) for name in names],
        "birthDate": [{"date": _texts(person.dob.isoformat())}] if person.dob else [],
        "race": _texts(person.race),
        "ethnicity": _texts(person.ethnicity),
        "hairColor": _texts(person.hair),
        "eyeColor": _texts(person.eyes),
        "description": _texts(person.description),
        "ssnIdentification": [{"identificationId": _texts(person.ssn)}] if person.ssn else [],
    }
    if person.sex in SEX_CODES:
        niem["sexCode"] = [{"simpleType": SEX_CODES[person.sex]}]
    elif person.sex:
        niem["sex"] = _texts(person.sex)
    return {name: value for name, value in niem.items() if value}


def _file_name(event: str) -> str:
    return quote(event, safe="") + ".json"


def write(records: Iterable[Record], out_dir: Path, *, timezone: ZoneInfo) -> list[Path]:
    """Stream call records to one EIDO JSON document per incident in ``out_dir``.

    Args:
        records: ``CallIn`` each followed by its units, person pairs and cautions.
        out_dir: created if missing; a file of the same name is replaced.
        timezone: the CAD's zone; times are written as ISO 8601 with its offset.

    Returns:
        The files written, one per incident, in the order of the calls.

    Raises:
        ValueError: records out of the expected order.

    Example:
        >>> zone = ZoneInfo("America/Los_Angeles")
        >>> write(generated_calls, Path("out/eido"), timezone=zone)  # doctest: +SKIP
        [PosixPath('out/eido/24-000001.json'), ...]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    incident: _Incident | None = None

    def flush() -> None:
        if incident is None:
            return
        path = out_dir / _file_name(incident.call.source_key)
        path.write_text(json.dumps(incident.document(), indent=2) + "\n", encoding="utf-8")
        written.append(path)

    for record in records:
        if isinstance(record, CallIn):
            flush()
            incident = _Incident(record, timezone)
        elif isinstance(record, UnitResponseIn | PersonRecordIn | CallPersonIn | CautionIn):
            if incident is None:
                raise ValueError(f"{record.kind} {record.source_key} comes before any CallIn")
            incident.add(record)
    flush()
    return written
