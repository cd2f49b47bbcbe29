"""Pages for data stewards: the review queue, and a person's records with their explanations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.linkage import review
from corespond.linkage.model import FIELDS
from corespond.web.dependencies import DbSession, SignedIn, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard), Depends(requires(Role.DATA_STEWARD))],
)
PAGE_SIZE = 20


@router.get("/review")
def review_page(request: Request, session: DbSession, page: int = 1) -> Response:
    page = max(page, 1)
    items = review.open_reviews(session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "items": items[:PAGE_SIZE],
            "fields": FIELDS,
            "page": page,
            "more": len(items) > PAGE_SIZE,
            "total": review.count_open(session),
        },
    )


@router.post("/review/{review_id}")
def decide_page(
    principal: SignedIn,
    review_id: int,
    verdict: Annotated[Literal["same", "different"], Form()],
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        with unit_of_work() as session:
            review.decide(session, review_id, verdict, by=principal.actor, note=note or None)
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse("/review", status_code=303)


@router.get("/linkage/persons/{person_id}")
def person_records_page(request: Request, session: DbSession, person_id: int) -> Response:
    records = review.person_records(session, person_id)
    if not records:
        raise HTTPException(404, f"person {person_id} has no records")
    return templates.TemplateResponse(
        request,
        "person_records.html",
        {"person_id": person_id, "records": records, "fields": FIELDS},
    )


@router.post("/linkage/persons/{person_id}/split")
def split_page(
    principal: SignedIn, person_id: int, records: Annotated[list[int], Form()]
) -> Response:
    try:
        with unit_of_work() as session:
            new = review.split(session, person_id, records, by=principal.actor)
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/linkage/persons/{new}", status_code=303)
