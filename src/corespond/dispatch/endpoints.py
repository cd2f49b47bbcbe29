"""JSON API: live incident intake, incidents, briefs, recommendations and dispatcher decisions,
and the triage protocol.

``POST /dispatch/incidents`` takes a NENA EIDO document (an object with ``eidoVersion``) or the
simple form (an object with ``incident_id``; docs/dispatch.md). The message is stored before
the answer is sent: 201 for a new incident, 200 for an update or a repeat; 422 with the field
and the problem for anything that cannot be taken, with nothing stored.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.dispatch import live, service, views
from corespond.dispatch.schemas import (
    BriefRead,
    DecisionIn,
    DecisionRead,
    IncidentRead,
    IntakeRead,
    ReferralFromIncident,
)
from corespond.people.schemas import PROBLEMS
from corespond.web.dependencies import SignedIn, csrf_guard, requires

MAX_MESSAGE_BYTES = 1_000_000
RESPONDERS = (Role.DISPATCHER, Role.OFFICER, Role.CLINICIAN, Role.EMS)

router = APIRouter(tags=["dispatch"], dependencies=[Depends(csrf_guard)], responses=PROBLEMS)
Intake = Depends(requires(Role.DISPATCHER, scope="dispatch:intake"))
Reading = Depends(requires(*RESPONDERS, scope="dispatch:read"))
Deciding = Depends(requires(Role.DISPATCHER, scope="dispatch:decide"))


def _problem(status: int, detail: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status)


@router.post(
    "/dispatch/incidents",
    response_model=IntakeRead,
    status_code=201,
    dependencies=[Intake],
    responses={
        200: {"model": IntakeRead, "description": "An update, or a message already received."},
        413: {"description": "The message is larger than 1 MB."},
        422: {"description": "The message cannot be taken: ``field`` and ``detail`` say why."},
    },
)
async def receive_incident(request: Request, principal: SignedIn) -> Response:
    """Take one incident message (EIDO, or the simple form) from a CAD."""
    raw = await request.body()
    if len(raw) > MAX_MESSAGE_BYTES:
        return _problem(413, f"the message is {len(raw):,} bytes; at most 1 MB is taken")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return _problem(422, f"body: not JSON ({exc})", "body")
    form = _form(message)
    if form is None:
        return _problem(
            422,
            "body: neither an EIDO document (no eidoVersion) nor the simple form (no incident_id)",
            "body",
        )
    try:
        read, created, changed, incident_id = await run_in_threadpool(
            _receive, principal.user_id, message, form
        )
    except service.DispatchError as exc:
        return _problem(exc.status_code, str(exc), exc.field)
    if changed:
        await run_in_threadpool(live.publish, incident_id, "created" if created else "updated")
    body = IntakeRead(incident=read, created=created, changed=changed)
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if created else 200)


def _form(message: Any) -> service.Form | None:
    if isinstance(message, dict) and "eidoVersion" in message:
        return "eido"
    if isinstance(message, dict) and "incident_id" in message:
        return "simple"
    return None


def _receive(
    user_id: int, message: Any, form: service.Form
) -> tuple[IncidentRead, bool, bool, int]:
    try:
        return _receive_once(user_id, message, form)
    except IntegrityError:
        # Another app process created the same row first (the sending CAD's live source on
        # its first incidents, or an incident whose retry raced the original): nothing of
        # this attempt was kept, and a second one finds that row.
        return _receive_once(user_id, message, form)


def _receive_once(
    user_id: int, message: Any, form: service.Form
) -> tuple[IncidentRead, bool, bool, int]:
    with unit_of_work() as session:
        received = service.receive(session, user_id=user_id, message=message, form=form)
        read = views.incident_read(session, received.incident)
        return read, received.created, received.changed, received.incident.id


@router.get("/dispatch/incidents", response_model=list[IncidentRead], dependencies=[Reading])
def list_incidents(
    principal: SignedIn,
    limit: int = Query(50, ge=1, le=200),
    before: int | None = Query(None, ge=1, description="Incidents older than this id."),
) -> list[IncidentRead]:
    """The newest incidents whose calls you may see."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        return views.visible_incidents(session, reader, limit=limit, before=before)


@router.get(
    "/dispatch/incidents/{incident_id}", response_model=IncidentRead, dependencies=[Reading]
)
def get_incident(incident_id: int, principal: SignedIn) -> IncidentRead:
    """One incident: the call, units, recommendation and the dispatcher's answer."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        return views.incident_for(session, reader, incident_id)


@router.get(
    "/dispatch/incidents/{incident_id}/brief", response_model=BriefRead, dependencies=[Reading]
)
def get_brief(incident_id: int, principal: SignedIn) -> BriefRead:
    """What responders must know: the people matched and what you may see of them (cautions,
    plan, care-team contact, recent contacts) and the premise history."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        incident = views.visible_incident(session, reader, incident_id)
        return views.brief_read(session, reader, incident)


@router.post(
    "/dispatch/incidents/{incident_id}/decision",
    response_model=DecisionRead,
    status_code=201,
    dependencies=[Deciding],
)
def decide(incident_id: int, answer: DecisionIn, principal: SignedIn) -> DecisionRead:
    """Accept the recommended response, or override it with what is sent and why."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        views.visible_incident(session, reader, incident_id)
        try:
            row = service.decide(session, incident_id, answer, user_id=principal.user_id)
        except service.DispatchError as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        read = views.decision_read(session, row)
    live.publish(incident_id, "decided")
    return read


@router.post(
    "/dispatch/incidents/{incident_id}/referrals",
    response_model=IncidentRead,
    status_code=201,
    dependencies=[Depends(requires(*RESPONDERS, scope="people:write"))],
)
def refer(incident_id: int, asked: ReferralFromIncident, principal: SignedIn) -> IncidentRead:
    """Refer a person the incident names to a provider or program (housing, treatment, case
    management...): the referral's status shows on the incident and on the person."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        views.visible_incident(session, reader, incident_id)
        try:
            service.refer(session, incident_id, asked, user_id=principal.user_id)
        except service.DispatchError as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        incident = views.incident_for(session, reader, incident_id)
    live.publish(incident_id, "referred")
    return incident


@router.get("/dispatch/incidents/{incident_id}/eido", dependencies=[Reading])
def export_incident(incident_id: int, principal: SignedIn) -> JSONResponse:
    """The incident as a NENA EIDO document, to transfer it with its context."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        views.visible_incident(session, reader, incident_id)
        document = service.export_document(session, incident_id, user_id=principal.user_id)
    return JSONResponse(document, media_type="application/json")
