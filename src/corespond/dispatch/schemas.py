"""The simple incident form, and what the dispatch API answers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corespond.dispatch.protocol import FLAGS
from corespond.schemas import UtcDatetime
from corespond.sources.records import CallSource, ResponderType


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressForm(_Form):
    street: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=40)
    zip: str | None = Field(default=None, max_length=20)


class LocationForm(AddressForm):
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    beat: str | None = Field(default=None, max_length=40)


class PersonForm(_Form):
    id: str = Field(min_length=1, max_length=60, description="unique within the incident")
    role: str = Field(default="subject", min_length=1, max_length=40)
    first_name: str | None = Field(default=None, max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    dob: date | None = None
    sex: Literal["male", "female", "unknown"] | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: AddressForm | None = None


class UnitForm(_Form):
    call_sign: str = Field(min_length=1, max_length=40)
    type: ResponderType
    dispatched_at: UtcDatetime | None = None
    en_route_at: UtcDatetime | None = None
    on_scene_at: UtcDatetime | None = None
    available_at: UtcDatetime | None = None


class SimpleIncident(_Form):
    """An incident as a CAD without EIDO can send it (docs/dispatch.md)."""

    incident_id: str = Field(min_length=1, max_length=150)
    received_at: UtcDatetime
    call_type: str | None = Field(default=None, max_length=200)
    priority: int | None = Field(default=None, ge=0, le=9)
    source: CallSource | None = None
    location: LocationForm | None = None
    notes: list[str] = Field(default_factory=list, max_length=200)
    flags: list[str] = Field(default_factory=list, max_length=20)
    """What the call-taker ticked (weapon, violence, medical_emergency, ...: docs/dispatch.md)."""

    @field_validator("flags")
    @classmethod
    def known_flags(cls, flags: list[str]) -> list[str]:
        unknown = sorted(set(flags) - set(FLAGS))
        if unknown:
            raise ValueError(f"unknown flag(s) {unknown}; flags are {', '.join(FLAGS)}")
        return flags

    available_units: dict[ResponderType, int] | None = None
    """Free units per responder type, as the CAD knows them (``{"care_team": 0}``): a
    configuration with none free falls back as the protocol says."""
    people: list[PersonForm] = Field(default_factory=list, max_length=50)
    units: list[UnitForm] = Field(default_factory=list, max_length=50)
    dispatched_at: UtcDatetime | None = None
    arrived_at: UtcDatetime | None = None
    cleared_at: UtcDatetime | None = None
    disposition: str | None = Field(default=None, max_length=200)


class CandidateRead(BaseModel):
    person_id: int
    probability: float


class CautionRead(BaseModel):
    severity: str
    caution_type: str
    description: str | None
    agency: str


class PlanRead(BaseModel):
    agency: str
    triggers: str | None
    what_helps: str | None
    de_escalation: str | None
    who_to_call: str | None


class ContactRead(BaseModel):
    name: str
    agency: str
    role: str | None
    reach: str
    last_contact: str


class BriefPersonRead(BaseModel):
    record_id: int
    role: str
    name: str
    age: int | None
    match: str
    """``linked``, ``review``, ``new`` or ``unlinkable``."""
    probability: float | None
    person_id: int | None
    person_url: str | None
    candidates: list[CandidateRead]
    cautions: list[CautionRead]
    plan: PlanRead | None
    care_team_contact: ContactRead | None
    recent_contacts: dict[str, int]
    """Touchpoints across agencies in the 90 days before the call, by kind."""
    withheld: list[str]


class PremiseCallRead(BaseModel):
    incident: str
    at: UtcDatetime | None
    call_type: str | None
    disposition: str | None


class RecommendationRead(BaseModel):
    id: int
    configuration: str
    responders: list[str]
    rule: str
    rationale: str
    protocol: str
    protocol_version: int
    steps: list[dict[str, object]]


class DecisionRead(BaseModel):
    action: str
    configuration: str
    reason: str | None
    user: str
    decided_at: UtcDatetime


class UnitRead(BaseModel):
    call_sign: str
    responder_type: str
    dispatched_at: UtcDatetime | None
    en_route_at: UtcDatetime | None
    at_scene_at: UtcDatetime | None
    in_service_at: UtcDatetime | None


class IncidentReferralRead(BaseModel):
    """A referral a responder started from the incident (shown to the agencies it is
    between: the sender and the receiver)."""

    id: int
    person_id: int | None
    referral_type: str
    status: str
    to: str
    due_on: date | None
    overdue: bool


class ReferralFromIncident(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    person_id: int = Field(ge=1, le=2**31 - 1)
    """A person the incident's matcher linked (``brief.people[].person_id``)."""
    referral_type: Literal[
        "housing", "treatment", "case_management", "benefits", "mental_health", "other"
    ]
    to_agency_id: int = Field(ge=1, le=2**31 - 1)
    to_program_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reason: str = Field(default="", max_length=4000)


class IncidentRead(BaseModel):
    id: int
    incident: str
    source: str
    received_at: UtcDatetime
    """When corespond took the first message."""
    call_received_at: UtcDatetime | None
    """When the CAD says the call came in."""
    updated_at: UtcDatetime
    messages: int
    call_type: str | None
    priority: int | None
    address: str | None
    beat: str | None
    notes: list[str]
    units: list[UnitRead]
    recommendation: RecommendationRead | None
    decision: DecisionRead | None
    referrals: list[IncidentReferralRead] = []
    """Referrals started from the incident that your agency sent or received."""


class BriefRead(BaseModel):
    incident_id: int
    purpose: str
    people: list[BriefPersonRead]
    premise_calls: list[PremiseCallRead]
    premise_call_count: int
    premise_cautions: list[CautionRead]
    premise_withheld: list[str]


class IntakeRead(BaseModel):
    """What intake answers: the incident, and whether the message changed it."""

    incident: IncidentRead
    created: bool
    changed: bool
    """False when the same message (or one that adds nothing) was already received."""


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["accept", "override"]
    configuration: str | None = Field(default=None, max_length=40)
    """Required to override: what is sent instead."""
    reason: str | None = Field(default=None, max_length=2000)
    """Required to override."""
