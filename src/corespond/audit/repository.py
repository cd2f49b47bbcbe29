"""Audit queries: the events of a window, emergency access opened in it, reads by user."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from corespond import models

ADMIN_ACTIONS = (
    "admin.user_added",
    "admin.user_locked",
    "admin.user_unlocked",
    "admin.mfa_reset",
    "admin.user_oidc_linked",
    "admin.user_oidc_unlinked",
    "admin.token_issued",
    "admin.keys_rotated",
    "admin.agreement_recorded",
    "admin.agreement_ended",
    "consent.recorded",
    "consent.revoked",
    "access.emergency_reviewed",
    "audit.archived",
)
"""Administrative changes an auditor reviews."""
SIGN_IN_ACTIONS = ("auth.sign_in", "auth.account_locked")


def events(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    actions: Iterable[str],
    outcome: str | None = None,
    agency_id: int | None = None,
    unattributed: bool = False,
    received: bool = False,
    limit: int | None = None,
) -> list[models.AuditEvent]:
    """Events of these actions in [start, end), oldest first: of one agency's users (and, with
    ``unattributed``, those of no agency; with ``received``, those naming it as the recipient,
    such as an agreement another agency recorded with it), or of everyone when ``agency_id``
    is None."""
    event = models.AuditEvent
    query = (
        select(event)
        .where(event.at >= start, event.at < end, event.action.in_(list(actions)))
        .order_by(event.seq)
    )
    if outcome is not None:
        query = query.where(event.outcome == outcome)
    if agency_id is not None:
        mine = event.agency_id == agency_id
        if received:
            mine = or_(mine, event.recipient_agency_id == agency_id)
        query = query.where(or_(mine, event.agency_id.is_(None)) if unattributed else mine)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_events(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    action: str,
    outcome: str,
    agency_id: int | None,
) -> int:
    event = models.AuditEvent
    query = select(func.count()).where(
        event.at >= start, event.at < end, event.action == action, event.outcome == outcome
    )
    if agency_id is not None:
        query = query.where(event.agency_id == agency_id)
    return session.scalar(query) or 0


def emergency_access(
    session: Session, start: datetime, end: datetime, *, agency_id: int | None
) -> list[tuple[models.EmergencyAccess, str, str | None]]:
    """Emergency access opened in [start, end) by the agency's users, with who opened it and
    who reviewed it."""
    access, user, reviewer = models.EmergencyAccess, models.User, aliased(models.User)
    query = (
        select(access, user.username, reviewer.username)
        .join(user, user.id == access.user_id)
        .outerjoin(reviewer, reviewer.id == access.reviewed_by)
        .where(access.opened_at >= start, access.opened_at < end)
        .order_by(access.opened_at)
    )
    if agency_id is not None:
        query = query.where(user.agency_id == agency_id)
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def unreviewed_before(session: Session, start: datetime, *, agency_id: int | None) -> int:
    """Emergency access opened before ``start`` and still not reviewed."""
    access, user = models.EmergencyAccess, models.User
    query = (
        select(func.count())
        .select_from(access)
        .join(user, user.id == access.user_id)
        .where(access.opened_at < start, access.reviewed_at.is_(None))
    )
    if agency_id is not None:
        query = query.where(user.agency_id == agency_id)
    return session.scalar(query) or 0


def emergency_bases(
    session: Session, start: datetime, end: datetime, *, agency_id: int | None
) -> list[str]:
    """The legal basis of each permitted decision in [start, end) that rested on emergency
    access (``emergency:<id>``, possibly among other grounds)."""
    event = models.AuditEvent
    query = select(event.legal_basis).where(
        event.at >= start,
        event.at < end,
        event.action == "access.decision",
        event.outcome == "allow",
        event.legal_basis.like("%emergency:%"),
    )
    if agency_id is not None:
        query = query.where(event.agency_id == agency_id)
    return [basis for basis in session.scalars(query) if basis]


def person_reads_by_user(
    session: Session, start: datetime, end: datetime, *, agency_id: int | None
) -> list[tuple[str, int, int]]:
    """(actor, permitted reads of person data, distinct persons) per user in [start, end)."""
    event = models.AuditEvent
    query = (
        select(event.actor, func.count(), func.count(func.distinct(event.person_id)))
        .where(
            event.at >= start,
            event.at < end,
            event.action == "access.decision",
            event.outcome == "allow",
            event.person_id.is_not(None),
        )
        .group_by(event.actor)
    )
    if agency_id is not None:
        query = query.where(event.agency_id == agency_id)
    return [(actor, reads, persons) for actor, reads, persons in session.execute(query)]


def users_by_id(session: Session, ids: Iterable[int]) -> dict[int, models.User]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        user.id: user
        for user in session.scalars(select(models.User).where(models.User.id.in_(wanted)))
    }
