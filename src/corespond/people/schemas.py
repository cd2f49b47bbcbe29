"""People, as the API reads and writes them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from corespond.people.referrals import TYPES
from corespond.schemas import UtcDatetime

Severity = Literal["highest", "high", "normal", "low", "lowest"]
ReferralType = Literal[TYPES]  # type: ignore[valid-type]


class Problem(BaseModel):
    """Why a request was refused, in words."""

    detail: str


MAX_ID = 2_147_483_647
"""The largest id the store holds (PostgreSQL's integer): a larger one is refused as invalid."""
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id in a path."""
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a body."""

PROBLEMS: dict[int | str, dict[str, object]] = {
    400: {
        "model": Problem,
        "description": "Refused as asked (the detail says why), or a body that could not be read.",
    },
    401: {"model": Problem, "description": "Not signed in, or the token is unknown or expired."},
    403: {"model": Problem, "description": "Your roles, purpose or token scopes do not allow it."},
    404: {"model": Problem, "description": "No such person."},
    409: {"model": Problem, "description": "The step does not apply now (the detail says why)."},
}


class PersonHit(BaseModel):
    id: int
    name: str
    other_names: list[str]
    dob: date | None = Field(description="Only for roles that identify patients and clients.")
    age: int | None
    agencies: list[str]
    score: float
    matched_on: list[str]


class SearchPage(BaseModel):
    limit: int
    offset: int
    more: bool
    hidden: int = Field(
        description="People who match only through records you may not see (never named)."
    )
    items: list[PersonHit]


class IdentityRead(BaseModel):
    name: str
    names: list[str]
    aliases: list[str]
    dob: date | None
    age: int | None
    sex: str | None
    description: list[str]
    restricted: list[str]


class CautionRead(BaseModel):
    id: int
    caution_type: str
    severity: str
    description: str | None
    agency: str
    status: str
    version: int
    author: str
    approver: str
    approved_at: UtcDatetime | None
    expires_at: UtcDatetime | None
    review_on: date | None
    review_note: str | None = None


class PlanRead(BaseModel):
    id: int
    agency: str
    status: str
    version: int
    triggers: str | None
    what_helps: str | None
    de_escalation: str | None
    who_to_call: str | None
    author: str
    approver: str
    approved_at: UtcDatetime | None
    review_on: date | None
    expires_on: date | None
    review_note: str | None = None


class CareTeamRead(BaseModel):
    name: str
    agency: str
    role: str | None
    last_contact: date
    contacts: int
    score: float
    reach: str


class SituationRead(BaseModel):
    housing: str
    in_treatment: bool
    open_referrals: int
    overdue_referrals: int
    frequent_utilizer: bool
    contacts_last_year: int
    agencies_last_year: int


class ReferralRead(BaseModel):
    id: int
    referral_type: str
    status: str
    referred_on: date
    from_agency: str
    to: str
    reason: str | None
    due_on: date | None
    overdue: bool
    decline_reason: str | None
    enrolled_on: date | None
    completed_on: date | None


class RestrictedRead(BaseModel):
    """Items held by an agency the user may not see: how many, when, and why."""

    agency: str
    category: str
    count: int
    first: UtcDatetime
    last: UtcDatetime
    reasons: list[str]


class LinkedRecordRead(BaseModel):
    record_id: int
    source: str
    agency: str
    method: str
    match_probability: float | None
    restricted: list[str] = Field(description="Why the record is withheld (empty: shown).")
    name: str | None = None
    dob: date | None = None
    explanation: dict[str, Any] | None = None


class ProfileRead(BaseModel):
    id: int
    purpose: str
    identity: IdentityRead
    cautions: list[CautionRead]
    plans: list[PlanRead]
    drafts: list[CautionRead | PlanRead]
    care_team: list[CareTeamRead]
    situation: SituationRead
    referrals: list[ReferralRead]
    records: list[LinkedRecordRead]
    restricted: list[RestrictedRead]
    part2_notice: str


class TouchRead(BaseModel):
    kind: str
    at: UtcDatetime
    all_day: bool = Field(
        description="The source gave a day, not a time: read ``at``'s date, ignore its time."
    )
    agency: str
    title: str
    detail: str
    ref: str


class TimelinePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TouchRead]
    restricted: list[RestrictedRead]


class CautionWrite(BaseModel):
    caution_type: str = Field(min_length=1, max_length=100)
    severity: Severity
    description: str = Field("", max_length=4000)
    expires_on: date | None = None
    review_on: date | None = None
    supersedes: BodyId | None = Field(None, description="The approved caution this revises.")


class PlanWrite(BaseModel):
    triggers: str = Field("", max_length=4000)
    what_helps: str = Field("", max_length=4000)
    de_escalation: str = Field("", max_length=4000)
    who_to_call: str = Field("", max_length=4000)
    review_on: date | None = None
    expires_on: date | None = None
    supersedes: BodyId | None = Field(None, description="The approved plan this revises.")


class ReviewWrite(BaseModel):
    note: str = Field("", max_length=2000)


class ReferralWrite(BaseModel):
    referral_type: ReferralType
    to_agency_id: BodyId
    to_program_id: BodyId | None = None
    reason: str = Field("", max_length=4000)


class StepWrite(BaseModel):
    note: str = Field("", max_length=4000)
    on: date | None = Field(None, description="When it happened (default: today).")


class NewContactsRead(BaseModel):
    person_id: int
    name: str
    last_visit: date
    new: int
    kinds: list[str]
    latest: UtcDatetime
    restricted: int


class WorkItemRead(BaseModel):
    kind: str
    id: int
    person_id: int | None
    status: str
    due_on: date | None


class WorklistRead(BaseModel):
    agency: str
    new_contacts: list[NewContactsRead]
    incoming_referrals: list[ReferralRead]
    overdue_outgoing_referrals: list[ReferralRead]
    expiring_consents: list[WorkItemRead]
    due_for_review: list[WorkItemRead]
    drafts: list[WorkItemRead]
