"""JSON API: ask whether a fact may be seen, record and revoke consents, open emergency access."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from corespond import models
from corespond.access import service
from corespond.access.roles import Purpose, Role
from corespond.db.engine import unit_of_work
from corespond.sources.records import DataCategory
from corespond.web.dependencies import Principal, csrf_guard, requires

router = APIRouter(tags=["access"], dependencies=[Depends(csrf_guard)])
Anyone = Annotated[Principal, Depends(requires(scope="access:read"))]
ConsentTaker = Annotated[
    Principal,
    Depends(requires(Role.CLINICIAN, Role.CASEWORKER, Role.AGENCY_ADMIN, scope="access:consents")),
]
Responder = Annotated[
    Principal,
    Depends(
        requires(Role.CLINICIAN, Role.EMS, Role.DISPATCHER, Role.OFFICER, scope="access:emergency")
    ),
]


class DecisionRead(BaseModel):
    allowed: bool
    policies: list[str]
    reasons: list[str]
    obligations: list[str]


class ConsentIn(BaseModel):
    """One FHIR-style provision: permit (or deny) these categories to this agency for these
    purposes until this date."""

    recipient_agency_id: int
    purposes: list[Purpose] = Field(min_length=1)
    categories: list[DataCategory] = Field(min_length=1)
    period_end: date | None = None
    part2: bool = False
    disclosing_program: str | None = Field(default=None, max_length=200)
    decision: Literal["permit", "deny"] = "permit"


class Created(BaseModel):
    id: int


class EmergencyIn(BaseModel):
    kind: Literal["break_glass", "serious_threat"]
    reason: str = Field(min_length=10, max_length=2000)


@router.get("/people/{person_id}/access", response_model=DecisionRead)
def check(
    principal: Anyone,
    person_id: int,
    purpose: Purpose,
    category: DataCategory,
    owner_agency_id: int | None = Query(None, description="The agency holding the fact."),
) -> DecisionRead:
    """May I see this category of this person's facts held by that agency, for this purpose?
    The decision is audited like a read."""
    with unit_of_work() as session:
        user = _user(session, principal)
        owner = session.get(models.Agency, owner_agency_id) if owner_agency_id else None
        decision = service.decide_for(
            session, service.subject_of(session, user), person_id, category.value, owner, purpose
        )
    return DecisionRead(
        allowed=decision.allowed, policies=list(decision.policies),
        reasons=list(decision.reasons), obligations=list(decision.obligations),
    )  # fmt: skip


@router.post("/people/{person_id}/consents", response_model=Created, status_code=201)
def record_consent(principal: ConsentTaker, person_id: int, consent: ConsentIn) -> Created:
    """Record the person's consent; it counts from the next request."""
    try:
        with unit_of_work() as session:
            row = service.record_consent(
                session, by=_user(session, principal), person_id=person_id,
                recipient_agency_id=consent.recipient_agency_id, purposes=consent.purposes,
                categories=[c.value for c in consent.categories], period_end=consent.period_end,
                part2=consent.part2, disclosing_program=consent.disclosing_program,
                decision=consent.decision,
            )  # fmt: skip
            return Created(id=row.id)
    except service.AccessError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/consents/{consent_id}/revoke", status_code=204)
def revoke_consent(principal: ConsentTaker, consent_id: int) -> None:
    """Revoke a consent; every decision that rested on it changes on the next request."""
    try:
        with unit_of_work() as session:
            service.revoke_consent(session, by=_user(session, principal), consent_id=consent_id)
    except service.AccessError as exc:
        raise HTTPException(409, str(exc)) from None


@router.post("/people/{person_id}/emergency-access", response_model=Created, status_code=201)
def emergency(principal: Responder, person_id: int, request: EmergencyIn) -> Created:
    """Break the glass (clinical and EMS staff) or record a serious and imminent threat."""
    try:
        with unit_of_work() as session:
            access = service.open_emergency_access(
                session, user=_user(session, principal), person_id=person_id,
                kind=request.kind, reason=request.reason,
            )  # fmt: skip
            return Created(id=access.id)
    except service.AccessError as exc:
        raise HTTPException(403, str(exc)) from None


def _user(session, principal: Principal) -> models.User:  # type: ignore[no-untyped-def]
    user = session.get(models.User, principal.user_id)
    if user is None:
        raise HTTPException(401, "the user no longer exists")
    return user
