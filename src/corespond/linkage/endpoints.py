"""JSON API: the review queue, stewards' decisions, a person's records, and real-time matching."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.linkage import review
from corespond.linkage.features import Identity
from corespond.linkage.matcher import NoModel, OnlineMatcher
from corespond.web.dependencies import DbSession, Principal, csrf_guard, requires

router = APIRouter(prefix="/linkage", tags=["linkage"], dependencies=[Depends(csrf_guard)])
Steward = Annotated[Principal, Depends(requires(Role.DATA_STEWARD, scope="linkage:read"))]
Reviewer = Annotated[Principal, Depends(requires(Role.DATA_STEWARD, scope="linkage:review"))]
Matcher = Annotated[
    Principal,
    Depends(
        requires(
            Role.DISPATCHER, Role.OFFICER, Role.CLINICIAN, Role.CASEWORKER, Role.EMS,
            Role.DATA_STEWARD, scope="linkage:read",
        )
    ),
]  # fmt: skip


class ReviewPairRead(BaseModel):
    id: int
    record_ids: tuple[int, int]
    person_ids: tuple[int | None, int | None]
    match_probability: float
    reason: str
    explanation: dict[str, Any]


class DecisionIn(BaseModel):
    verdict: Literal["same", "different"]
    note: str | None = Field(default=None, max_length=2000)


class LinkedRecordRead(BaseModel):
    record_id: int
    source: str
    source_key: str
    method: str
    match_probability: float | None
    explanation: dict[str, Any]


class MatchIn(BaseModel):
    """An identity to match: what a 911 caller or an intake worker knows."""

    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    dob: date | None = None
    sex: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, max_length=200)
    zip: str | None = Field(default=None, max_length=10)


class CandidateRead(BaseModel):
    person_id: int
    record_id: int
    match_probability: float
    explanation: dict[str, Any]


class MatchRead(BaseModel):
    decision: Literal["linked", "review", "new", "unlinkable"]
    person_id: int | None
    match_probability: float | None
    reason: str
    candidates: list[CandidateRead]


@router.get("/review", response_model=list[ReviewPairRead])
def list_review(
    principal: Steward,
    session: DbSession,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[ReviewPairRead]:
    """Open review pairs, least certain first."""
    return [
        ReviewPairRead(
            id=item.review.id,
            record_ids=(item.review.record_a_id, item.review.record_b_id),
            person_ids=item.persons,
            match_probability=item.review.match_probability,
            reason=item.review.reason,
            explanation=item.explanation,
        )
        for item in review.open_reviews(session, limit=limit, offset=offset)
    ]


@router.post("/review/{review_id}/decision", status_code=204)
def decide(principal: Reviewer, review_id: int, decision: DecisionIn) -> None:
    """Same (merge their persons now) or different (keep apart); pinned for later runs."""
    try:
        with unit_of_work() as session:
            review.decide(
                session, review_id, decision.verdict, by=principal.actor, note=decision.note
            )
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/persons/{person_id}/records", response_model=list[LinkedRecordRead])
def person_records(
    principal: Steward, session: DbSession, person_id: int
) -> list[LinkedRecordRead]:
    """A person's records, each with the explanation of its link."""
    records = review.person_records(session, person_id)
    if not records:
        raise HTTPException(404, f"person {person_id} has no records")
    return [
        LinkedRecordRead(
            record_id=item.record.id,
            source=item.source,
            source_key=item.record.source_key,
            method=item.link.method,
            match_probability=item.link.match_probability,
            explanation=item.explanation,
        )
        for item in records
    ]


@router.post("/match", response_model=MatchRead)
def match(principal: Matcher, session: DbSession, identity: MatchIn) -> MatchRead:
    """Who is this? Linked, needs review or new person, with the top candidates."""
    try:
        matcher = OnlineMatcher(session)
    except NoModel as exc:
        raise HTTPException(409, str(exc)) from None
    result = matcher.match(session, Identity(record_id=0, **identity.model_dump()))
    return MatchRead(
        decision=result.decision,
        person_id=result.person_id,
        match_probability=result.probability,
        reason=result.reason,
        candidates=[
            CandidateRead(
                person_id=c.person_id,
                record_id=c.record_id,
                match_probability=c.probability,
                explanation=c.explanation,
            )
            for c in result.candidates
        ],
    )
