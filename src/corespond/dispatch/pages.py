"""Pages: the live board (incidents as they arrive, each with its brief and recommendation,
accept or override), its event stream, and the triage protocol editor.

The board runs under the emergency-response purpose whatever purpose the user's session has
chosen for other pages: it is only for roles that respond (the header still states it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.dispatch import live, repository, service, triage, views
from corespond.dispatch.endpoints import RESPONDERS
from corespond.dispatch.schemas import DecisionIn, ReferralFromIncident
from corespond.people import referrals
from corespond.people import repository as people_repository
from corespond.web.dependencies import SignedIn, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard)],
)
Responding = Depends(requires(*RESPONDERS))
Managing = Depends(requires(Role.PROGRAM_MANAGER, Role.DISPATCHER))
BOARD_SIZE = 30


def _shared(session: Session, principal: SignedIn) -> dict[str, object]:
    """What every card needs besides its incident: the configurations a dispatcher may send,
    and the agencies a responder may refer to."""
    agencies = people_repository.agencies(session)
    return {
        "configurations": triage.CONFIGURATIONS,
        "may_decide": Role.DISPATCHER in principal.roles,
        "may_refer": bool(principal.roles & referrals.SENDERS) and principal.agency_id is not None,
        "referral_types": referrals.TYPES,
        "agencies": sorted(
            ((a.id, a.name) for a in agencies.values() if a.id != principal.agency_id),
            key=lambda pair: pair[1],
        ),
    }


def _card(request: Request, principal: SignedIn, incident_id: int, **extra: object) -> Response:
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        row = views.visible_incident(session, reader, incident_id)
        incident = views.incident_read(session, row, agency_id=reader.subject.agency_id)
        brief = views.brief_read(session, reader, row)
        shared = _shared(session, principal)
    return templates.TemplateResponse(
        request, "_incident.html", {"incident": incident, "brief": brief, **shared, **extra}
    )


@router.get("/dispatch", dependencies=[Responding])
def board(request: Request, principal: SignedIn) -> Response:
    """The newest incidents, each with its brief; new ones arrive by the event stream."""
    with unit_of_work() as session:
        reader = views.responder(session, principal.user_id)
        incidents = views.visible_incidents(session, reader, limit=BOARD_SIZE)
        cards = [(incident, views.brief_for(session, reader, incident.id))
                 for incident in incidents]  # fmt: skip
        counts = repository.override_counts(session)
        shared = _shared(session, principal)
    return templates.TemplateResponse(
        request, "board.html", {"cards": cards, "counts": counts, "active": "dispatch", **shared}
    )


@router.get("/dispatch/incidents/{incident_id}/card", dependencies=[Responding])
def card(request: Request, principal: SignedIn, incident_id: int) -> Response:
    """One incident's card (the board fetches it when the stream says the incident changed)."""
    return _card(request, principal, incident_id)


@router.post("/dispatch/incidents/{incident_id}/decision", dependencies=[Responding])
def decide(
    request: Request,
    principal: SignedIn,
    incident_id: int,
    action: Annotated[str, Form()],
    configuration: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Accept or override from the board; answers with the updated card."""
    if Role.DISPATCHER not in principal.roles:
        raise HTTPException(403, "only a dispatcher answers a recommendation")
    if action not in {"accept", "override"}:
        raise HTTPException(400, "action: accept or override")
    answer = DecisionIn(
        action=action,  # type: ignore[arg-type]
        configuration=configuration or None,
        reason=reason.strip()[:2000] or None,
    )
    return _act(
        request, principal, incident_id, "decided",
        lambda session: service.decide(session, incident_id, answer, user_id=principal.user_id),
    )  # fmt: skip


@router.post("/dispatch/incidents/{incident_id}/referrals", dependencies=[Responding])
def refer(
    request: Request,
    principal: SignedIn,
    incident_id: int,
    person_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    referral_type: Annotated[str, Form(max_length=40)],
    to_agency_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Refer a person the incident names, from the board; answers with the updated card."""
    try:
        asked = ReferralFromIncident(
            person_id=person_id, referral_type=referral_type,  # type: ignore[arg-type]
            to_agency_id=to_agency_id, reason=reason,
        )  # fmt: skip
    except ValidationError as exc:
        problem = "; ".join(error["msg"] for error in exc.errors())
        return _answer(request, principal, incident_id, problem)
    return _act(
        request, principal, incident_id, "referred",
        lambda session: service.refer(session, incident_id, asked, user_id=principal.user_id),
    )  # fmt: skip


def _act(
    request: Request,
    principal: SignedIn,
    incident_id: int,
    kind: str,
    action: Callable[[Session], object],
) -> Response:
    """Do ``action`` on an incident the user may see, tell the boards (``kind``) once it is
    committed, and answer as the board asked: the updated card, or back to the board."""
    problem = None
    with unit_of_work() as session:
        views.visible_incident(session, views.responder(session, principal.user_id), incident_id)
        try:
            action(session)
        except service.DispatchError as exc:
            problem = str(exc)
    if problem is None:
        live.publish(incident_id, kind)
    return _answer(request, principal, incident_id, problem)


def _answer(
    request: Request, principal: SignedIn, incident_id: int, problem: str | None
) -> Response:
    if request.headers.get("hx-request"):
        return _card(request, principal, incident_id, problem=problem)
    return RedirectResponse(f"/dispatch#incident-{incident_id}", status_code=303)


@router.get("/dispatch/events", dependencies=[Responding])
async def events(principal: SignedIn) -> StreamingResponse:
    """Server-sent events: which incident changed (the board then fetches its card)."""
    return StreamingResponse(
        live.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/dispatch/protocol", dependencies=[Managing])
def protocol_page(request: Request, principal: SignedIn, version: int | None = None) -> Response:
    """The active triage protocol, its versions, and (for a program manager) an editor."""
    with unit_of_work() as session:
        active, _ = service.protocol_of(session)
        versions = list(repository.protocol_versions(session))
        shown = next((v for v in versions if v.id == version), active)
        context = {
            "active": "dispatch", "current": active, "shown": shown, "versions": versions,
            "text": shown.text, "problems": [],
            "may_edit": Role.PROGRAM_MANAGER in principal.roles,
        }  # fmt: skip
        return templates.TemplateResponse(request, "protocol.html", context)


@router.post("/dispatch/protocol", dependencies=[Depends(requires(Role.PROGRAM_MANAGER))])
def save_protocol(
    request: Request,
    principal: SignedIn,
    text: Annotated[str, Form(max_length=200_000)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save an edited protocol as a new version (refused, with every problem, if invalid)."""
    with unit_of_work() as session:
        try:
            service.save_protocol(session, text, note=note or None, user_id=principal.user_id)
        except triage.ProtocolError as error:
            active, _ = service.protocol_of(session)
            context = {
                "active": "dispatch", "current": active, "shown": active,
                "versions": list(repository.protocol_versions(session)), "text": text,
                "problems": error.problems, "may_edit": True,
            }  # fmt: skip
            return templates.TemplateResponse(request, "protocol.html", context, status_code=422)
    return RedirectResponse("/dispatch/protocol?saved=1", status_code=303)
