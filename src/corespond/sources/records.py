"""Canonical records: what every source adapter yields and what ingest stores.

An adapter turns one agency's native export into these records. Each record is keyed by
``source_key``, the identifier the *source system* gave it (a CAD event number, an HMIS
PersonalID, a FHIR resource id). Keys are unique per record kind within one source system, so
importing the same export twice finds the same rows. Records refer to one another by those keys
(``person_key``, ``call_key``...), never by database ids: ``sources/`` knows no database.

Datetimes are timezone-aware. An adapter that reads local wall-clock times attaches the source's
time zone (``ReadOptions.timezone``); ingest stores UTC.

Example:
    >>> from datetime import date
    >>> PersonRecordIn(source_key="P-1", first_name="Ada", last_name="Quill", dob=date(1980, 2, 3))
    PersonRecordIn(source_key='P-1', ...)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DataCategory(StrEnum):
    """What kind of fact a row is; the access layer decides who may see each category."""

    IDENTITY = "identity"
    CONTACT = "contact"
    SAFETY = "safety"
    CALL_INCIDENT = "call_incident"
    CRIMINAL_JUSTICE = "criminal_justice"
    HEALTH = "health"
    BEHAVIORAL_HEALTH = "behavioral_health"
    SUBSTANCE_USE_PART2 = "substance_use_part2"
    HOUSING = "housing"
    CASE_NOTES = "case_notes"


class AgencyKind(StrEnum):
    DISPATCH = "dispatch"
    POLICE = "police"
    FIRE = "fire"
    EMS = "ems"
    CARE_TEAM = "care_team"
    BEHAVIORAL_HEALTH = "behavioral_health"
    HOMELESS_SERVICES = "homeless_services"
    HOSPITAL = "hospital"
    NONPROFIT = "nonprofit"


class ResponderType(StrEnum):
    POLICE = "police"
    FIRE = "fire"
    EMS = "ems"
    CARE_TEAM = "care_team"
    CO_RESPONDER = "co_responder"
    OTHER = "other"


class CallSource(StrEnum):
    """How a call reached the agency (Seattle 'Call Type', CAD 'Rec'd Via')."""

    E911 = "911"
    ON_VIEW = "on_view"
    PHONE = "phone"
    ALARM = "alarm"
    IN_PERSON = "in_person"
    TEXT = "text"
    TRANSFER = "transfer"
    OTHER = "other"


class ArrestType(StrEnum):
    """NIBRS data element 43, Type of Arrest."""

    ON_VIEW = "on_view"  # O
    SUMMONED_CITED = "summoned_cited"  # S: a citation or summons
    TAKEN_INTO_CUSTODY = "taken_into_custody"  # T


class CautionSeverity(StrEnum):
    """EIDO cautionSeverity, highest first."""

    HIGHEST = "highest"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"
    LOWEST = "lowest"


class HospitalEncounterKind(StrEnum):
    ER_VISIT = "er_visit"
    INPATIENT = "inpatient"
    OBSERVATION = "observation"


class ServiceKind(StrEnum):
    SERVICE = "service"
    BED_NIGHT = "bed_night"
    OUTREACH_CONTACT = "outreach_contact"
    REFERRAL = "referral"


class ConsentDecision(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"
    PROPOSED = "proposed"
    ENTERED_IN_ERROR = "entered_in_error"


def _texts(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) of every string in a record's raw values, nested ones included."""
    if isinstance(data, str):
        yield prefix or "a value", data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _texts(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _texts(value, prefix)


class Record(BaseModel):
    """Base of every canonical record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    kind: ClassVar[str]
    default_category: ClassVar[DataCategory]

    source_key: str = Field(min_length=1, max_length=200)
    data_category: DataCategory | None = None
    """Overrides ``default_category`` (a FHIR encounter from a Part 2 program, say)."""

    @model_validator(mode="before")
    @classmethod
    def no_nul(cls, data: Any) -> Any:
        """A NUL character cannot be stored (PostgreSQL refuses it in text): the row is
        rejected, with the field named, rather than failing the import."""
        for name, value in _texts(data):
            if "\x00" in value:
                raise ValueError(f"{name} contains a NUL character, which cannot be stored")
        return data

    @property
    def category(self) -> DataCategory:
        return self.data_category or self.default_category


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class PlaceIn(AddressIn):
    """A location as a source reports it; ingest normalises it into a place row."""

    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    beat: str | None = None
    sector: str | None = None
    precinct: str | None = None
    neighborhood: str | None = None


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None


# --- organisation and geography -------------------------------------------------------------


class AgencyIn(Record):
    kind: ClassVar[str] = "agency"
    default_category: ClassVar[DataCategory] = DataCategory.IDENTITY

    name: str = Field(min_length=1)
    agency_kind: AgencyKind
    ori: str | None = None
    """Originating agency identifier (criminal-justice agencies)."""
    criminal_justice: bool | None = None
    """Defaults from the kind: police and dispatch are criminal-justice agencies."""


class ProgramIn(Record):
    """A co-response program, a shelter, an outreach project: something an agency runs."""

    kind: ClassVar[str] = "program"
    default_category: ClassVar[DataCategory] = DataCategory.IDENTITY

    name: str = Field(min_length=1)
    agency_key: str | None = None
    program_type: str = Field(min_length=1)
    """``co_response``, ``care_team``, or an HMIS ProjectType name such as ``emergency_shelter``."""
    hmis_project_type: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    beats: tuple[str, ...] = ()
    """Service-area beats; empty means citywide."""
    hours_start: int | None = Field(default=None, ge=0, le=24)
    hours_end: int | None = Field(default=None, ge=0, le=24)
    """Daily hours of operation, local time, [start, end); both empty means around the clock."""


class BeatIn(Record):
    """One patrol beat and where it sits: beat within sector within precinct."""

    kind: ClassVar[str] = "beat"
    default_category: ClassVar[DataCategory] = DataCategory.CALL_INCIDENT

    sector: str | None = None
    precinct: str | None = None
    neighborhood: str | None = None


# --- people ----------------------------------------------------------------------------------


class PersonRecordIn(Record):
    """A person as one source system saw them. Linkage later clusters these into persons."""

    kind: ClassVar[str] = "person_record"
    default_category: ClassVar[DataCategory] = DataCategory.IDENTITY

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None
    aliases: tuple[NameIn, ...] = ()
    dob: date | None = None
    sex: str | None = None
    """``female``, ``male``, ``unknown`` or the source's own word when it has another."""
    race: str | None = None
    ethnicity: str | None = None
    phone: str | None = None
    address: AddressIn | None = None
    height_cm: int | None = Field(default=None, ge=30, le=260)
    weight_kg: int | None = Field(default=None, ge=1, le=400)
    hair: str | None = None
    eyes: str | None = None
    description: str | None = None
    """Scars, marks, tattoos, build: free text."""
    ssn: str | None = None
    """As given; ingest validates, encrypts and indexes it, and never stores it in plain text."""


# --- calls for service -----------------------------------------------------------------------


class CallIn(Record):
    """One CAD event (call for service). ``source_key`` is the CAD event number."""

    kind: ClassVar[str] = "call"
    default_category: ClassVar[DataCategory] = DataCategory.CALL_INCIDENT

    call_source: CallSource | None = None
    priority: int | None = Field(default=None, ge=0, le=9)
    initial_call_type: str | None = None
    final_call_type: str | None = None
    disposition: str | None = None
    received_at: datetime | None = None
    queued_at: datetime | None = None
    dispatched_at: datetime | None = None
    first_arrival_at: datetime | None = None
    cleared_at: datetime | None = None
    place: PlaceIn | None = None
    notes: tuple[str, ...] = ()
    agency_key: str | None = None


class UnitResponseIn(Record):
    """One unit (call sign) assigned to a call."""

    kind: ClassVar[str] = "unit_response"
    default_category: ClassVar[DataCategory] = DataCategory.CALL_INCIDENT

    call_key: str
    call_sign: str = Field(min_length=1)
    responder_type: ResponderType
    dispatched_at: datetime | None = None
    en_route_at: datetime | None = None
    at_scene_at: datetime | None = None
    in_service_at: datetime | None = None


class CallPersonIn(Record):
    """A person involved in a call, and their role (caller, subject, victim, witness...)."""

    kind: ClassVar[str] = "call_person"
    default_category: ClassVar[DataCategory] = DataCategory.CALL_INCIDENT

    call_key: str
    person_key: str
    role: str = Field(min_length=1)


# --- what happened to people -----------------------------------------------------------------


class PoliceIncidentIn(Record):
    """An RMS incident report (NIBRS administrative + offense segments)."""

    kind: ClassVar[str] = "police_incident"
    default_category: ClassVar[DataCategory] = DataCategory.CRIMINAL_JUSTICE

    occurred_at: datetime
    call_key: str | None = None
    offense_code: str | None = None
    """NIBRS UCR offense code (data element 6), e.g. 13B simple assault."""
    offense_description: str | None = None
    weapon: str | None = None
    place: PlaceIn | None = None


class ArrestIn(Record):
    """An arrest or citation (NIBRS arrestee segment). A citation is ``summoned_cited``."""

    kind: ClassVar[str] = "arrest"
    default_category: ClassVar[DataCategory] = DataCategory.CRIMINAL_JUSTICE

    person_key: str
    arrested_at: datetime
    arrest_type: ArrestType
    incident_key: str | None = None
    call_key: str | None = None
    offense_code: str | None = None
    armed_with: str | None = None


class UseOfForceIn(Record):
    kind: ClassVar[str] = "use_of_force"
    default_category: ClassVar[DataCategory] = DataCategory.CRIMINAL_JUSTICE

    person_key: str
    occurred_at: datetime
    force_type: str = Field(min_length=1)
    incident_key: str | None = None
    call_key: str | None = None
    subject_injured: bool | None = None
    officer_injured: bool | None = None
    officer_id: str | None = None


class InvoluntaryHoldIn(Record):
    """An emergency detention for psychiatric evaluation (e.g. an ITA or 5150 hold)."""

    kind: ClassVar[str] = "involuntary_hold"
    default_category: ClassVar[DataCategory] = DataCategory.BEHAVIORAL_HEALTH

    person_key: str
    started_at: datetime
    call_key: str | None = None
    authority: str | None = None
    facility: str | None = None


class EmsRunIn(Record):
    """A patient care report (NEMSIS 3.5 PatientCareReport). ``source_key`` is eRecord.01."""

    kind: ClassVar[str] = "ems_run"
    default_category: ClassVar[DataCategory] = DataCategory.HEALTH

    person_key: str | None = None
    call_key: str | None = None
    """eResponse.03, the incident number the PSAP/CAD gave."""
    unit_call_sign: str | None = None
    psap_call_at: datetime | None = None
    dispatched_at: datetime | None = None
    en_route_at: datetime | None = None
    at_scene_at: datetime | None = None
    left_scene_at: datetime | None = None
    at_destination_at: datetime | None = None
    in_service_at: datetime | None = None
    primary_impression: str | None = None
    unit_disposition: str | None = None
    """eDisposition.27 code."""
    patient_evaluation: str | None = None
    """eDisposition.28 code."""
    transport_disposition: str | None = None
    """eDisposition.30 code."""
    transported: bool | None = None
    destination_type: str | None = None
    """eDisposition.21 code."""
    destination_name: str | None = None
    place: PlaceIn | None = None


class HospitalEncounterIn(Record):
    """An ER visit or a hospital stay (FHIR Encounter with class EMER, IMP or OBSENC)."""

    kind: ClassVar[str] = "hospital_encounter"
    default_category: ClassVar[DataCategory] = DataCategory.HEALTH

    person_key: str
    encounter_kind: HospitalEncounterKind
    started_at: datetime
    ended_at: datetime | None = None
    reason: str | None = None
    discharge_disposition: str | None = None
    facility: str | None = None


class TreatmentEncounterIn(Record):
    """A behavioural-health or substance-use treatment contact.

    ``part2`` marks records from a federally assisted substance-use program under 42 CFR Part 2;
    their category is ``substance_use_part2`` whatever the encounter says.
    """

    kind: ClassVar[str] = "treatment_encounter"
    default_category: ClassVar[DataCategory] = DataCategory.BEHAVIORAL_HEALTH

    person_key: str
    started_at: datetime
    ended_at: datetime | None = None
    status: str | None = None
    encounter_class: str | None = None
    encounter_type: str | None = None
    reason: str | None = None
    part2: bool = False
    provider: str | None = None


class ConditionIn(Record):
    """A diagnosis or problem (FHIR Condition)."""

    kind: ClassVar[str] = "condition"
    default_category: ClassVar[DataCategory] = DataCategory.BEHAVIORAL_HEALTH

    person_key: str
    code: str | None = None
    code_system: str | None = None
    display: str | None = None
    clinical_status: str | None = None
    onset: date | None = None
    recorded_on: date | None = None
    part2: bool = False


class EnrollmentIn(Record):
    """An HMIS project enrollment (shelter, outreach, housing)."""

    kind: ClassVar[str] = "enrollment"
    default_category: ClassVar[DataCategory] = DataCategory.HOUSING

    person_key: str
    program_key: str
    entry_date: date
    move_in_date: date | None = None
    household_id: str | None = None
    living_situation: int | None = None
    """HMIS 3.917.1 prior living situation code."""


class EnrollmentExitIn(Record):
    """An HMIS exit; ``destination`` is the HMIS 3.12.1 destination code."""

    kind: ClassVar[str] = "enrollment_exit"
    default_category: ClassVar[DataCategory] = DataCategory.HOUSING

    enrollment_key: str
    person_key: str
    exit_date: date
    destination: int | None = None


class ServiceIn(Record):
    """A service provided: an HMIS service or bed night, an outreach contact."""

    kind: ClassVar[str] = "service"
    default_category: ClassVar[DataCategory] = DataCategory.HOUSING

    person_key: str
    provided_on: date
    service_kind: ServiceKind = ServiceKind.SERVICE
    enrollment_key: str | None = None
    record_type: int | None = None
    type_provided: int | None = None
    description: str | None = None
    living_situation: int | None = None
    """For outreach contacts: HMIS 4.12 current living situation."""


class ReferralIn(Record):
    kind: ClassVar[str] = "referral"
    default_category: ClassVar[DataCategory] = DataCategory.CASE_NOTES

    person_key: str
    referred_on: date
    referral_type: str = Field(min_length=1)
    """housing, treatment, case_management, benefits..."""
    to_agency_key: str | None = None
    to_program_key: str | None = None
    status: str = "sent"
    outcome_on: date | None = None


class CaseNoteIn(Record):
    kind: ClassVar[str] = "case_note"
    default_category: ClassVar[DataCategory] = DataCategory.CASE_NOTES

    person_key: str
    written_at: datetime
    text: str = Field(min_length=1)
    author: str | None = None


class CautionIn(Record):
    """An EIDO caution about a person (or, with no person, a location)."""

    kind: ClassVar[str] = "caution"
    default_category: ClassVar[DataCategory] = DataCategory.SAFETY

    person_key: str | None = None
    call_key: str | None = None
    place: PlaceIn | None = None
    caution_type: str = Field(min_length=1)
    severity: CautionSeverity
    description: str | None = None
    source: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class ConsentIn(Record):
    """A consent to share, modelled on a FHIR R4 Consent with one provision."""

    kind: ClassVar[str] = "consent"
    default_category: ClassVar[DataCategory] = DataCategory.IDENTITY

    person_key: str
    status: ConsentStatus
    decision: ConsentDecision = ConsentDecision.PERMIT
    recipient: str | None = None
    """Who may receive: an agency name or key, as the source recorded it."""
    purposes: tuple[str, ...] = ()
    categories: tuple[DataCategory, ...] = ()
    period_start: date | None = None
    period_end: date | None = None
    signed_on: date | None = None
    part2: bool = False
    """A 42 CFR Part 2 consent (2.31 elements recorded in ``details``)."""
    details: str | None = None


RECORD_TYPES: tuple[type[Record], ...] = (
    AgencyIn,
    ProgramIn,
    BeatIn,
    PersonRecordIn,
    CallIn,
    UnitResponseIn,
    CallPersonIn,
    PoliceIncidentIn,
    ArrestIn,
    UseOfForceIn,
    InvoluntaryHoldIn,
    EmsRunIn,
    HospitalEncounterIn,
    TreatmentEncounterIn,
    ConditionIn,
    EnrollmentIn,
    EnrollmentExitIn,
    ServiceIn,
    ReferralIn,
    CaseNoteIn,
    CautionIn,
    ConsentIn,
)
"""Every record kind, in the order ingest writes them (referenced kinds before referrers)."""
