"""Where each canonical record kind is stored, and how its fields become columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from corespond import models
from corespond.crypto import FieldCipher, ssn_status
from corespond.models.base import Base
from corespond.sources import records as r
from corespond.sources.parse import digits

SEVERITY_RANK = {severity: rank for rank, severity in enumerate(r.CautionSeverity)}
CRIMINAL_JUSTICE_KINDS = frozenset({r.AgencyKind.POLICE, r.AgencyKind.DISPATCH})
SSN_CONTEXT = b"person_record.ssn"

# Fields that are not columns of their own: handled by ``columns`` or by the writer.
NOT_COLUMNS = {"source_key", "data_category", "place", "person_key", "aliases", "address", "ssn"}
RENAMED = {"agency_kind": "kind"}


@dataclass(frozen=True)
class TableSpec:
    model: type[Base]
    person_ref: bool
    """The record names a ``person_key`` that must resolve within its source system."""
    has_place: bool


TABLES: dict[str, TableSpec] = {
    r.AgencyIn.kind: TableSpec(models.Agency, False, False),
    r.ProgramIn.kind: TableSpec(models.Program, False, False),
    r.BeatIn.kind: TableSpec(models.Beat, False, False),
    r.PersonRecordIn.kind: TableSpec(models.PersonRecord, False, False),
    r.CallIn.kind: TableSpec(models.CallForService, False, True),
    r.UnitResponseIn.kind: TableSpec(models.UnitResponse, False, False),
    r.CallPersonIn.kind: TableSpec(models.CallPerson, True, False),
    r.PoliceIncidentIn.kind: TableSpec(models.PoliceIncident, False, True),
    r.ArrestIn.kind: TableSpec(models.Arrest, True, False),
    r.UseOfForceIn.kind: TableSpec(models.UseOfForce, True, False),
    r.InvoluntaryHoldIn.kind: TableSpec(models.InvoluntaryHold, True, False),
    r.EmsRunIn.kind: TableSpec(models.EmsRun, True, True),
    r.HospitalEncounterIn.kind: TableSpec(models.HospitalEncounter, True, False),
    r.TreatmentEncounterIn.kind: TableSpec(models.TreatmentEncounter, True, False),
    r.ConditionIn.kind: TableSpec(models.Condition, True, False),
    r.EnrollmentIn.kind: TableSpec(models.Enrollment, True, False),
    r.EnrollmentExitIn.kind: TableSpec(models.EnrollmentExit, True, False),
    r.ServiceIn.kind: TableSpec(models.Service, True, False),
    r.ReferralIn.kind: TableSpec(models.Referral, True, False),
    r.CaseNoteIn.kind: TableSpec(models.CaseNote, True, False),
    r.CautionIn.kind: TableSpec(models.Caution, True, True),
    r.ConsentIn.kind: TableSpec(models.Consent, True, False),
}
KIND_ORDER = {record_type.kind: index for index, record_type in enumerate(r.RECORD_TYPES)}
assert set(TABLES) == set(KIND_ORDER), "every record kind needs a table"


def to_utc(value: datetime) -> datetime:
    """The store keeps naive UTC; an adapter always gives aware times."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def columns(record: r.Record, cipher: FieldCipher) -> dict[str, Any]:
    """The plain column values of ``record`` (references and places are the writer's job)."""
    values: dict[str, Any] = {}
    # Straight from the model's __dict__: this runs once per stored row.
    for name, value in record.__dict__.items():
        if name in NOT_COLUMNS:
            continue
        if value.__class__ is datetime:
            value = to_utc(value)
        elif value.__class__ is tuple:
            value = " ".join(str(item) for item in value) or None
        values[RENAMED.get(name, name)] = value
    values["data_category"] = record.category.value
    if isinstance(record, r.PersonRecordIn):
        _person_columns(record, values, cipher)
    elif isinstance(record, r.CallIn):
        values["notes"] = "\n".join(record.notes) or None
    elif isinstance(record, r.AgencyIn):
        if values["criminal_justice"] is None:
            values["criminal_justice"] = record.agency_kind in CRIMINAL_JUSTICE_KINDS
    elif isinstance(record, r.CautionIn):
        values["severity_rank"] = SEVERITY_RANK[record.severity]
    elif isinstance(record, r.TreatmentEncounterIn | r.ConditionIn) and record.part2:
        values["data_category"] = r.DataCategory.SUBSTANCE_USE_PART2.value
    return values


