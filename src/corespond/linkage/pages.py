"""Pages for data stewards: the review queue, and a person's records with their explanations.

Each record is shown under a decision on its source agency's data for the steward's purpose
(``access.reads``): working for data stewardship, a steward sees every agency's identity
records; a record they may not see is shown as restricted, with the reason, and cannot be
decided on or split off.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond import models
from corespond.access.reads import Reader
from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.linkage import review
from corespond.linkage.model import FIELDS
from corespond.web.dependencies import Forbidden, ReadingPurpose, SignedIn, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard), Depends(requires(Role.DATA_STEWARD))],
)
PAGE_SIZE = 20


@router.get("/review")
def review_page(
    request: Request, principal: SignedIn, purpose: ReadingPurpose, page: int = 1
) -> Response:
    page = max(page, 1)
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        items = review.open_reviews(session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        shown = [
            (item, [reader.record(record, person) for record, person in zip(
                item.records, item.persons, strict=True
            )])
            for item in items[:PAGE_SIZE]
        ]  # fmt: skip
        total = review.count_open(session)
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "items": shown,
            "fields": FIELDS,
            "page": page,
            "more": len(items) > PAGE_SIZE,
            "total": total,
        },
    )


@router.post("/review/{review_id}")
def decide_page(
    principal: SignedIn,
    purpose: ReadingPurpose,
    review_id: int,
    verdict: Annotated[Literal["same", "different"], Form()],
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    withheld: list[str] = []
    try:
        with unit_of_work() as session:
            pair = session.get(models.MatchReview, review_id)
            if pair is not None:
                reader = Reader(session, user_id=principal.user_id, purpose=purpose)
                withheld = reader.withheld_ids([pair.record_a_id, pair.record_b_id])
            if not withheld:
                review.decide(session, review_id, verdict, by=principal.actor, note=note or None)
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None
    if withheld:  # raised after the commit: the denials stay in the audit log
        raise Forbidden("; ".join(withheld))
    return RedirectResponse("/review", status_code=303)


@router.get("/linkage/persons/{person_id}")
def person_records_page(
    request: Request, principal: SignedIn, purpose: ReadingPurpose, person_id: int
) -> Response:
    with unit_of_work() as session:
        records = review.person_records(session, person_id)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        shown = [(item, reader.record(item.record, person_id)) for item in records]
    if not records:
        raise HTTPException(404, f"person {person_id} has no records")
    return templates.TemplateResponse(
        request,
        "person_records.html",
        {"person_id": person_id, "records": shown, "fields": FIELDS},
    )


@router.post("/linkage/persons/{person_id}/split")
def split_page(
    principal: SignedIn,
    purpose: ReadingPurpose,
    person_id: int,
    records: Annotated[list[int], Form()],
) -> Response:
    new = None
    try:
        with unit_of_work() as session:
            reader = Reader(session, user_id=principal.user_id, purpose=purpose)
            withheld = reader.withheld_ids(records)
            if not withheld:
                new = review.split(session, person_id, records, by=principal.actor)
    except review.ReviewError as exc:
        raise HTTPException(409, str(exc)) from None
    if new is None:
        raise Forbidden("; ".join(withheld))
    return RedirectResponse(f"/linkage/persons/{new}", status_code=303)
