"""Administration pages: an agency administrator's users, and the auditor's emergency-access
review. Each action is audited by the service it calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond import models
from corespond.access import repository, service, users
from corespond.access.passwords import WeakPassword
from corespond.access.roles import ROLE_LABELS, Role
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import DbSession, Principal, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False, default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard)],
)  # fmt: skip
Admin = Annotated[Principal, Depends(requires(Role.AGENCY_ADMIN))]
Auditor = Annotated[Principal, Depends(requires(Role.AUDITOR))]


@router.get("/admin/users")
def users_page(request: Request, principal: Admin, session: DbSession) -> Response:
    rows = repository.users_of_agency(session, principal.agency_id)
    return templates.TemplateResponse(
        request, "admin_users.html",
        {"users": rows, "roles": ROLE_LABELS, "message": request.query_params.get("done")},
    )  # fmt: skip


@router.post("/admin/users")
def add_user(
    request: Request,
    principal: Admin,
    username: Annotated[str, Form(max_length=100)],
    display_name: Annotated[str, Form(max_length=200)],
    roles: Annotated[list[str], Form()],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        with unit_of_work() as session:
            new = users.add_user(
                session, username=username, display_name=display_name, roles=" ".join(roles),
                password=password, agency_id=principal.agency_id, by=principal.actor,
            )  # fmt: skip
            uri = new.provisioning_uri()
    except (users.UserError, WeakPassword) as exc:
        raise HTTPException(422, str(exc)) from None
    return templates.TemplateResponse(
        request, "admin_enrol.html", {"username": username, "uri": uri}
    )


@router.post("/admin/users/{username}/{action}")
def change_user(request: Request, principal: Admin, username: str, action: str) -> Response:
    if action not in {"lock", "unlock", "reset-mfa"}:
        raise HTTPException(404, "no such action")
    with unit_of_work() as session:
        try:
            user = users.get_user(session, username)
        except users.UserError as exc:
            raise HTTPException(404, str(exc)) from None
        if user.agency_id != principal.agency_id:
            raise HTTPException(403, "that user belongs to another agency")
        if action == "lock":
            users.lock(session, username, by=principal.actor)
        elif action == "unlock":
            users.unlock(session, username, by=principal.actor)
        else:
            uri = users.reset_mfa(session, username, by=principal.actor).provisioning_uri()
            return templates.TemplateResponse(
                request, "admin_enrol.html", {"username": username, "uri": uri}
            )
    return RedirectResponse(f"/admin/users?done={action}+{username}", status_code=303)


@router.get("/admin/emergency-access")
def emergency_page(request: Request, principal: Auditor, session: DbSession) -> Response:
    rows = repository.emergency_access_of_agency(session, principal.agency_id)
    return templates.TemplateResponse(request, "admin_emergency.html", {"rows": rows})


@router.post("/admin/emergency-access/{access_id}/review")
def review_emergency(
    principal: Auditor,
    access_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    with unit_of_work() as session:
        reviewer = session.get(models.User, principal.user_id)
        assert reviewer is not None
        try:
            service.review_emergency_access(
                session, reviewer=reviewer, access_id=access_id, note=note
            )
        except service.AccessError as exc:
            raise HTTPException(404, str(exc)) from None
    # Back to the weekly review if the form came from it; never to another site.
    target = back if back.startswith("/audit/review") else "/admin/emergency-access"
    return RedirectResponse(target, status_code=303)
