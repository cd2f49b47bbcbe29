"""JSON API: a person's accounting of disclosures (JSON, or CSV to hand to the person), and the
auditor's weekly review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from corespond import models
from corespond.access import service
from corespond.access.roles import Role
from corespond.audit.chain import record
from corespond.audit.disclosures import accounting, as_csv
from corespond.audit.pages import Auditor, review_for
from corespond.audit.schemas import WeeklyReview
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import Principal, csrf_guard, requires

router = APIRouter(tags=["audit"], dependencies=[Depends(csrf_guard)])
Accountant = Annotated[
    Principal,
    Depends(requires(Role.AUDITOR, Role.AGENCY_ADMIN, Role.DATA_STEWARD, scope="audit:read")),
]


class DisclosureRead(BaseModel):
    at: datetime
    recipient_agency: str
    disclosed_by: str
    categories: str
    purpose: str
    legal_basis: str
    user: str
    audit_event: int


@router.get("/people/{person_id}/disclosures", response_model=list[DisclosureRead])
def disclosures(
    principal: Accountant, person_id: int, format: Literal["json", "csv"] = "json"
) -> Response | list[DisclosureRead]:
    """Which agency saw what about this person, when, why and on what basis (HIPAA 164.528:
    six years; 42 CFR 2.24: three years for Part 2 records)."""
    with unit_of_work() as session:
        found = accounting(session, person_id)
        record(
            session, action="audit.accounting_read", actor=principal.actor,
            agency_id=principal.agency_id, person_id=person_id, purpose="audit",
        )  # fmt: skip
    if format == "csv":
        return PlainTextResponse(
            as_csv(found), media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="disclosures-{person_id}.csv"'},
        )  # fmt: skip
    return [
        DisclosureRead(
            at=item.at,
            recipient_agency=item.recipient_agency,
            disclosed_by=item.owner_agency,
            categories=item.categories,
            purpose=item.purpose,
            legal_basis=item.legal_basis,
            user=item.actor,
            audit_event=item.event,
        )
        for item in found
    ]


class EmergencyReviewIn(BaseModel):
    note: str = Field(default="", max_length=2000)


@router.get("/audit/review", response_model=WeeklyReview)
def weekly_review(principal: Auditor, week: date | None = None) -> WeeklyReview:
    """Your agency's weekly review: emergency access, serious-threat disclosures, denied
    decisions, failed sign-ins and lockouts, administrative changes, and reads by user, for the
    seven days from ``week`` (local midnight), or the last seven days."""
    return review_for(principal, week)


@router.post("/audit/emergency-access/{access_id}/review", status_code=204)
def review_emergency(principal: Auditor, access_id: int, review: EmergencyReviewIn) -> None:
    """Mark your agency's emergency access reviewed (audited)."""
    with unit_of_work() as session:
        reviewer = session.get(models.User, principal.user_id)
        if reviewer is None:
            raise HTTPException(401, "the user no longer exists")
        try:
            service.review_emergency_access(
                session, reviewer=reviewer, access_id=access_id, note=review.note
            )
        except service.AccessError as exc:
            raise HTTPException(404, str(exc)) from None
