"""Where each canonical record kind is stored, and how its fields become columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
