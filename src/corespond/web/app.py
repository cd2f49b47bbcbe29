"""The FastAPI application."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corespond import __version__
from corespond.access import admin_pages, consent_pages, decisions, oidc_pages
from corespond.access import endpoints as access_endpoints
from corespond.access import pages as access_pages
from corespond.access.roles import Role
from corespond.audit import endpoints as audit_endpoints
from corespond.audit import pages as audit_pages
from corespond.calls import endpoints as call_endpoints
from corespond.calls import pages as call_pages
from corespond.config import get_settings
from corespond.db.engine import session_factory
from corespond.dispatch import endpoints as dispatch_endpoints
from corespond.dispatch import pages as dispatch_pages
from corespond.ingest import endpoints as ingest_endpoints
from corespond.ingest import pages as ingest_pages
from corespond.linkage import endpoints as linkage_endpoints
from corespond.linkage import pages as linkage_pages
from corespond.linkage.matcher import NoModel, indexed, warm
from corespond.outcomes import pages as outcome_pages
from corespond.people import endpoints as people_endpoints
from corespond.people import pages as people_pages
from corespond.web.dependencies import Forbidden, SignedIn, SignInRequired
from corespond.web.templating import templates

STATIC = Path(__file__).parent / "static"
logger = logging.getLogger(__name__)
HOME_PAGES = ((Role.AUDITOR, "/audit/review"), (Role.AGENCY_ADMIN, "/admin/users"))
"""Where a user holding only one of these roles starts (no call data is theirs to see)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set its own.

    A plain ASGI middleware: it touches only the response's start, so a streamed body (the
    live board's events) passes straight through, and a request costs no extra task.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if get_settings().warm_matcher:
        threading.Thread(target=_warm_matcher, name="warm-matcher", daemon=True).start()
    yield


def _warm_matcher() -> None:
    """The online matcher's index, built while the app already answers (lookups read the
    store until it is ready)."""
    try:
        with session_factory()() as session:
            warm(session)
        # The index lives as long as the process: moved out of the collector's reach, its
        # millions of objects are not walked again by every full collection (pauses that
        # landed on whichever request was running).
        gc.freeze()
    except NoModel:
        pass  # nothing linked yet: the first lookup after a run builds it
    except Exception:
        logger.exception("warming the online matcher failed; lookups read the store")


def create_app() -> FastAPI:
    decisions.validate()  # refuse to start with policies that do not match their schema
    app = FastAPI(
        lifespan=_lifespan,
        title="corespond",
        version=__version__,
        description="Lawful, audited information sharing for co-response programs.",
        # No Swagger UI: it loads scripts from a CDN, which the CSP (and offline sites) refuse.
        docs_url=None,
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(Forbidden, _forbidden)  # type: ignore[arg-type]
    app.include_router(access_pages.router)
    oidc_pages.install(app, get_settings())
    app.include_router(admin_pages.router)
    app.include_router(consent_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(ingest_pages.router)
    app.include_router(call_pages.router)
    app.include_router(linkage_pages.router)
    app.include_router(people_pages.router)
    app.include_router(dispatch_pages.router)
    app.include_router(outcome_pages.router)
    app.include_router(ingest_endpoints.router, prefix="/api/v1")
    app.include_router(call_endpoints.router, prefix="/api/v1")
    app.include_router(linkage_endpoints.router, prefix="/api/v1")
    app.include_router(access_endpoints.router, prefix="/api/v1")
    app.include_router(audit_endpoints.router, prefix="/api/v1")
    app.include_router(people_endpoints.router, prefix="/api/v1")
    app.include_router(dispatch_endpoints.router, prefix="/api/v1")

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        """Up; and whether the online matcher's index is built ("indexed") or lookups still
        read the store ("store", while a new process builds it): a load balancer may wait."""
        return {"status": "ok", "matcher": "indexed" if indexed() else "store"}

    @app.get("/", include_in_schema=False)
    def home(principal: SignedIn) -> RedirectResponse:
        """Each user's first page: the calls, or for those whose work is not calls, theirs."""
        for role, page in HOME_PAGES:
            if principal.roles == {role} and principal.agency_id is not None:
                return RedirectResponse(page, status_code=303)
        return RedirectResponse("/calls", status_code=303)

    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/sign-in?next={target}", status_code=303)


def _forbidden(request: Request, exc: Forbidden) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    return templates.TemplateResponse(
        request, "forbidden.html", {"reason": str(exc)}, status_code=403
    )
