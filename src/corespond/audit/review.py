"""The auditor's weekly review of the audit log.

CJIS 5.4 (AU-6) asks that audit records be reviewed weekly; HIPAA 164.308(a)(1)(ii)(D) asks
for a regular review of information system activity. This gathers, for one agency and one week,
what that review looks at: emergency access ("break the glass") with its written reason and
whether it was reviewed, serious-threat disclosures, denied decisions, failed sign-ins and
lockouts, administrative changes, and users who read unusually many people's records.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from corespond import models
from corespond.audit import repository
from corespond.audit.schemas import EmergencyOpening, PersonReads, ReviewEvent, WeeklyReview
from corespond.config import get_settings
from corespond.models.base import utcnow

WEEK = timedelta(days=7)
DENIED_SHOWN = 200
UNUSUAL_FACTOR = 3
UNUSUAL_FLOOR = 50
"""A user's reads are unusual above 3 times the median of their agency's other readers that
week, and never at 50 or fewer (a quiet week must not flag everyone who read a dozen files)."""
SYSTEM_WIDE = frozenset({"admin.keys_rotated", "audit.archived"})
"""Administrative changes that concern every agency, shown to every auditor."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    """Naive UTC, as the store keeps times: [start, end)."""


def week_window(week: date | None = None, *, now: datetime | None = None) -> Window:
    """The seven days from local midnight of ``week`` (in ``CORESPOND_TIMEZONE``), or, without
    a date, the last seven days up to now."""
    if week is None:
        end = now or utcnow()
        return Window(end - WEEK, end)
    zone = ZoneInfo(get_settings().timezone)
    start = datetime.combine(week, time(), tzinfo=zone)
    end = datetime.combine(week + WEEK, time(), tzinfo=zone)
    return Window(_naive_utc(start), _naive_utc(end))


def weekly_review(session: Session, *, agency_id: int | None, window: Window) -> WeeklyReview:
    """What the auditor of ``agency_id`` (None: every agency) reviews for ``window``."""
    start, end = window.start, window.end
    agency = session.get(models.Agency, agency_id) if agency_id is not None else None
    admin = [
        event
        for event in repository.events(
            session,
            start,
            end,
            actions=repository.ADMIN_ACTIONS,
            agency_id=agency_id,
            unattributed=True,
            received=True,
        )
        if agency_id is None
        or agency_id in (event.agency_id, event.recipient_agency_id)
        or _concerns(session, event, agency_id)
    ]
    sign_in = [
        event
        for event in repository.events(
            session, start, end, actions=repository.SIGN_IN_ACTIONS, agency_id=agency_id
        )
        if event.outcome == "failure" or event.action == "auth.account_locked"
    ]
    denied = repository.events(
        session, start, end, actions=["access.decision"], outcome="deny", agency_id=agency_id,
        limit=DENIED_SHOWN,
    )  # fmt: skip
    reads = sorted(
        repository.person_reads_by_user(session, start, end, agency_id=agency_id),
        key=lambda row: (-row[1], row[0]),
    )
    names = _usernames(session, [*admin, *sign_in, *denied], [actor for actor, _, _ in reads])
    openings = _openings(session, window, agency_id)
    return WeeklyReview(
        agency_id=agency_id,
        agency=agency.name if agency else "every agency",
        start=start,
        end=end,
        break_glass=[o for o in openings if o.kind == "break_glass"],
        serious_threats=[o for o in openings if o.kind == "serious_threat"],
        older_unreviewed=repository.unreviewed_before(session, start, agency_id=agency_id),
        denied=[_event(event, names) for event in denied],
        denied_total=repository.count_events(
            session, start, end, action="access.decision", outcome="deny", agency_id=agency_id
        ),
        sign_in_failures=[_event(event, names) for event in sign_in],
        admin_changes=[_event(event, names) for event in admin],
        person_reads=_flag(reads, names),
        unusual_factor=UNUSUAL_FACTOR,
        unusual_floor=UNUSUAL_FLOOR,
    )


def _flag(reads: list[tuple[str, int, int]], names: dict[str, str]) -> list[PersonReads]:
    """Each user's reads against the median of the other readers': a user must not raise the
    bar they are measured against."""
    found = []
    for index, (actor, count, persons) in enumerate(reads):
        others = [n for other, (_, n, _) in enumerate(reads) if other != index]
        typical = statistics.median(others) if others else 0.0
        found.append(
            PersonReads(
                actor=actor, user=names.get(actor), reads=count, persons=persons,
                others_median=typical,
                unusual=count > max(UNUSUAL_FLOOR, UNUSUAL_FACTOR * typical),
            )
        )  # fmt: skip
    return found


def _openings(session: Session, window: Window, agency_id: int | None) -> list[EmergencyOpening]:
    reads: dict[str, int] = {}
    # Access opened late in the week is used after it ends: count reads up to a day later,
    # longer than any emergency access stays open.
    for basis in repository.emergency_bases(
        session, window.start, window.end + timedelta(days=1), agency_id=agency_id
    ):
        for ground in basis.split(","):
            if ground.startswith("emergency:"):
                reads[ground] = reads.get(ground, 0) + 1
    return [
        EmergencyOpening(
            id=access.id,
            kind=access.kind,
            user=username,
            person_id=access.person_id,
            reason=access.reason,
            opened_at=access.opened_at,
            expires_at=access.expires_at,
            reads=reads.get(f"emergency:{access.id}", 0),
            reviewed=access.reviewed_at is not None,
            reviewed_by=reviewer,
            reviewed_at=access.reviewed_at,
        )
        for access, username, reviewer in repository.emergency_access(
            session, window.start, window.end, agency_id=agency_id
        )
    ]


def _concerns(session: Session, event: models.AuditEvent, agency_id: int) -> bool:
    """An event recorded without an agency that concerns this one: a change to one of its
    users (the target is in the detail), or a change to the whole system."""
    if event.agency_id is not None:
        return False
    if event.action in SYSTEM_WIDE:
        return True
    target = _detail(event).get("user_id")
    if not isinstance(target, int):
        return False
    user = session.get(models.User, target)
    return user is not None and user.agency_id == agency_id


def _usernames(
    session: Session, events: list[models.AuditEvent], actors: list[str]
) -> dict[str, str]:
    wanted = [*actors, *(event.actor for event in events)]
    ids = {int(actor[5:]) for actor in wanted if actor.startswith("user:") and actor[5:].isdigit()}
    users = repository.users_by_id(session, ids)
    return {f"user:{uid}": user.username for uid, user in users.items()}


def _event(event: models.AuditEvent, names: dict[str, str]) -> ReviewEvent:
    return ReviewEvent(
        seq=event.seq, at=event.at, actor=event.actor, user=names.get(event.actor),
        action=event.action, outcome=event.outcome, person_id=event.person_id,
        categories=event.categories, purpose=event.purpose, detail=_detail(event),
    )  # fmt: skip


def _detail(event: models.AuditEvent) -> dict[str, object]:
    try:
        found = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)