def _person_columns(record: r.PersonRecordIn, values: dict[str, Any], cipher: FieldCipher) -> None:
    address = record.address or r.AddressIn()
    values.update(
        street=address.street,
        unit=address.unit,
        city=address.city,
        state=address.state,
        zip=address.zip,
        phone=digits(record.phone),
    )
    ssn = digits(record.ssn)
    status = ssn_status(ssn) if ssn else ("malformed" if record.ssn else None)
    values["ssn_status"] = status
    values["ssn_encrypted"] = (
        cipher.encrypt(record.ssn, context=SSN_CONTEXT) if record.ssn else None
    )
    values["ssn_blind_index"] = (
        cipher.blind_index(ssn, context=SSN_CONTEXT) if ssn and status == "valid" else None
    )


HASH_EXCLUDED = frozenset({"ssn_encrypted"})
"""Columns left out of the content hash: AES-GCM ciphertext differs on every encryption (the
plain value is hashed instead, inside the keyed hash)."""


def fingerprint(
    kind: str, values: dict[str, Any], references: dict[str, Any], cipher: FieldCipher
) -> str:
    """The content hash of a record, defined over the values stored for it.

    ``values`` are the record's own columns (as :func:`columns` gives them); ``references`` are
    what the writer turns into ids or side rows (its place, person key, aliases, plain SSN).
    The set-based CAD lane builds the same :func:`canonical` text in SQL, so a row it writes and
    the same row written by the row path have the same hash.
    """
    return cipher.content_hash(canonical(kind, values, references).encode("utf-8", "surrogatepass"))


FIELD_SEPARATOR, ITEM_SEPARATOR = "\x1e", "\x1d"
_ESCAPES = str.maketrans(
    {"\\": "\\\\", FIELD_SEPARATOR: "\\e", ITEM_SEPARATOR: "\\i", "[": "\\(", "]": "\\)"}
)


def canonical(kind: str, values: dict[str, Any], references: dict[str, Any]) -> str:
    """``kind``, then ``name=value`` for each column and ``@name=value`` for each reference,
    sorted by name and joined by U+001E; each value tagged with its type (see
    :func:`encode_value`), so that no two different records have the same text."""
    parts = [kind]
    parts.extend(
        f"{name}={encode_value(value)}"
        for name, value in sorted(values.items())
        if name not in HASH_EXCLUDED
    )
    parts.extend(f"@{name}={encode_value(value)}" for name, value in sorted(references.items()))
    return FIELD_SEPARATOR.join(parts)


def encode_value(value: object) -> str:
    """One value in canonical text: ``~`` for none, else a type letter and the value."""
    if value is None:
        return "~"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return "s" + value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return f"f{value!r}"
    if isinstance(value, datetime):
        return "t" + value.isoformat()
    if isinstance(value, date):
        return "d" + value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ITEM_SEPARATOR.join(encode_value(item) for item in value) + "]"
    raise TypeError(f"no canonical form for {type(value).__name__}")


def references(record: r.Record) -> dict[str, Any]:
    """The parts of ``record`` that are not columns of its row but belong to its content."""
    found: dict[str, Any] = {}
    place = getattr(record, "place", None)
    if place is not None:
        found["place"] = place_fields(place)
    person_key = getattr(record, "person_key", None)
    if person_key is not None:
        found["person_key"] = person_key
    if isinstance(record, r.PersonRecordIn):
        found["ssn"] = record.ssn
        found["aliases"] = [
            [a.first_name, a.middle_name, a.last_name, a.suffix] for a in record.aliases
        ]
    return found


PLACE_FIELDS = tuple(r.PlaceIn.model_fields)


def place_fields(place: r.PlaceIn) -> list[Any]:
    """A place's fields in a fixed order, for the content hash."""
    return [getattr(place, name) for name in PLACE_FIELDS]


def alias_rows(record: r.PersonRecordIn, person_record_id: int) -> list[dict[str, Any]]:
    return [
        {
            "person_record_id": person_record_id,
            "first_name": alias.first_name,
            "middle_name": alias.middle_name,
            "last_name": alias.last_name,
            "suffix": alias.suffix,
        }
        for alias in record.aliases
    ]
