"""Pages to record and revoke a person's consents, and to open emergency access."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond import models
from corespond.access import repository, service
from corespond.access.reasons import CATEGORY_WORDS
from corespond.access.roles import Purpose, Role
from corespond.audit.chain import record
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import Principal, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False, default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard)],
)  # fmt: skip
ConsentTaker = Annotated[
    Principal, Depends(requires(Role.CLINICIAN, Role.CASEWORKER, Role.AGENCY_ADMIN))
]
Responder = Annotated[
    Principal, Depends(requires(Role.CLINICIAN, Role.EMS, Role.DISPATCHER, Role.OFFICER))
]


@router.get("/people/{person_id}/consents")
def consents_page(request: Request, principal: ConsentTaker, person_id: int) -> Response:
    with unit_of_work() as session:
        if session.get(models.Person, person_id) is None:
            raise HTTPException(404, f"person {person_id} does not exist")
        terms = repository.consents_of_person(session, person_id)
        agencies = repository.agencies(session)
        record(
            session, action="consent.listed", actor=principal.actor,
            agency_id=principal.agency_id, person_id=person_id,
        )  # fmt: skip
    names = dict(agencies)
    return templates.TemplateResponse(
        request, "consents.html",
        {"person_id": person_id, "consents": terms, "agencies": agencies, "names": names,
         "purposes": list(Purpose), "categories": CATEGORY_WORDS,
         "message": request.query_params.get("done")},
    )  # fmt: skip


@router.post("/people/{person_id}/consents")
def record_consent(
    principal: ConsentTaker,
    person_id: int,
    recipient_agency_id: Annotated[int, Form()],
    purposes: Annotated[list[Purpose], Form()],
    categories: Annotated[list[str], Form()],
    period_end: Annotated[date | None, Form()] = None,
    disclosing_program: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    unknown = set(categories) - set(CATEGORY_WORDS)
    if unknown:
        raise HTTPException(422, f"unknown categories {sorted(unknown)}")
    try:
        with unit_of_work() as session:
            user = session.get(models.User, principal.user_id)
            assert user is not None
            consent = service.record_consent(
                session, by=user, person_id=person_id, recipient_agency_id=recipient_agency_id,
                purposes=purposes, categories=categories, period_end=period_end,
                part2="substance_use_part2" in categories,
                disclosing_program=disclosing_program or None,
            )  # fmt: skip
            made = consent.id
    except service.AccessError as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse(f"/people/{person_id}/consents?done=recorded+{made}", status_code=303)


@router.post("/people/{person_id}/consents/{consent_id}/revoke")
def revoke(principal: ConsentTaker, person_id: int, consent_id: int) -> Response:
    try:
        with unit_of_work() as session:
            user = session.get(models.User, principal.user_id)
            assert user is not None
            service.revoke_consent(session, by=user, consent_id=consent_id)
    except service.AccessError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(
        f"/people/{person_id}/consents?done=revoked+{consent_id}", status_code=303
    )


@router.post("/people/{person_id}/emergency-access")
def open_emergency(
    request: Request,
    principal: Responder,
    person_id: int,
    kind: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    try:
        with unit_of_work() as session:
            user = session.get(models.User, principal.user_id)
            assert user is not None
            access = service.open_emergency_access(
                session, user=user, person_id=person_id, kind=kind, reason=reason
            )
            until = access.expires_at
    except service.AccessError as exc:
        raise HTTPException(403, str(exc)) from None
    message = (
        f"Open until {until:%Y-%m-%d %H:%M} UTC for person {person_id}. Every look is "
        "recorded, and your agency's auditor will review this access."
    )
    return templates.TemplateResponse(
        request, "notice.html", {"title": "Emergency access opened", "message": message},
        status_code=201,
    )  # fmt: skip
