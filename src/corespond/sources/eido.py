"""NENA EIDO JSON (NENA-STA-021.1a): one incident per document (``eido``).

A file holds one ``EmergencyIncidentDataObjectType`` document or a JSON array of them; a
folder's ``*.json`` files are read in name order. Each document is one source row. An array is
split into its documents as it streams (:func:`split_json_array`), so one broken document is
rejected alone and memory stays at one document.

What a document yields (schema: ``openapi.yaml`` and ``NIEMComponents/nc.yaml`` of NENA's
EIDO-JSON):

- a :class:`CallIn` keyed by ``incidentComponent.internalIncidentId`` (else the incident's
  ``$id``, else the document's ``$id``, which the standard's samples set to the incident URN).
  ``incidentComponent`` is one object in EIDO 1.0 and an array in older drafts: both are read.
  The call's received time is the first ``callComponent``'s ``answerDate`` (else
  ``callStartTimestamp``); its place is the incident's location (PIDF-LO civic address, else
  ``gml:pos`` latitude and longitude); its notes are the ``notesComponent`` texts.
- a :class:`UnitResponseIn` per ``emergencyResourceComponent``, keyed like CAD CSV units.
- a :class:`PersonRecordIn` and :class:`CallPersonIn` per ``personComponent``, keyed
  ``{incident}/{person $id}``, from the NIEM ``nc:Person`` in ``ncPersonComponent``.
- a :class:`CautionIn` per ``cautionComponent``, keyed ``{incident}/{caution $id}``. EIDO links a
  caution to nothing directly: a note (or additional data) names the caution in its
  ``cautionReference``, and the person or location that references that note is the one the
  caution is about; the note's text is the caution's description.

EIDO 1.0 has no field for event milestones, so corespond writes them as the agency-local status
codes the schema allows, one ``CODE ISO-TIME`` string each: ``incidentStatusInternalText``
(``QUEUED``, ``DISPATCHED``, ``ARRIVED``, ``CLEARED``) and a unit's ``unitStatusInternal``
(``DISPATCHED``, ``ENROUTE``, ``ONSCENE``, ``AVAILABLE``). Other status strings are ignored; a
unit with no ``DISPATCHED`` entry takes the time of the ``dispatchComponent`` that sent it.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

from corespond.sources.base import (
    MAX_RAW_CHARS,
    Item,
    ReadOptions,
    Rejection,
    SourceError,
    SourceRow,
)
from corespond.sources.cad_csv import unit_response_key
from corespond.sources.jsonstream import JSON_SPACE, decoded_chunks, split_json_array
from corespond.sources.parse import (
    FieldError,
    digits,
    explain,
    parse_code,
    parse_date,
    parse_datetime,
    parse_severity,
    text,
)
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

"""JSON's whitespace; ``str.strip()`` would also drop control characters that make text bad."""
INCIDENT_STATUSES = {
    "QUEUED": "queued_at",
    "DISPATCHED": "dispatched_at",
    "ARRIVED": "first_arrival_at",
    "CLEARED": "cleared_at",
}
UNIT_STATUSES = {
    "DISPATCHED": "dispatched_at",
    "ENROUTE": "en_route_at",
    "ONSCENE": "at_scene_at",
    "AVAILABLE": "in_service_at",
}
_STATUS_ENTRY = re.compile(r"^\s*([A-Za-z_]+)\s+(\d{4}-\d\d-\d\dT\S+)\s*$")
NIEM_SEXES = {"F": "female", "M": "male", "U": "unknown"}
"""NCIC SEX codes (``ncic:SEXCodeSimpleType``)."""
RESPONDER_WORDS: dict[str, ResponderType] = {
    **{kind.value: kind for kind in ResponderType},
    "law enforcement": ResponderType.POLICE,
    "lawenforcement": ResponderType.POLICE,
    "ambulance": ResponderType.EMS,
    "care team": ResponderType.CARE_TEAM,
    "coresponse": ResponderType.CO_RESPONDER,
    "co-responder": ResponderType.CO_RESPONDER,
}
"""Resource type words (internal text first, then the registry text); others read as ``other``."""
EMERGENCY_CALL_TYPE = "emergency"
STREET_PARTS = ("HNO", "HNS", "PRD", "RD", "STS", "POD")
"""PIDF-LO civic address elements (RFC 4776/5139) that make the street line, in order."""
_CIVIC = re.compile(r"<(?:[\w.-]+:)?civicAddress\b[^>]*>(.*?)</(?:[\w.-]+:)?civicAddress>", re.S)
_CIVIC_ELEMENT = re.compile(r"<(?:[\w.-]+:)?([A-Za-z0-9]+)\b[^>/]*>([^<]*)</")
_POSITION = re.compile(r"<(?:[\w.-]+:)?pos\b[^>]*>\s*([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)")
_TAG = re.compile(r"<[^>]*>")


