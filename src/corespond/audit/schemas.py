"""The auditor's weekly review, as the page, the API and ``corespond audit review`` give it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from corespond.schemas import UtcDatetime


class EmergencyOpening(BaseModel):
    """Emergency access opened in the week: who, for whom, why, and whether reviewed."""

    id: int
    kind: str
    """``break_glass`` or ``serious_threat`` (HIPAA 164.512(j))."""
    user: str
    person_id: int
    reason: str
    opened_at: UtcDatetime
    expires_at: UtcDatetime
    reads: int
    """Permitted decisions that rested on it: what it disclosed."""
    reviewed: bool
    reviewed_by: str | None
    reviewed_at: UtcDatetime | None


class ReviewEvent(BaseModel):
    """One audit event to look at (ids only, as the log holds them)."""

    seq: int
    at: UtcDatetime
    actor: str
    user: str | None
    """The actor's username, where the actor is a user."""
    action: str
    outcome: str
    person_id: int | None
    categories: str | None
    purpose: str | None
    detail: dict[str, Any]


class PersonReads(BaseModel):
    """How many permitted reads of person data a user made in the week, of how many people."""

    actor: str
    user: str | None
    reads: int
    persons: int
    others_median: float
    """The median reads of the agency's other readers that week."""
    unusual: bool


class WeeklyReview(BaseModel):
    """What an auditor reviews each week (CJIS AU-6; HIPAA 164.308(a)(1)(ii)(D))."""

    agency_id: int | None
    """None: every agency (the command line, on the server)."""
    agency: str
    start: UtcDatetime
    end: UtcDatetime
    break_glass: list[EmergencyOpening]
    serious_threats: list[EmergencyOpening]
    older_unreviewed: int
    """Emergency access opened before the week and still not reviewed."""
    denied: list[ReviewEvent]
    denied_total: int
    sign_in_failures: list[ReviewEvent]
    """Failed sign-ins and the lockouts they caused."""
    admin_changes: list[ReviewEvent]
    person_reads: list[PersonReads]
    """Users with permitted reads of person data, most first."""
    unusual_factor: int
    unusual_floor: int
    """A user is flagged when their reads exceed both ``unusual_factor`` times the median of
    the other readers' and ``unusual_floor``."""
