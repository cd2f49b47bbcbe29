"""Sign-in through an agency's own OpenID Connect identity provider.

The authorization code flow with state, nonce and PKCE (S256), run by Authlib's Starlette
client, which also validates the ID token: signature against the provider's published keys
(JWKS), issuer, audience, nonce and expiry. corespond then requires a second factor in the
token's ``amr`` and a user an administrator linked to the token's subject (``users.check_oidc``);
roles always come from corespond. The flow's state lives in a short-lived signed cookie scoped to
``/auth/oidc``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from httpx2 import HTTPError
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from corespond import models
from corespond.access import repository, sessions, users
from corespond.access.pages import safe_next, set_cookie, sign_in_context
from corespond.config import Mode, OidcProvider, Settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.templating import templates

router = APIRouter(
    prefix="/auth/oidc", include_in_schema=False, default_response_class=HTMLResponse
)
STATE_COOKIE = "corespond_oidc"
STATE_TIMEOUT_SECONDS = 600
"""How long the provider's sign-in page may take before corespond forgets the flow."""


class Providers:
    """One Authlib client per agency in ``CORESPOND_OIDC_PROVIDERS``. Each caches its provider's
    discovery document and keys for the life of the process (refetched when a token is signed
    by a key it does not know, as after a key rotation)."""

    def __init__(self, configured: Mapping[str, OidcProvider]) -> None:
        self.configured = dict(configured)
        self._oauth = OAuth()
        for key, provider in self.configured.items():
            self._oauth.register(
                name=key,
                client_id=provider.client_id,
                client_secret=provider.client_secret.get_secret_value(),
                server_metadata_url=provider.discovery_url,
                client_kwargs={"scope": "openid", "code_challenge_method": "S256"},
            )

    def get(self, key: str) -> tuple[OidcProvider, StarletteOAuth2App]:
        """The provider and client of agency ``key``; 404 if it has none."""
        provider = self.configured.get(key)
        client = self._oauth.create_client(key) if provider else None
        if provider is None or client is None:
            raise HTTPException(404, f"agency {key!r} has no identity provider configured here")
        return provider, client


def install(app: FastAPI, settings: Settings) -> None:
    """Add the providers, the flow's state cookie and the routes to ``app``."""
    app.state.oidc = Providers(settings.oidc_providers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=_state_cookie_key(settings),
        session_cookie=STATE_COOKIE,
        max_age=STATE_TIMEOUT_SECONDS,
        path="/auth/oidc",
        # Lax, not Strict: the provider sends the browser back from another site.
        same_site="lax",
        https_only=settings.mode is Mode.PRODUCTION,
    )
    app.include_router(router)


def _state_cookie_key(settings: Settings) -> str:
    """Derived from the field-encryption key (its own label), so there is no other secret to
    keep and production never signs with a development key."""
    key = base64.b64decode(settings.field_encryption_key)
    return hmac.new(key, b"corespond oidc state cookie", hashlib.sha256).hexdigest()


@router.get("/{agency_key}/login", name="oidc_login")
async def oidc_login(request: Request, agency_key: str, next: str = "/") -> Response:
    """Send the browser to the agency's identity provider (state, nonce and PKCE kept)."""
    provider, client = request.app.state.oidc.get(agency_key)
    agency = await run_in_threadpool(_agency, agency_key)
    redirect_uri = provider.redirect_uri or str(
        request.url_for("oidc_callback", agency_key=agency_key)
    )
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except (OAuthError, HTTPError, ValueError, KeyError):
        error = f"{provider.name or agency.name}'s sign-in service cannot be reached; try again"
        context = await run_in_threadpool(sign_in_context, next, error=error)
        return templates.TemplateResponse(request, "sign_in.html", context, status_code=502)
    request.session["next"] = safe_next(next)
    return response


@router.get("/{agency_key}/callback", name="oidc_callback")
async def oidc_callback(request: Request, agency_key: str) -> Response:
    """Validate the provider's answer and sign the linked user in (or say why not)."""
    provider, client = request.app.state.oidc.get(agency_key)
    next_page = safe_next(str(request.session.pop("next", "/")))
    claims: dict[str, Any] | None = None
    try:
        token = await client.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "values": [provider.issuer]},
                "aud": {"essential": True, "values": [provider.client_id]},
            },
        )
        claims = dict(token["userinfo"]) if token.get("userinfo") else None
        failure = None if claims else "no ID token in the provider's answer"
    except OAuthError as exc:  # the provider refused, or the state is not this browser's
        failure = f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
    except JoseError as exc:  # signature, issuer, audience, nonce, expiry
        failure = f"ID token refused: {exc.error}: {exc.description or ''}".rstrip(": ")
    except (HTTPError, ValueError, KeyError) as exc:
        failure = f"provider unreachable or answered badly: {type(exc).__name__}"
    token_or_error = await run_in_threadpool(
        _complete, agency_key, provider, claims, failure, request.cookies.get(sessions.COOKIE)
    )
    request.session.clear()
    if isinstance(token_or_error, users.SignInFailed):
        context = await run_in_threadpool(sign_in_context, next_page, error=str(token_or_error))
        return templates.TemplateResponse(request, "sign_in.html", context, status_code=401)
    # A page that moves on, rather than a redirect: after a hop through another site the
    # browser would not send the SameSite=Strict session cookie with a redirect's request.
    response = templates.TemplateResponse(request, "sign_in_continue.html", {"next": next_page})
    set_cookie(
        response,
        sessions.COOKIE,
        token_or_error,
        int(sessions.REAUTHENTICATE_AFTER.total_seconds()),
    )
    return response


def _agency(key: str) -> models.Agency:
    with session_factory()() as db:
        agency = repository.agencies_by_key(db, [key]).get(key)
    if agency is None:
        raise HTTPException(404, f"no agency {key!r} in the store")
    return agency


def _complete(
    agency_key: str,
    provider: OidcProvider,
    claims: dict[str, Any] | None,
    failure: str | None,
    old_token: str | None,
) -> str | users.SignInFailed:
    """Record the outcome; on success end the browser's old session and start a new one.
    Returns the new session's token, or the refusal to show."""
    with unit_of_work() as db:
        agency = repository.agencies_by_key(db, [agency_key]).get(agency_key)
        if agency is None:
            raise HTTPException(404, f"no agency {agency_key!r} in the store")
        if failure is not None or claims is None:
            users.refuse_oidc(db, agency=agency, reason=(failure or "no claims")[:100])
            return users.SignInFailed(
                f"the sign-in through {provider.name or agency.name} could not be verified; "
                "start again"
            )
        try:
            user = users.check_oidc(db, agency=agency, provider=provider, claims=claims)
        except users.SignInFailed as exc:
            return exc  # the failure is committed with this transaction
        sessions.end(db, old_token)
        return sessions.start(db, user)
