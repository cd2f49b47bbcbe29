"""Request-scoped dependencies, named as nouns: the database session and who is asking."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from corespond.access import sessions, tokens
from corespond.access.roles import Purpose, Role, purposes_for
from corespond.access.users import roles_of
from corespond.db.engine import session_factory, unit_of_work

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _read_session() -> Iterator[Session]:
    with session_factory()() as session:
        yield session


DbSession = Annotated[Session, Depends(_read_session)]


class SignInRequired(Exception):
    """No valid session or token: pages redirect to sign-in, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but not allowed: the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, or an API client acting for one."""

    user_id: int
    username: str
    display_name: str
    agency_id: int | None
    roles: frozenset[Role]
    via: Literal["session", "token"]
    csrf_token: str | None = None
    scopes: frozenset[str] = frozenset()
    purpose: Purpose | None = None
    """The purpose of use the user works under now (pages state it; reads carry it)."""

    @property
    def purposes(self) -> tuple[Purpose, ...]:
        return purposes_for(self.roles)

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


def _principal(request: Request) -> Principal:
    principal = _find_principal(request)
    request.state.principal = principal  # for the page header
    return principal


def _find_principal(request: Request) -> Principal:
    """Who is asking, read in a read transaction; their activity is written at most once a
    minute (``tokens.touch``, ``sessions.touch``), so that a read stays a read."""
    authorization = request.headers.get("authorization", "")
    with session_factory()() as db, db.begin():
        if authorization.lower().startswith("bearer "):
            found = tokens.load(db, authorization[7:].strip())
            if found is None:
                raise SignInRequired("the API token is unknown, expired or revoked")
            token, user = found
            principal = Principal(
                user.id, user.username, user.display_name, user.agency_id, roles_of(user),
                "token", scopes=frozenset(token.scopes.split()),
            )  # fmt: skip
            if tokens.touch_due(token):
                with unit_of_work() as writing:
                    tokens.touch(writing, token.id)
            return principal
        cookie = request.cookies.get(sessions.COOKIE)
        active = sessions.load(db, cookie)
        if active is None:
            if cookie:
                with unit_of_work() as writing:
                    sessions.touch(writing, cookie)  # ends it, if it went idle
            raise SignInRequired("sign in to continue")
        user = active.user
        roles = roles_of(user)
        allowed = purposes_for(roles)
        chosen = active.session.purpose
        purpose = Purpose(chosen) if chosen in allowed else (allowed[0] if allowed else None)
        principal = Principal(
            user.id, user.username, user.display_name, user.agency_id, roles,
            "session", csrf_token=active.session.csrf_token, purpose=purpose,
        )  # fmt: skip
        if sessions.touch_due(active.session):
            with unit_of_work() as writing:
                sessions.touch(writing, cookie or "")
        return principal


SignedIn = Annotated[Principal, Depends(_principal)]


def _reading_purpose(request: Request, principal: SignedIn) -> Purpose:
    """An API client names its purpose of use in the ``X-Purpose-Of-Use`` header; a browser
    session works under the purpose it chose; otherwise the roles' first purpose."""
    asked = request.headers.get("x-purpose-of-use")
    if asked is None:
        if principal.purpose is not None:
            return principal.purpose
        if not principal.purposes:
            raise Forbidden("your roles allow no purpose of use")
        return principal.purposes[0]
    if asked not in {purpose.value for purpose in principal.purposes}:
        raise Forbidden(f"your roles do not allow the purpose {asked!r}")
    return Purpose(asked)


ReadingPurpose = Annotated[Purpose, Depends(_reading_purpose)]
"""The purpose of use the request's reads are decided under."""


async def csrf_guard(request: Request, principal: SignedIn) -> None:
    """Refuse an unsafe request from a browser session without the session's CSRF token
    (a form's ``csrf_token`` field or an ``X-CSRF-Token`` header). API tokens are exempt:
    a browser never sends them on its own. Uses the principal the request already loaded."""
    if request.method in SAFE_METHODS or principal.via == "token":
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = principal.csrf_token
    if not (expected and sent and hmac.compare_digest(expected, sent)):
        raise Forbidden("the form is stale or did not come from corespond; reload and try again")


def requires(
    *roles: Role, scope: str | None = None
) -> Callable[[Principal], Coroutine[None, None, Principal]]:
    """A dependency that admits a principal holding one of ``roles`` (and, for an API token,
    ``scope``). It reads nothing, so it runs on the event loop, not in a worker thread."""

    async def check(principal: SignedIn) -> Principal:
        if roles and not principal.roles & set(roles):
            names = ", ".join(role.value.replace("_", " ") for role in roles)
            raise Forbidden(f"this needs one of these roles: {names}")
        if principal.via == "token" and scope and scope not in principal.scopes:
            raise Forbidden(f"the API token lacks the scope {scope!r}")
        return principal

    return check
