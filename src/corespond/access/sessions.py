"""Browser sessions: a random token in a cookie, its hash in the store.

CJIS AC-11/IA-5: a session idle for 30 minutes ends; after 12 hours the user signs in again.
The token changes at sign-in (no fixation): the password step gets one token, the completed
sign-in a new one; a sign-in through an agency's identity provider ends any session the
browser brought and starts a new one. Each session carries a CSRF token that every form must
send back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.models.base import utcnow

IDLE_TIMEOUT = timedelta(minutes=30)
REAUTHENTICATE_AFTER = timedelta(hours=12)
PENDING_TIMEOUT = timedelta(minutes=5)
"""How long the code step may wait after the password step."""
COOKIE = "corespond_session"


@dataclass
class Active:
    session: models.WebSession
    user: models.User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_pending(db: Session, user: models.User) -> str:
    """After the password step: a session that can only complete sign-in. Returns its token."""
    token = secrets.token_urlsafe(32)
    db.add(
        models.WebSession(
            token_hash=_digest(token), pending_user_id=user.id, csrf_token=secrets.token_urlsafe(32)
        )
    )
    return token


def pending_user(db: Session, token: str | None) -> tuple[models.WebSession, models.User] | None:
    if not token:
        return None
    row = db.scalar(select(models.WebSession).where(models.WebSession.token_hash == _digest(token)))
    if row is None or row.pending_user_id is None or row.ended_at is not None:
        return None
    if utcnow() - row.created_at > PENDING_TIMEOUT:
        return None
    user = db.get(models.User, row.pending_user_id)
    return (row, user) if user else None


def complete(db: Session, pending: models.WebSession, user: models.User) -> str:
    """After the code step: end the pending session and start the real one (new token)."""
    pending.ended_at = utcnow()
    return start(db, user)


def start(db: Session, user: models.User) -> str:
    """A signed-in session for ``user`` under a new token, once every factor has been checked
    (by the code step, or by the agency's identity provider). Returns its token."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    db.add(
        models.WebSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            authenticated_at=now,
            last_seen_at=now,
        )
    )
    return token


def load(db: Session, token: str | None) -> Active | None:
    """The signed-in session for ``token``; None if absent, ended, idle or too old (reads
    only: ``touch`` records the activity, or ends a session found idle)."""
    if not token:
        return None
    row = db.scalar(select(models.WebSession).where(models.WebSession.token_hash == _digest(token)))
    if row is None or row.user_id is None or row.ended_at is not None or _stale(row):
        return None
    user = db.get(models.User, row.user_id)
    if user is None or user.locked_at is not None:
        return None
    return Active(row, user)


TOUCH_EVERY = timedelta(minutes=1)
"""How often a session's activity is written (the idle timeout counts in minutes; a write per
request would make every page view a write)."""


def touch_due(row: models.WebSession) -> bool:
    return utcnow() - row.last_seen_at >= TOUCH_EVERY


def touch(db: Session, token: str) -> None:
    """Record the session's activity; end it if it has gone idle, grown too old or its user
    is locked or gone."""
    row = db.scalar(select(models.WebSession).where(models.WebSession.token_hash == _digest(token)))
    if row is None or row.ended_at is not None:
        return
    now = utcnow()
    user = db.get(models.User, row.user_id) if row.user_id is not None else None
    if _stale(row) or user is None or user.locked_at is not None:
        row.ended_at = now
    else:
        row.last_seen_at = now


def _stale(row: models.WebSession) -> bool:
    now = utcnow()
    return now - row.last_seen_at > IDLE_TIMEOUT or (
        row.authenticated_at is None or now - row.authenticated_at > REAUTHENTICATE_AFTER
    )


def end(db: Session, token: str | None) -> None:
    if not token:
        return
    row = db.scalar(select(models.WebSession).where(models.WebSession.token_hash == _digest(token)))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()


def csrf_matches(session: models.WebSession, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf_token, sent or "")


def set_purpose(db: Session, user_id: int, csrf_token: str | None, purpose: str) -> None:
    """Record the purpose on the user's current session (found by its CSRF token)."""
    row = db.scalar(
        select(models.WebSession).where(
            models.WebSession.user_id == user_id,
            models.WebSession.csrf_token == csrf_token,
            models.WebSession.ended_at.is_(None),
        )
    )
    if row is not None:
        row.purpose = purpose
