"""JSON API: the review queue, stewards' decisions, a person's records, and real-time matching.

Every record returned is decided for the caller's purpose of use (``access.reads``); a record
they may not see comes back restricted, with the reasons and without its content.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from corespond import models
from corespond.access.reads import Reader
from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.linkage import review
from corespond.linkage.features import Identity
from corespond.linkage.matcher import NoModel, OnlineMatcher
from corespond.web.dependencies import Forbidden, Principal, ReadingPurpose, csrf_guard, requires

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
    """Empty when a record is restricted: the weights are drawn from both records."""
    restricted: list[str] = []
    """Why a record of the pair is withheld from you (empty: you may see both)."""


class DecisionIn(BaseModel):
    verdict: Literal["same", "different"]
    note: str | None = Field(default=None, max_length=2000)


class LinkedRecordRead(BaseModel):
    record_id: int
    source: str | None
    source_key: str | None
    method: str | None
    match_probability: float | None
    explanation: dict[str, Any]
    restricted: str | None = None
    """Why the record is withheld from you; its other fields are then empty."""


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
    record_id: int | None
    match_probability: float
    explanation: dict[str, Any]
    restricted: str | None = None
    """Why the candidate's record is withheld from you (then no record id or explanation)."""


class MatchRead(BaseModel):
    decision: Literal["linked", "review", "new", "unlinkable"]
    person_id: int | None
    match_probability: float | None
    reason: str
    candidates: list[CandidateRead]


@router.get("/review", response_model=list[ReviewPairRead])
def list_review(
    principal: Steward,
    purpose: ReadingPurpose,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[ReviewPairRead]:
    """Open review pairs, least certain first."""
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        items = [
            (item, reader.withheld(list(item.records)))
            for item in review.open_reviews(session, limit=limit, offset=offset)
        ]
    return [
        ReviewPairRead(
            id=item.review.id,
            record_ids=(item.review.record_a_id, item.review.record_b_id),
            person_ids=item.persons,
            match_probability=item.review.match_probability,
            reason=item.review.reason,
            explanation={} if withheld else item.explanation,
            restricted=withheld,
        )
        for item, withheld in items
    ]


@router.post("/review/{review_id}/decision", status_code=204)
def decide(
    principal: Reviewer, purpose: ReadingPurpose, review_id: int, decision: DecisionIn
) -> None:
    """Same (merge their persons now) or different (keep apart); pinned for later runs. Only
    on a pair whose records you may both see."""
    withheld: list[str] = []
    try:
        with unit_of_work() as session:
            pair = session.get(models.MatchReview, review_id)
            if pair is not None:
                reader = Reader(session, user_id=principal.user_id, purpose=purpose)
                withheld = reader.withheld_ids([pair.record_a_id, pair.record_b_id])
            if not withheld:
                review.decide(
                    session, review_id, decision.verdict, by=principal.actor, note=decision.note
                )
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None
    if withheld:  # after the commit: the denials stay in the audit log
        raise Forbidden("; ".join(withheld))


@router.get("/persons/{person_id}/records", response_model=list[LinkedRecordRead])
def person_records(
    principal: Steward, purpose: ReadingPurpose, person_id: int
) -> list[LinkedRecordRead]:
    """A person's records, each with the explanation of its link."""
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        records = [
            (item, reader.record(item.record, person_id))
            for item in review.person_records(session, person_id)
        ]
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
        if decision.allowed
        else LinkedRecordRead(
            record_id=item.record.id,
            source=None,
            source_key=None,
            method=None,
            match_probability=None,
            explanation={},
            restricted="; ".join(decision.reasons),
        )
        for item, decision in records
    ]


@router.post("/match", response_model=MatchRead)
def match(principal: Matcher, purpose: ReadingPurpose, identity: MatchIn) -> MatchRead:
    """Who is this? Linked, needs review or new person, with the top candidates (a candidate
    whose record you may not see comes without its record and explanation)."""
    with unit_of_work() as session:
        try:
            matcher = OnlineMatcher(session)
        except NoModel as exc:
            raise HTTPException(409, str(exc)) from None
        result = matcher.match(session, Identity(record_id=0, **identity.model_dump()))
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        candidates = []
        for c in result.candidates:
            record = session.get(models.PersonRecord, c.record_id)
            decision = reader.record(record, c.person_id) if record else None
            if decision is not None and decision.allowed:
                candidates.append(
                    CandidateRead(
                        person_id=c.person_id,
                        record_id=c.record_id,
                        match_probability=c.probability,
                        explanation=c.explanation,
                    )
                )
            else:
                reasons = decision.reasons if decision else ("the record no longer exists",)
                candidates.append(
                    CandidateRead(
                        person_id=c.person_id,
                        record_id=None,
                        match_probability=c.probability,
                        explanation={},
                        restricted="; ".join(reasons),
                    )
                )
    return MatchRead(
        decision=result.decision,
        person_id=result.person_id,
        match_probability=result.probability,
        reason=result.reason,
        candidates=candidates,
    )
