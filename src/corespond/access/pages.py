"""Sign-in (password, then a TOTP code; or an agency's identity provider), and sign-out."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond.access import repository, sessions, users
from corespond.audit.chain import record
from corespond.config import Mode, get_settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.dependencies import Forbidden, SignedIn, csrf_guard
from corespond.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PENDING_COOKIE = "corespond_pending"


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict",
        secure=get_settings().mode is Mode.PRODUCTION, path="/",
    )  # fmt: skip


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "sign_in.html", sign_in_context(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    error = None
    with unit_of_work() as db:
        try:
            user = users.check_password(db, username, password)
            token = sessions.start_pending(db, user)
        except users.SignInFailed as exc:
            error = str(exc)  # the failure is committed with this transaction
    if error:
        context = sign_in_context(next, error=error, username=username)
        return templates.TemplateResponse(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(f"/sign-in/code?next={safe_next(next)}", status_code=303)
    set_cookie(response, PENDING_COOKIE, token, int(sessions.PENDING_TIMEOUT.total_seconds()))
    return response


@router.get("/sign-in/code")
def code_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "sign_in_code.html", {"next": safe_next(next), "error": None}
    )


@router.post("/sign-in/code")
def sign_in_code(
    request: Request,
    code: Annotated[str, Form(max_length=12)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    error, token = None, None
    with unit_of_work() as db:
        found = sessions.pending_user(db, request.cookies.get(PENDING_COOKIE))
        if found is None:
            error = "the sign-in took too long or was not started here; start again"
        else:
            pending, user = found
            try:
                users.check_totp(db, user, code)
                token = sessions.complete(db, pending, user)
            except users.SignInFailed as exc:
                error = str(exc)
    if error or token is None:
        context = {"next": safe_next(next), "error": error}
        return templates.TemplateResponse(request, "sign_in_code.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.delete_cookie(PENDING_COOKIE, path="/")
    set_cookie(response, sessions.COOKIE, token, int(sessions.REAUTHENTICATE_AFTER.total_seconds()))
    return response


@router.post("/sign-out", dependencies=[Depends(csrf_guard)])
def sign_out(request: Request) -> Response:
    with unit_of_work() as db:
        active = sessions.load(db, request.cookies.get(sessions.COOKIE))
        if active is not None:
            record(db, action="auth.sign_out", actor=f"user:{active.user.id}")
        sessions.end(db, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.post("/purpose", dependencies=[Depends(csrf_guard)])
def switch_purpose(
    principal: SignedIn,
    purpose: Annotated[str, Form(max_length=40)],
    back: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Work under another purpose of use, where the user's roles allow it (audited)."""
    if purpose not in {p.value for p in principal.purposes}:
        raise Forbidden(f"your roles do not allow the purpose {purpose!r}")
    with unit_of_work() as db:
        sessions.set_purpose(db, principal.user_id, principal.csrf_token, purpose)
        record(
            db, action="auth.purpose_switched", actor=principal.actor,
            agency_id=principal.agency_id, purpose=purpose,
            detail={"from": principal.purpose.value if principal.purpose else None},
        )  # fmt: skip
    return RedirectResponse(safe_next(back), status_code=303)


def sign_in_context(next: str, *, error: str | None = None, **more: Any) -> dict[str, Any]:
    """The sign-in form's values, with a button for each agency that has its own provider."""
    next = safe_next(next)
    configured = get_settings().oidc_providers
    with session_factory()() as db:
        found = repository.agencies_by_key(db, configured) if configured else {}
    providers = [
        (f"/auth/oidc/{quote(key)}/login?next={quote(next)}", configured[key].name or agency.name)
        for key, agency in sorted(found.items())
    ]
    return {"next": next, "error": error, "providers": providers, **more}


def safe_next(target: str) -> str:
    """Only a local path: a sign-in link must not send the user to another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
