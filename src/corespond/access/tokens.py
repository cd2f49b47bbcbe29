"""Scoped API tokens: a client acts for a user, only within the scopes the token names."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.audit.chain import record
from corespond.models.base import utcnow

SCOPES = {
    "access:read": "ask whether a fact may be seen (audited like a read)",
    "access:consents": "record and revoke consents",
    "access:emergency": "open emergency access",
    "audit:read": "read a person's accounting of disclosures",
    "calls:read": "search calls for service",
    "dispatch:decide": "accept or override a recommended response",
    "dispatch:intake": "send live incidents (EIDO or the simple form) from a CAD",
    "dispatch:read": "read live incidents, their briefs and recommendations",
    "ingest:read": "see ingest runs and counts",
    "linkage:read": "see the review queue, persons' records and match candidates",
    "linkage:review": "decide review pairs",
    "people:read": "search people and read their profile, timeline, referrals and worklist",
    "people:write": "write cautions and plans, approve them, send and answer referrals",
}
PREFIX = "cr_"


def issue(
    session: Session, user: models.User, *, name: str, scopes: list[str], days: int, by: str
) -> str:
    """A new token for ``user``; the secret is returned once and stored only as a hash."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown or missing scopes {unknown}; scopes are {', '.join(SCOPES)}")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = models.ApiToken(
        user_id=user.id,
        name=name[:200],
        token_hash=_digest(secret),
        scopes=" ".join(sorted(set(scopes))),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(
        session, action="admin.token_issued", actor=by, agency_id=user.agency_id,
        detail={"token_id": token.id, "user_id": user.id, "scopes": token.scopes},
    )  # fmt: skip
    return secret


def load(session: Session, secret: str) -> tuple[models.ApiToken, models.User] | None:
    token = session.scalar(
        select(models.ApiToken).where(models.ApiToken.token_hash == _digest(secret))
    )
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at < now:
        return None
    user = session.get(models.User, token.user_id)
    if user is None or user.locked_at is not None:
        return None
    return token, user


TOUCH_EVERY = timedelta(minutes=1)
"""How often a token's last use is written: a write per request would make every read a write
(and SQLite takes one writer at a time)."""


def touch_due(token: models.ApiToken) -> bool:
    return token.last_used_at is None or utcnow() - token.last_used_at >= TOUCH_EVERY


def touch(session: Session, token_id: int) -> None:
    """Record that the token is in use (``uses`` counts the minutes it was used in)."""
    token = session.get(models.ApiToken, token_id)
    if token is not None:
        token.last_used_at = utcnow()
        token.uses += 1


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
