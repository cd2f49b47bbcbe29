"""Write NENA EIDO JSON (NENA-STA-021.1a): one incident's canonical records as one document.

The reverse of :mod:`corespond.sources.eido`, whose module documentation gives the mapping and
the ``CODE ISO-TIME`` milestone convention; ``docs/eido.md`` lists what travels and what cannot.
Reading a written document gives back the records it was written from, every field, for records
of the form the reader produces (keys ``{incident}/{id}``, units keyed as in CAD CSV...).

What the reader cannot carry, so the writer either drops it or writes it for the receiving
system only:

- ``initial_call_type`` (written as the incident type only when there is no final type, so it
  reads back as ``final_call_type``), ``agency_key``, ``data_category``, place sector and
  precinct, a caution place's beat, ``CautionIn.valid_to``, person height and weight, every
  role of a person but the first, ``call_source`` of a call with no ``received_at`` (EIDO's call
  component requires a start time).
- keys the reader rebuilds: a unit's (``{incident}/{call sign}/{dispatch time}``), and a person's
  or caution's that is not ``{incident}/{id}`` (the whole key becomes the ``$id``).
- a caution's place when the call has no place of its own: the reader takes the first
  unreferenced location for the call's place.
- a phone number's non-digits, a role's or sex word's capitals (the reader keeps digits and
  lowercases), text that the reader reads as blank (``"N/A"``, ``"none"``, ``"null"``...).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from corespond.sources.eido import (
    EMERGENCY_CALL_TYPE,
    INCIDENT_STATUSES,
    NIEM_SEXES,
    UNIT_STATUSES,
)
from corespond.sources.parse import digits
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CallSource,
    CautionIn,
    NameIn,
    PersonRecordIn,
    PlaceIn,
    Record,
    ResponderType,
    UnitResponseIn,
)

EIDO_VERSION = "1.0"
EMERGENCY_SOURCES = frozenset({CallSource.E911, CallSource.TEXT})
SEX_CODES = {word: code for code, word in NIEM_SEXES.items()}
RESOURCE_REGISTRY_TEXTS = {
    ResponderType.POLICE: "Law Enforcement",
    ResponderType.FIRE: "Fire",
    ResponderType.EMS: "EMS",
    ResponderType.CARE_TEAM: "Care Team",
    ResponderType.CO_RESPONDER: "Co-Responder",
    ResponderType.OTHER: "Other",
}
"""Emergency resource type words; each reads back as its type even without the internal text."""
UNIT_STATUS_TEXTS = {
    "DISPATCHED": "Dispatched",
    "ENROUTE": "Enroute",
    "ONSCENE": "OnScene",
    "AVAILABLE": "Available",
}
PERSON_ROLE_TEXTS = {
    role: role.title() for role in ("caller", "patient", "subject", "suspect", "victim", "witness")
}
"""Person Role registry spellings of the common roles; other roles are written as they are."""
PLACE_PARTS = ("street", "unit", "city", "state", "zip", "neighborhood", "latitude", "longitude")
"""What PIDF-LO carries of a place (beat travels on the incident; sector and precinct do not)."""


@dataclass(frozen=True)
class Sender:
    """Who issues a document: the agency component every other component names as its updater.

    Attributes:
        agency: the agency's identifier, a domain name as NENA's samples use.
        agency_type: a value of the IANA ``urn:emergency:service:responder`` registry without its
            prefix (``psap``, ``police``, ``ems``...).
        role: an Agency Role registry value.
        element: the functional element that built the document
            (``issuingElementIdentification``); the agency when None.
    """

    agency: str = "corespond.example"
    agency_type: str = "psap"
    role: str = "CallReceiving"
    element: str | None = None


class _Incident:
    """One incident's records, checked to belong together, and the document they make."""

    def __init__(
        self, records: Iterable[Record], tz: tzinfo | None, sender: Sender, updated: datetime | None
    ) -> None:
        self.tz, self.sender = tz, sender
        calls: list[CallIn] = []
        self.units: list[UnitResponseIn] = []
        self.persons: dict[str, PersonRecordIn] = {}
        self.roles: dict[str, list[str]] = {}
        self.cautions: list[CautionIn] = []
        for record in records:
            if isinstance(record, CallIn):
                calls.append(record)
            elif isinstance(record, UnitResponseIn):
                self.units.append(record)
            elif isinstance(record, PersonRecordIn):
                self.persons[record.source_key] = record
            elif isinstance(record, CallPersonIn):
                self.roles.setdefault(record.person_key, []).append(record.role)
            elif isinstance(record, CautionIn):
                self.cautions.append(record)
            else:
                raise ValueError(f"EIDO carries no {record.kind} ({record.source_key})")
        if len(calls) != 1:
            raise ValueError(f"one incident has one CallIn, not {len(calls)}")
        self.call, self.event = calls[0], calls[0].source_key
        self._check()
        self.ids: set[str] = {sender.agency}
        self.person_ids = {key: self._local_id(key) for key in self.persons}
        self.caution_ids = [self._local_id(caution.source_key) for caution in self.cautions]
        self.updated = self.time(updated or self._latest())
        self.notes: list[dict[str, Any]] = []
        self.locations: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.person_notes: dict[str, list[str]] = {}
        self.incident_location: dict[str, Any] | None = None

    def _check(self) -> None:
        event = self.event
        linked: list[UnitResponseIn | CautionIn] = [*self.units, *self.cautions]
        for record in linked:
            if record.call_key not in (event, None):
                raise ValueError(
                    f"{record.kind} {record.source_key} is of call {record.call_key}, not {event}"
                )
        timed: list[Record] = [self.call, *linked]
        for timed_record in timed:
            for name, value in timed_record:
                if isinstance(value, datetime) and value.utcoffset() is None:
                    raise ValueError(
                        f"{timed_record.kind} {timed_record.source_key}: {name} has no zone"
                    )
        unpaired = sorted(set(self.persons) ^ set(self.roles))
        if unpaired:
            raise ValueError(
                f"call {event}: a person record and its CallPersonIn go together: {unpaired}"
            )
        strangers = [
            c.source_key for c in self.cautions if c.person_key not in (None, *self.persons)
        ]
        if strangers:
            raise ValueError(
                f"call {event}: cautions about a person not in the incident: {strangers}"
            )

    def _local_id(self, key: str) -> str:
        """The ``$id`` that reads back as ``key``: the id part of ``{incident}/{id}``."""
        local = key.removeprefix(f"{self.event}/")
        if not local or local in self.ids:
            raise ValueError(f"call {self.event}: {key!r} gives the $id {local!r}, empty or taken")
        self.ids.add(local)
        return local

    def new_id(self, stem: str) -> str:
        """A generated ``$id`` that no key-given one takes."""
        candidate, number = stem, 1
        while candidate in self.ids:
            number += 1
            candidate = f"{stem}.{number}"
        self.ids.add(candidate)
        return candidate

    def _latest(self) -> datetime:
        call = self.call
        times = [
            *(getattr(call, name) for name in INCIDENT_STATUSES.values()),
            call.received_at,
            *(getattr(unit, name) for unit in self.units for name in UNIT_STATUSES.values()),
            *(caution.valid_from for caution in self.cautions),
        ]
        return max((time for time in times if time is not None), default=datetime.now(UTC))

    def time(self, value: datetime) -> str:
        if value.utcoffset() is None:
            raise ValueError(f"call {self.event}: {value.isoformat()} has no zone")
        return (value.astimezone(self.tz) if self.tz else value).isoformat()

    def prologue(self, component_id: str, when: datetime | None = None) -> dict[str, Any]:
        return {
            "$id": component_id,
            "lastUpdateTimeStamp": self.time(when) if when else self.updated,
            "updatedByAgencyReference": {"$ref": self.sender.agency},
        }

    def note(self, text: str, caution_id: str | None = None) -> str:
        # Named by its text, not its place: a CAD that sends the incident again with one more
        # note (merged by $id, as corespond's intake does) keeps every note once.
        digest = hashlib.sha256(f"{caution_id or ''}\n{text}".encode()).hexdigest()[:12]
        note_id = self.new_id(f"note-{digest}")
        note = {**self.prologue(note_id), "notesActionComments": html.escape(text, quote=False)}
        if caution_id is not None:
            note["cautionReference"] = [{"$ref": caution_id}]
        self.notes.append(note)
        return note_id

    def location(self, stem: str, kind: str, place: AddressIn) -> dict[str, Any]:
        location = {
            **self.prologue(self.new_id(stem)),
            "locationTypeDescriptionRegistryText": kind,
            "locationByValue": pidf_lo(place),
        }
        self.locations.append(location)
        return location

    def incident_location_of(self, place: PlaceIn) -> dict[str, Any] | None:
        """The incident's location component when ``place`` is the incident's own place."""
        call_place = self.call.place
        if self.incident_location is None or call_place is None:
            return None
        same = all(getattr(place, name) == getattr(call_place, name) for name in PLACE_PARTS)
        return self.incident_location if same else None

    # --- the document --------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        sender = self.sender
        incident = self.incident()
        cautions = [
            self.caution(caution, caution_id)
            for caution, caution_id in zip(self.cautions, self.caution_ids, strict=True)
        ]
        persons = self.person_components()
        if persons:
            incident["personReference"] = [{"$ref": person["$id"]} for person in persons]
        document: dict[str, Any] = {
            **self.prologue(
                f"urn:emergency:uid:incidentid:{quote(self.event, safe='')}:{sender.agency}"
            ),
            "eidoVersion": EIDO_VERSION,
            "issuingElementIdentification": sender.element or sender.agency,
            "agencyComponent": [
                {
                    **self.prologue(sender.agency),
                    "agencyRoleDescriptionRegistryText": [sender.role],
                    "agencyType": [sender.agency_type],
                }
            ],
            "incidentComponent": incident,
            "callComponent": self.call_components(persons),
            "callbackComponent": self.callbacks,
            "emergencyResourceComponent": [self.unit(unit) for unit in self.units],
            "locationComponent": self.locations,
            "personComponent": persons,
            "cautionComponent": cautions,
            "notesComponent": self.notes,
        }
        return {name: value for name, value in document.items() if value != []}

    def incident(self) -> dict[str, Any]:
        call = self.call
        call_type = call.final_call_type or call.initial_call_type
        incident: dict[str, Any] = {
            **self.prologue(self.new_id("incident")),
            # Required; empty rather than a made-up registry word, which would read back as a type.
            "incidentTypeCommonRegistryText": call_type or "",
            "internalIncidentId": self.event,
        }
        if call_type:
            incident["incidentTypeInternalText"] = call_type
        statuses = [
            f"{code} {self.time(getattr(call, name))}"
            for code, name in INCIDENT_STATUSES.items()
            if getattr(call, name) is not None
        ]
        if statuses:
            incident["incidentStatusInternalText"] = statuses
        if call.priority is not None:
            incident["incidentCommonPriorityNumber"] = call.priority
            incident["incidentPriorityInternalText"] = str(call.priority)
        if call.place is not None and call.place.beat:
            incident["beatOrDispatchGroupText"] = call.place.beat
        if call.disposition:
            incident["dispositionComponent"] = [
                {
                    **self.prologue(self.new_id("disposition")),
                    "dispositionCommonRegistryCode": call.disposition,
                    "dispositionPrimaryIndicator": True,
                    "dispositionDescriptionText": call.disposition,
                }
            ]
        if call.place is not None and located(call.place):
            self.incident_location = self.location("location-incident", "Incident", call.place)
            incident["locationReference"] = [{"$ref": self.incident_location["$id"]}]
        note_ids = [self.note(text) for text in call.notes if text]
        if note_ids:
            incident["notesReference"] = [{"$ref": note_id} for note_id in note_ids]
        return incident

    def call_components(self, persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
        call = self.call
        if call.received_at is None:  # an on-view event has no call, and a call needs a start
            return []
        call_id = self.new_id(
            f"urn:emergency:uid:callid:{quote(self.event, safe='')}:{self.sender.agency}"
        )
        for person in persons:
            person["callIdentifier"] = [call_id]
        source = call.call_source
        component: dict[str, Any] = {
            **self.prologue(call_id, call.received_at),
            "standardPrimaryCallType": "unknown"
            if source is None
            else EMERGENCY_CALL_TYPE
            if source in EMERGENCY_SOURCES
            else "nonEmergency",
            "direction": "incoming",
            "callStartTimestamp": self.time(call.received_at),
            "answerDate": self.time(call.received_at),
            "callStateRegistryText": "callEnd",
        }
        if source is not None:
            component["localCallType"] = source.value
        if self.incident_location is not None:
            component["locationReference"] = [{"$ref": self.incident_location["$id"]}]
        if persons:
            component["personReference"] = [{"$ref": person["$id"]} for person in persons]
        callers = [p for p in persons if "Caller" in p["personIncidentRoleRegistryText"]]
        if callers and "callBackReference" in callers[0]:
            component["callBackReference"] = callers[0]["callBackReference"]
        return [component]

    def unit(self, unit: UnitResponseIn) -> dict[str, Any]:
        statuses = [
            (getattr(unit, name), code)
            for code, name in UNIT_STATUSES.items()
            if getattr(unit, name) is not None
        ]
        latest = max(statuses, key=lambda status: status[0], default=None)
        return {
            **self.prologue(self.new_id(f"unit-{unit.call_sign}"), latest[0] if latest else None),
            "emergencyResourceTypeCommonRegistryText": RESOURCE_REGISTRY_TEXTS[unit.responder_type],
            "emergencyResourceTypeInternalText": unit.responder_type.value,
            "resourceAttributeRegistryText": [],
            "emergencyResourceName": unit.call_sign,
            "primaryUnitStatusRegistryText": UNIT_STATUS_TEXTS[latest[1]] if latest else "Unknown",
            "secondaryUnitStatusRegistryText": [],
            "unitStatusInternal": [f"{code} {self.time(when)}" for when, code in statuses],
            "agentReference": [],
        }

    def person_components(self) -> list[dict[str, Any]]:
        persons = []
        for key, record in self.persons.items():
            person_id = self.person_ids[key]
            person: dict[str, Any] = {
                **self.prologue(person_id),
                "personIncidentRoleRegistryText": [
                    PERSON_ROLE_TEXTS.get(role.lower(), role) for role in self.roles[key]
                ],
            }
            niem = niem_person(record)
            if niem:
                person["ncPersonComponent"] = niem
            if record.address is not None and any(record.address.model_dump().values()):
                location = self.location(f"location-{person_id}", "Residence", record.address)
                person["locationReference"] = [{"$ref": location["$id"]}]
            if person_id in self.person_notes:
                person["notesReference"] = [{"$ref": n} for n in self.person_notes[person_id]]
            phone = digits(record.phone)
            if phone:
                callback_id = self.new_id(f"callback-{person_id}")
                self.callbacks.append(
                    {**self.prologue(callback_id), "callBackInformationUri": [f"tel:{phone}"]}
                )
                person["callBackReference"] = {"$ref": callback_id}
            persons.append(person)
        return persons

    def caution(self, caution: CautionIn, caution_id: str) -> dict[str, Any]:
        component: dict[str, Any] = {
            **self.prologue(caution_id),
            "cautionTypeInternalText": caution.caution_type,
            "cautionTypeCommonRegistryText": caution.caution_type,
            "cautionSeverity": caution.severity.value,
        }
        if caution.source:
            component["cautionSource"] = caution.source
        if caution.valid_from is not None:
            component["startDate"] = self.time(caution.valid_from)
        place = caution.place if caution.place is not None and located(caution.place) else None
        if caution.description is None and caution.person_key is None and place is None:
            return component
        # EIDO links a caution to nothing directly: a note names it and carries its text, and
        # the person or location that references the note is what the caution is about.
        note_id = self.note(caution.description or "", caution_id)
        if caution.person_key is not None:
            self.person_notes.setdefault(self.person_ids[caution.person_key], []).append(note_id)
        if place is not None:
            location = self.incident_location_of(place) or self.location(
                f"location-{caution_id}", "Caution", place
            )
            location.setdefault("notesReference", []).append({"$ref": note_id})
        return component


def located(place: AddressIn) -> bool:
    """True when PIDF-LO can carry something of the place (an address part or a position)."""
    return any(getattr(place, name, None) is not None for name in PLACE_PARTS)


def pidf_lo(place: AddressIn) -> str:
    """A PIDF-LO ``presence`` document with the place's civic address and position.

    The street goes whole into ``RD`` (the reader joins ``HNO HNS PRD RD STS POD``), and a
    position only when there are both latitude and longitude.
    """
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
    civic_block = (
        '<civicAddress xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">'
        f"{elements}</civicAddress>"
        if elements
        else ""
    )
    latitude, longitude = getattr(place, "latitude", None), getattr(place, "longitude", None)
    point = (
        f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{latitude!r} {longitude!r}'
        "</gml:pos></gml:Point>"
        if latitude is not None and longitude is not None
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
    """The NIEM ``nc:Person`` of a person record: names (the first is the record's own, then the
    aliases), birth date, sex, race, ethnicity, hair, eyes, description and SSN."""
    primary = _niem_name(person)
    niem: dict[str, Any] = {
        "name": [primary, *map(_niem_name, person.aliases)] if primary or person.aliases else [],
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


def incident_document(
    records: Iterable[Record],
    *,
    tz: tzinfo | None = None,
    sender: Sender = Sender(),
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """One EIDO 1.0 document (``EmergencyIncidentDataObjectType``) of one incident's records.

    Reading the document back (:func:`corespond.sources.eido.document_records`) gives the same
    records, every field, when they are of the form the reader produces; the module
    documentation lists what EIDO cannot carry. The document validates against NENA's
    ``openapi.yaml``. Empty optional fields are left out, never written as null.

    Args:
        records: one ``CallIn`` and its ``UnitResponseIn``, ``PersonRecordIn`` with their
            ``CallPersonIn``, and ``CautionIn`` records, in any order; units, persons and
            cautions are written in the order given.
        tz: the zone whose offset times are written with (a CAD's local zone, say). None keeps
            each time's own offset, which the reader needs to rebuild the same unit keys.
        sender: the issuing agency, named as the updater of every component.
        updated_at: the document's ``lastUpdateTimeStamp``; by default the latest time the
            records hold (now, when they hold none).

    Returns:
        The document as JSON-ready Python values (``json.dumps`` it to send).

    Raises:
        ValueError: not one incident's records: no ``CallIn`` or several, a record of another
            call or of a kind EIDO does not carry, a person record without its ``CallPersonIn``
            (or the reverse), a caution about a person who is not in the incident, two keys
            giving the same ``$id``, or a time without a zone.

    Example:
        >>> from datetime import UTC, datetime
        >>> call = CallIn(source_key="24-000123", priority=1, final_call_type="WELFARE CHECK",
        ...               received_at=datetime(2024, 5, 2, 17, 3, tzinfo=UTC))
        >>> document = incident_document([call], sender=Sender(agency="psap.metro.example"))
        >>> document["incidentComponent"]["internalIncidentId"]
        '24-000123'
        >>> document["callComponent"][0]["callStartTimestamp"]
        '2024-05-02T17:03:00+00:00'
    """
    return _Incident(records, tz, sender, updated_at).document()
