"""The auditor's weekly review page (reading it is itself audited)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from corespond.access.roles import Role
from corespond.audit.chain import record
from corespond.audit.review import week_window, weekly_review
from corespond.audit.schemas import WeeklyReview
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import Forbidden, Principal, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False, default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard)],
)  # fmt: skip
Auditor = Annotated[Principal, Depends(requires(Role.AUDITOR, scope="audit:read"))]


def review_for(principal: Principal, week: date | None) -> WeeklyReview:
    """The principal's agency's review of ``week`` (default: the last seven days), audited."""
    if principal.agency_id is None:
        raise Forbidden("an auditor reviews their own agency's log, and you belong to none")
    window = week_window(week)
    with unit_of_work() as session:
        found = weekly_review(session, agency_id=principal.agency_id, window=window)
        record(
            session, action="audit.review_read", actor=principal.actor,
            agency_id=principal.agency_id, purpose="audit",
            detail={"start": window.start.isoformat(), "end": window.end.isoformat()},
        )  # fmt: skip
    return found


@router.get("/audit/review")
def review_page(request: Request, principal: Auditor, week: date | None = None) -> Response:
    found = review_for(principal, week)
    return templates.TemplateResponse(
        request, "weekly_review.html",
        {"review": found, "week": week.isoformat() if week else "", "back": str(request.url.path)
         + (f"?{request.url.query}" if request.url.query else "")},
    )  # fmt: skip
