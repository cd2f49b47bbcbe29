"""Write canonical health records as a FHIR R4 NDJSON bulk export.

The reader is :mod:`corespond.sources.fhir`. Each record goes, by kind, to ``Patient.ndjson``
(``PersonRecordIn``), ``Encounter.ndjson`` (``HospitalEncounterIn``, ``TreatmentEncounterIn``),
``Condition.ndjson`` or ``Consent.ndjson``, one resource per line, as it comes; other kinds are
skipped. Times carry their offset in the given zone.

What does not survive a round trip:

- A Part 2 label: ``part2`` and the ``substance_use_part2`` category travel together as one
  ``meta.security`` label, so a record with one and not the other reads back with both; any other
  ``data_category`` is not written.
- ``PersonRecordIn`` height, weight, hair, eyes, description; a ``sex`` other than male,
  female, other, unknown (written as ``other``).
- Race and ethnicity go in the US Core extensions: words the reader yields for OMB categories
  are written as their codes (with their displays as ``text``) and read back once each, in
  order, ``unknown`` left out beside a race; any other word makes the whole value travel as
  ``text`` only, which reads back as given. So does more than one ethnicity.
- ``TreatmentEncounterIn`` without a class or status: FHIR requires both, so they are written
  ``AMB`` and ``finished`` (or ``in-progress`` with no end); a treatment encounter of class
  EMER, IMP or OBSENC reads back as a hospital encounter.
- ``ConsentIn`` purposes that are not ``emergency_response``, ``treatment``,
  ``care_coordination`` or ``program_evaluation``; several recipients read back as one
  ``; ``-joined string.
- Times below the second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from corespond.sources.fhir import (
    ACT_CODE,
    ACT_REASON,
    CATEGORY_SYSTEM,
    DETAILS_EXTENSION,
    DISCHARGE_SYSTEM,
    ETHNICITY_CATEGORIES,
    GENDERS,
    HOSPITAL_CLASSES,
    PART2_CODE,
    PURPOSES,
    RACE_CATEGORIES,
    SSN_SYSTEM,
    US_CORE_ETHNICITY,
    US_CORE_RACE,
    WORD_SEPARATOR,
    OmbCategory,
)
from corespond.sources.records import (
    ConditionIn,
    ConsentIn,
    DataCategory,
    HospitalEncounterIn,
    NameIn,
    PersonRecordIn,
    Record,
    TreatmentEncounterIn,
)

Json = dict[str, Any]
CLASS_CODES = {kind: code for code, kind in HOSPITAL_CLASSES.items()}
PURPOSE_CODES = {purpose: code for code, purpose in PURPOSES.items()}
DISCHARGE_CODES = frozenset(
    {
        "home",
        "alt-home",
        "other-hcf",
        "hosp",
        "long",
        "aadvice",
        "exp",
        "psy",
        "rehab",
        "snf",
        "oth",
    }
)
"""HL7 discharge-disposition codes; other dispositions are written as text."""
CLINICAL_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
RECIPIENT_ROLE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
FILES = {
    PersonRecordIn: "Patient.ndjson",
    HospitalEncounterIn: "Encounter.ndjson",
    TreatmentEncounterIn: "Encounter.ndjson",
    ConditionIn: "Condition.ndjson",
    ConsentIn: "Consent.ndjson",
}


def _drop_empty(value: Any) -> Any:
    """FHIR forbids empty strings, arrays and objects: leave those elements out."""
    if isinstance(value, dict):
        kept = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        kept_items = [_drop_empty(v) for v in value]
        return [v for v in kept_items if v not in (None, "", [], {})]
    return value


def _time(value: datetime | None, timezone: ZoneInfo) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone)
    return value.astimezone(timezone).isoformat(timespec="seconds")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _meta(record: Record, part2: bool = False) -> Json:
    if part2 or record.data_category == DataCategory.SUBSTANCE_USE_PART2:
        return {"security": [{"system": ACT_CODE, "code": PART2_CODE}]}
    return {}


def _reference(person_key: str) -> Json:
    return {"reference": f"Patient/{person_key}"}


def _name(name: NameIn | PersonRecordIn, use: str) -> Json:
    given = [part for part in (name.first_name, name.middle_name) if part]
    return {
        "use": use,
        "family": name.last_name,
        "given": given,
        "suffix": [name.suffix] if name.suffix else [],
    }


def _omb_extension(
    url: str, value: str | None, categories: dict[str, OmbCategory], *, most: int | None = None
) -> Json:
    """A US Core race or ethnicity extension: OMB codes when every word has one, else text."""
    given = (part.strip() for part in (value or "").split(WORD_SEPARATOR))
    words = [word for word in dict.fromkeys(given) if word]
    if len(words) > 1:  # US Core forbids UNK beside a category
        words = [w for w in words if w != categories["UNK"].word]
    codes = {category.word: code for code, category in categories.items() if code != "ASKU"}
    if not words:
        return {}
    if any(w not in codes for w in words) or (most is not None and len(words) > most):
        return {"url": url, "extension": [{"url": "text", "valueString": value}]}
    coded = [(codes[w], categories[codes[w]]) for w in words]
    parts: list[Json] = [
        {
            "url": "ombCategory",
            "valueCoding": {"system": category.system, "code": code, "display": category.display},
        }
        for code, category in coded
    ]
    parts.append({"url": "text", "valueString": ", ".join(c.display for _, c in coded)})
    return {"url": url, "extension": parts}


def _patient(person: PersonRecordIn, timezone: ZoneInfo) -> Json:
    address = person.address
    return {
        "resourceType": "Patient",
        "id": person.source_key,
        "meta": _meta(person),
        "extension": [
            _omb_extension(US_CORE_RACE, person.race, RACE_CATEGORIES),
            _omb_extension(US_CORE_ETHNICITY, person.ethnicity, ETHNICITY_CATEGORIES, most=1),
        ],
        "identifier": [{"system": SSN_SYSTEM, "value": person.ssn}] if person.ssn else [],
        "name": [_name(person, "official")]
        + [_name(alias, "nickname") for alias in person.aliases],
        "telecom": [{"system": "phone", "value": person.phone}] if person.phone else [],
        "gender": (GENDERS.get(person.sex, "other") if person.sex else None),
        "birthDate": _day(person.dob),
        "address": [
            {
                "use": "home",
                "line": [part for part in (address.street, address.unit) if part],
                "city": address.city,
                "state": address.state,
                "postalCode": address.zip,
            }
        ]
        if address
        else [],
    }


def _encounter(record: HospitalEncounterIn | TreatmentEncounterIn, timezone: ZoneInfo) -> Json:
    default_status = "finished" if record.ended_at else "in-progress"
    resource: Json = {
        "resourceType": "Encounter",
        "id": record.source_key,
        "subject": _reference(record.person_key),
        "period": {
            "start": _time(record.started_at, timezone),
            "end": _time(record.ended_at, timezone),
        },
        "reasonCode": [{"text": record.reason}] if record.reason else [],
    }
    if isinstance(record, HospitalEncounterIn):
        disposition = record.discharge_disposition
        concept: Json = {"text": disposition}
        if disposition in DISCHARGE_CODES:
            concept = {"coding": [{"system": DISCHARGE_SYSTEM, "code": disposition}]}
        resource |= {
            "meta": _meta(record),
            "status": default_status,
            "class": {"system": ACT_CODE, "code": CLASS_CODES[record.encounter_kind]},
            "hospitalization": {"dischargeDisposition": concept} if disposition else {},
            "serviceProvider": {"display": record.facility},
        }
    else:
        resource |= {
            "meta": _meta(record, record.part2),
            "status": record.status or default_status,
            "class": {"system": ACT_CODE, "code": record.encounter_class or "AMB"},
            "type": [{"text": record.encounter_type}] if record.encounter_type else [],
            "serviceProvider": {"display": record.provider},
        }
    return resource


def _condition(record: ConditionIn, timezone: ZoneInfo) -> Json:
    code: Json = {"text": record.display}
    if record.code:
        code = {
            "coding": [
                {"system": record.code_system, "code": record.code, "display": record.display}
            ]
        }
    status = record.clinical_status
    return {
        "resourceType": "Condition",
        "id": record.source_key,
        "meta": _meta(record, record.part2),
        "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS_SYSTEM, "code": status}]}
        if status
        else {},
        "code": code,
        "subject": _reference(record.person_key),
        "onsetDateTime": _day(record.onset),
        "recordedDate": _day(record.recorded_on),
    }


def _consent(record: ConsentIn, timezone: ZoneInfo) -> Json:
    return {
        "resourceType": "Consent",
        "id": record.source_key,
        "meta": _meta(record, record.part2),
        "extension": [{"url": DETAILS_EXTENSION, "valueString": record.details}]
        if record.details
        else [],
        "status": record.status.value.replace("_", "-"),
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": _reference(record.person_key),
        "dateTime": _day(record.signed_on),
        "provision": {
            "type": record.decision.value,
            "period": {"start": _day(record.period_start), "end": _day(record.period_end)},
            "actor": [
                {
                    "role": {"coding": [{"system": RECIPIENT_ROLE, "code": "IRCP"}]},
                    "reference": {"display": record.recipient},
                }
            ]
            if record.recipient
            else [],
            "purpose": [
                {"system": ACT_REASON, "code": PURPOSE_CODES[purpose]}
                for purpose in record.purposes
                if purpose in PURPOSE_CODES
            ],
            "class": [
                {"system": CATEGORY_SYSTEM, "code": category.value}
                for category in record.categories
            ],
        },
    }


def resource(record: Record, timezone: ZoneInfo) -> Json | None:
    """The FHIR resource for ``record``, or None for a kind FHIR export does not carry."""
    if isinstance(record, PersonRecordIn):
        built = _patient(record, timezone)
    elif isinstance(record, HospitalEncounterIn | TreatmentEncounterIn):
        built = _encounter(record, timezone)
    elif isinstance(record, ConditionIn):
        built = _condition(record, timezone)
    elif isinstance(record, ConsentIn):
        built = _consent(record, timezone)
    else:
        return None
    return _drop_empty(built)  # type: ignore[no-any-return]


def write(records: Iterable[Record], out_dir: Path, *, timezone: ZoneInfo) -> list[Path]:
    """Write health records as FHIR R4 NDJSON files and return the files written.

    Args:
        records: people, encounters, conditions and consents in any order (patients first
            reads best); other kinds are skipped.
        out_dir: where the ``*.ndjson`` files go (created if missing).
        timezone: zone in which times are written, with its offset.

    Example:
        >>> write(records, Path("fhir"), timezone=ZoneInfo("UTC"))  # doctest: +SKIP
        [PosixPath('fhir/Patient.ndjson'), PosixPath('fhir/Encounter.ndjson')]
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    handles: dict[str, IO[str]] = {}
    with ExitStack() as stack:
        for record in records:
            built = resource(record, timezone)
            if built is None:
                continue
            name = FILES[type(record)]
            if name not in handles:
                path = out_dir / name
                handles[name] = stack.enter_context(path.open("w", encoding="utf-8"))
            handles[name].write(json.dumps(built, ensure_ascii=False, separators=(",", ":")))
            handles[name].write("\n")
    return [out_dir / name for name in handles]