# --- reading one document ------------------------------------------------------------------------


def _objects(owner: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = owner.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise FieldError(f"{name}[{position}]", item, "not a JSON object")
    return items


def _string(owner: dict[str, Any], name: str) -> str | None:
    value = owner.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(name, value, "not a string")
    return text(str(value))


def _strings(owner: dict[str, Any], name: str) -> list[str]:
    value = owner.get(name)
    values = value if isinstance(value, list) else [] if value is None else [value]
    return [text(item) or "" for item in values if isinstance(item, str) and text(item)]


def _refs(owner: dict[str, Any], name: str) -> list[str]:
    value = owner.get(name)
    values = value if isinstance(value, list) else [] if value is None else [value]
    return [
        ref["$ref"] for ref in values if isinstance(ref, dict) and isinstance(ref.get("$ref"), str)
    ]


def _niem_text(owner: dict[str, Any] | None, name: str) -> str | None:
    """The first ``value`` of a NIEM text array such as ``personGivenName: [{"value": "Ada"}]``."""
    if not isinstance(owner, dict):
        return None
    value = owner.get(name)
    for item in value if isinstance(value, list) else [value]:
        found = item.get("value") if isinstance(item, dict) else item
        if isinstance(found, str) and text(found):
            return text(found)
    return None


def _plain(note: str) -> str | None:
    """The text of an HTML5 note."""
    return text(html.unescape(_TAG.sub("", note)))


def _statuses(
    entries: list[str], codes: dict[str, str], where: str, tz: tzinfo
) -> dict[str, datetime]:
    times: dict[str, datetime] = {}
    for entry in entries:
        match = _STATUS_ENTRY.match(entry)
        if match and match.group(1).upper() in codes:
            when = parse_datetime(f"{where} {match.group(1)}", match.group(2), tz)
            times.setdefault(codes[match.group(1).upper()], when)  # type: ignore[arg-type]
    return times


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _civic(location: dict[str, Any]) -> tuple[dict[str, str], float | None, float | None]:
    """The civic address elements and the position in a location's PIDF-LO."""
    pidf = _string(location, "locationByValue") or ""
    civic: dict[str, str] = {}
    block = _CIVIC.search(pidf)
    if block:
        for name, value in _CIVIC_ELEMENT.findall(block.group(1)):
            if text(value):
                civic.setdefault(name, html.unescape(value.strip()))
    latitude = longitude = None
    position = _POSITION.search(pidf)
    if position:  # "where parseable": a position that is not two numbers is left out
        latitude, longitude = _number(position.group(1)), _number(position.group(2))
        if latitude is None or longitude is None:
            latitude = longitude = None
    return civic, latitude, longitude


def _address(civic: dict[str, str]) -> dict[str, str | None]:
    street = " ".join(civic[part] for part in STREET_PARTS if part in civic)
    return {
        "street": street or None,
        "unit": civic.get("UNIT"),
        "city": civic.get("A3"),
        "state": civic.get("A1"),
        "zip": civic.get("PC"),
    }


def location_place(location: dict[str, Any], beat: str | None = None) -> PlaceIn | None:
    """A place from one ``locationComponent``, or None when it says nothing usable."""
    civic, latitude, longitude = _civic(location)
    fields = {
        **_address(civic),
        "neighborhood": civic.get("A5"),
        "latitude": latitude,
        "longitude": longitude,
    }
    if all(value is None for value in fields.values()):
        return None
    return PlaceIn(**fields, beat=beat)


class _Document:
    """One EIDO document and its components indexed by ``$id``."""

    def __init__(self, data: dict[str, Any], tz: tzinfo) -> None:
        self.data, self.tz = data, tz
        incidents = _objects(data, "incidentComponent")
        self.incident = incidents[0] if incidents else {}
        self.key = (
            _string(self.incident, "internalIncidentId")
            or _string(self.incident, "$id")
            or _string(data, "$id")
        )
        if not self.key:
            raise FieldError(
                "incidentComponent.internalIncidentId", None, "missing (and no $id to fall back on)"
            )
        self.calls = _objects(data, "callComponent")
        self.notes = {_string(n, "$id"): n for n in _objects(data, "notesComponent")}
        self.locations = {_string(loc, "$id"): loc for loc in _objects(data, "locationComponent")}
        self.persons = _objects(data, "personComponent")
        self.callbacks = {_string(c, "$id"): c for c in _objects(data, "callbackComponent")}
        additional = {_string(a, "$id"): a for a in _objects(data, "additionalDataComponent")}
        # A caution is about whoever references a note (or additional data) that names it.
        self.caution_notes: dict[str, str] = {}
        self.caution_carriers: dict[str, set[str]] = {}
        for carrier_id, carrier in [*self.notes.items(), *additional.items()]:
            for caution_id in _refs(carrier, "cautionReference"):
                self.caution_carriers.setdefault(caution_id, set()).add(carrier_id or "")
                if carrier_id in self.notes:
                    self.caution_notes.setdefault(caution_id, carrier_id or "")

    def time(self, owner: dict[str, Any], name: str) -> datetime | None:
        return parse_datetime(name, _string(owner, name), self.tz)

    def records(self) -> tuple[Record, ...]:
        return (
            self.call(),
            *self.units(),
            *[record for person in self.persons for record in self.person(person)],
            *[self.caution(caution) for caution in _objects(self.data, "cautionComponent")],
        )

    def call(self) -> CallIn:
        incident, first_call = self.incident, (self.calls[0] if self.calls else {})
        times = _statuses(
            _strings(incident, "incidentStatusInternalText"),
            INCIDENT_STATUSES,
            "incidentStatusInternalText",
            self.tz,
        )
        if "dispatched_at" not in times:
            sent = [
                self.time(d, "lastUpdateTimeStamp")
                for d in _objects(self.data, "dispatchComponent")
            ]
            if any(sent):
                times["dispatched_at"] = min(when for when in sent if when)
        caution_note_ids = set(self.caution_notes.values())
        return CallIn(
            source_key=self.key,  # type: ignore[arg-type]
            call_source=self.call_source(first_call),
            priority=self.priority(),
            final_call_type=_string(incident, "incidentTypeInternalText")
            or _string(incident, "incidentTypeCommonRegistryText"),
            disposition=self.disposition(),
            received_at=self.time(first_call, "answerDate")
            or self.time(first_call, "callStartTimestamp"),
            place=self.place(first_call),
            notes=tuple(
                note_text
                for note_id, note in self.notes.items()
                if note_id not in caution_note_ids
                and (note_text := _plain(_string(note, "notesActionComments") or ""))
            ),
            **times,
        )

    @staticmethod
    def call_source(call: dict[str, Any]) -> CallSource | None:
        local = (_string(call, "localCallType") or "").lower()
        if local in {source.value for source in CallSource}:
            return CallSource(local)
        if (_string(call, "standardPrimaryCallType") or "").lower() == EMERGENCY_CALL_TYPE:
            return CallSource.E911
        return None

    def priority(self) -> int | None:
        number = self.incident.get("incidentCommonPriorityNumber")
        if isinstance(number, int) and not isinstance(number, bool):
            return number
        match = re.match(r"\s*(\d+)", _string(self.incident, "incidentPriorityInternalText") or "")
        return int(match.group(1)) if match else None

    def disposition(self) -> str | None:
        dispositions = _objects(self.incident, "dispositionComponent")
        primary = [d for d in dispositions if d.get("dispositionPrimaryIndicator") is True]
        for disposition in primary or dispositions[:1]:
            return (
                _string(disposition, "dispositionDescriptionText")
                or _string(disposition, "dispositionCategoryText")
                or _string(disposition, "dispositionCommonRegistryCode")
            )
        return None

    def place(self, call: dict[str, Any]) -> PlaceIn | None:
        beat = _string(self.incident, "beatOrDispatchGroupText")
        personal = {ref for person in self.persons for ref in _refs(person, "locationReference")}
        candidates = [
            *_refs(self.incident, "locationReference"),
            *_refs(call, "locationReference"),
            *[loc_id for loc_id in self.locations if loc_id not in personal],
        ]
        for location_id in candidates:
            location = self.locations.get(location_id)
            place = location_place(location, beat) if location else None
            if place is not None:
                return place
        return PlaceIn(beat=beat) if beat else None

    def units(self) -> Iterator[UnitResponseIn]:
        sent: dict[str, datetime] = {}
        for dispatch in _objects(self.data, "dispatchComponent"):
            when = self.time(dispatch, "lastUpdateTimeStamp")
            for sent_id in _refs(dispatch, "emergencyResourceReference"):
                if when is not None:
                    sent.setdefault(sent_id, when)
        for resource in _objects(self.data, "emergencyResourceComponent"):
            resource_id = _string(resource, "$id")
            call_sign = _string(resource, "emergencyResourceName") or resource_id
            if not call_sign:
                raise FieldError(
                    "emergencyResourceComponent.emergencyResourceName", None, "missing"
                )
            times = _statuses(
                _strings(resource, "unitStatusInternal"),
                UNIT_STATUSES,
                "unitStatusInternal",
                self.tz,
            )
            if "dispatched_at" not in times and resource_id in sent:
                times["dispatched_at"] = sent[resource_id]
            yield UnitResponseIn(
                source_key=unit_response_key(self.key, call_sign, times.get("dispatched_at")),  # type: ignore[arg-type]
                call_key=self.key,
                call_sign=call_sign,
                responder_type=self.responder_type(resource),
                **times,
            )

    @staticmethod
    def responder_type(resource: dict[str, Any]) -> ResponderType:
        for name in (
            "emergencyResourceTypeInternalText",
            "emergencyResourceTypeCommonRegistryText",
        ):
            word = (_string(resource, name) or "").lower()
            if word in RESPONDER_WORDS:
                return RESPONDER_WORDS[word]
        return ResponderType.OTHER

    def person(self, person: dict[str, Any]) -> tuple[Record, Record]:
        person_id = _string(person, "$id")
        if not person_id:
            raise FieldError("personComponent.$id", None, "missing required field")
        roles = _strings(person, "personIncidentRoleRegistryText")
        if not roles:
            raise FieldError(
                f"personComponent {person_id}: personIncidentRoleRegistryText", None, "missing"
            )
        niem = person.get("ncPersonComponent")
        niem = niem if isinstance(niem, dict) else {}
        names = [self.name(entry) for entry in _objects(niem, "name")]
        key = f"{self.key}/{person_id}"
        record = PersonRecordIn(
            source_key=key,
            **(names[0].model_dump() if names else {}),
            aliases=tuple(names[1:]),
            dob=self.birth_date(niem),
            sex=self.sex(niem),
            race=_niem_text(niem, "race"),
            ethnicity=_niem_text(niem, "ethnicity"),
            hair=_niem_text(niem, "hairColor"),
            eyes=_niem_text(niem, "eyeColor"),
            description=_niem_text(niem, "description"),
            ssn=self.ssn(niem),
            phone=self.phone(person),
            address=self.home(person),
        )
        link = CallPersonIn(
            source_key=key, call_key=self.key, person_key=key, role=roles[0].lower()
        )  # type: ignore[arg-type]
        return record, link

    @staticmethod
    def name(entry: dict[str, Any]) -> NameIn:
        given, surname = _niem_text(entry, "personGivenName"), _niem_text(entry, "personSurName")
        full = _niem_text(entry, "personFullName")
        if full and not (given or surname):
            # A full name alone: "Last, First Middle" or "First Middle Last".
            last, comma, rest = full.partition(",")
            words = (rest if comma else full).split()
            surname = last.strip() if comma else (words.pop() if len(words) > 1 else None)
            given = words[0] if words else None
            middle = " ".join(words[1:]) or None
            return NameIn(first_name=given, middle_name=middle, last_name=surname)
        return NameIn(
            first_name=given,
            middle_name=_niem_text(entry, "personMiddleName"),
            last_name=surname,
            suffix=_niem_text(entry, "suffix"),
        )

    @staticmethod
    def birth_date(niem: dict[str, Any]) -> Any:
        for entry in _objects(niem, "birthDate"):
            value = _niem_text(entry, "date") or _niem_text(entry, "time")
            if value:
                return parse_date("ncPersonComponent.birthDate", value)
        return None

    @staticmethod
    def sex(niem: dict[str, Any]) -> str | None:
        for entry in _objects(niem, "sexCode"):
            code = entry.get("simpleType")
            if isinstance(code, str):
                return parse_code("ncPersonComponent.sexCode", code, NIEM_SEXES)
        word = _niem_text(niem, "sex")
        return word.lower() if word else None

    @staticmethod
    def ssn(niem: dict[str, Any]) -> str | None:
        for entry in _objects(niem, "ssnIdentification"):
            return _niem_text(entry, "identificationId")
        return None

    def phone(self, person: dict[str, Any]) -> str | None:
        for callback_id in _refs(person, "callBackReference"):
            for uri in _strings(self.callbacks.get(callback_id) or {}, "callBackInformationUri"):
                if uri.lower().startswith("tel:"):
                    return digits(uri[4:])
        return None

    def home(self, person: dict[str, Any]) -> AddressIn | None:
        for location_id in _refs(person, "locationReference"):
            location = self.locations.get(location_id)
            address = _address(_civic(location)[0]) if location else {}
            if any(address.values()):
                return AddressIn(**address)
        return None

    def caution(self, caution: dict[str, Any]) -> CautionIn:
        caution_id = _string(caution, "$id")
        if not caution_id:
            raise FieldError("cautionComponent.$id", None, "missing required field")
        carriers = self.caution_carriers.get(caution_id, set())
        about = [
            p
            for p in self.persons
            if carriers & {*_refs(p, "notesReference"), *_refs(p, "additionalDataReference")}
        ]
        places = [
            place
            for location in self.locations.values()
            if carriers & set(_refs(location, "notesReference"))
            and (place := location_place(location)) is not None
        ]
        note = self.notes.get(self.caution_notes.get(caution_id))
        caution_type = _string(caution, "cautionTypeInternalText") or _string(
            caution, "cautionTypeCommonRegistryText"
        )
        if not caution_type:
            raise FieldError(
                f"cautionComponent {caution_id}: cautionTypeInternalText", None, "missing"
            )
        return CautionIn(
            source_key=f"{self.key}/{caution_id}",
            call_key=self.key,
            person_key=f"{self.key}/{_string(about[0], '$id')}" if about else None,
            place=places[0] if places else None,
            caution_type=caution_type,
            severity=parse_severity("cautionSeverity", _string(caution, "cautionSeverity")),
            description=_plain(_string(note, "notesActionComments") or "") if note else None,
            source=_string(caution, "cautionSource"),
            valid_from=self.time(caution, "startDate"),
        )


def document_records(data: object, tz: tzinfo) -> tuple[Record, ...]:
    """The canonical records of one parsed EIDO document.

    Raises:
        FieldError: the document is not EIDO or a field cannot be used.
        pydantic.ValidationError: a value is out of the canonical model's range.
    """
    if not isinstance(data, dict):
        raise FieldError("document", type(data).__name__, "not an EIDO document: not a JSON object")
    if "eidoVersion" not in data:
        raise FieldError("eidoVersion", None, "not an EIDO document: no eidoVersion key")
    return _Document(data, tz).records()


# --- the adapter ---------------------------------------------------------------------------------


def _undecodable(raw: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in raw)


def _printable(raw: str) -> str:
    # Surrogate escapes stand for the original undecodable bytes; show them as \xNN.
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _documents(path: Path, encoding: str) -> Iterator[tuple[str, str | None]]:
    """The text of each document in a file: the elements of a top-level array, or the whole."""
    chunks = decoded_chunks(path, encoding)
    for chunk in chunks:
        stripped = chunk.lstrip(JSON_SPACE)
        if not stripped:
            continue
        if stripped[0] == "[":
            yield from split_json_array(chain([stripped], chunks))
        else:  # one document: a document file is small, so it is read whole
            yield "".join(chain([stripped], chunks)), None
        return


class EidoAdapter:
    """Reads NENA EIDO JSON: a document, an array of documents, or a folder of such files."""

    name: ClassVar[str] = "eido"
    description: ClassVar[str] = "NENA EIDO JSON incidents (NENA-STA-021.1a)"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """True for a ``.json`` file whose first bytes hold ``eidoVersion``, or a folder of them."""
        if path.is_dir():
            return any(cls._looks_like_eido(file) for file in sorted(path.glob("*.json")))
        return path.suffix.lower() == ".json" and b'"eidoVersion"' in head

    @staticmethod
    def _looks_like_eido(path: Path) -> bool:
        try:
            with path.open("rb") as handle:
                return b'"eidoVersion"' in handle.read(64 * 1024)
        except OSError:
            return False

    def default_source_name(self, path: Path) -> str:
        """The export folder's name."""
        folder = path if path.is_dir() else path.parent
        return f"eido:{folder.name or path.stem}"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per EIDO document; a folder's ``*.json`` files in name order.

        Raises:
            SourceError: ``path`` does not exist, cannot be read, or the encoding is unknown.
        """
        if path.is_dir():
            files = sorted(file for file in path.glob("*.json") if file.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise SourceError(f"{path}: no such file or folder")
        try:
            codecs.lookup(options.encoding)
        except LookupError as exc:
            raise SourceError(f"unknown encoding {options.encoding!r}") from exc
        for file in files:
            yield from self._read_file(file, options)

    @staticmethod
    def _read_file(path: Path, options: ReadOptions) -> Iterator[Item]:
        file, number = str(path), 0
        try:
            for raw, problem in _documents(path, options.encoding):
                number += 1
                yield _item(file, f"document {number}", raw, problem, options)
        except OSError as exc:
            raise SourceError(f"{path}: cannot read: {exc}") from exc
        except UnicodeError as exc:  # codecs without surrogate escapes (UTF-16...)
            reason = f"not valid {options.encoding} text: {exc}"
            yield Rejection(file, f"document {number + 1}", reason, "")
            return
        if number == 0:
            # The decoder can swallow a stray partial byte-order mark; such a file is not empty.
            content = path.read_bytes()[:MAX_RAW_CHARS].strip(JSON_SPACE.encode())
            if content:
                raw = content.decode(options.encoding, errors="backslashreplace")
                yield Rejection(file, "document 1", "not a JSON document", raw or repr(content))
            else:
                yield Rejection(file, "file", "empty file: no JSON document", "")


def _item(file: str, locator: str, raw: str, problem: str | None, options: ReadOptions) -> Item:
    if _undecodable(raw):
        return Rejection(file, locator, f"not valid {options.encoding} text", _printable(raw))
    if problem:
        return Rejection(file, locator, problem, raw)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return Rejection(file, locator, f"malformed JSON: {exc}", raw)
    except RecursionError:
        return Rejection(file, locator, "malformed JSON: nested too deeply", raw)
    try:
        records = document_records(data, options.timezone)
    except ValueError as exc:  # FieldError and pydantic's ValidationError
        return Rejection(file, locator, explain(exc), raw)
    return SourceRow(file, locator, records, raw)
