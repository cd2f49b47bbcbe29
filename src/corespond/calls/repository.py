"""Call-for-service queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.config import get_settings


@dataclass(frozen=True)
class CallFilter:
    text: str | None = None
    """Matches the event number, call types, disposition or address."""
    priority: int | None = None
    beat: str | None = None
    since: date | None = None
    until: date | None = None
    """``since`` and ``until`` are local days (``CORESPOND_TIMEZONE``), as the pages show times."""


@dataclass(frozen=True)
class Holders:
    """Whose calls a reader may see: calls of these agencies, and calls with no agency of their
    own from these source systems (a CAD export's calls belong to its source's agency)."""

    agency_ids: frozenset[int]
    source_ids: frozenset[int]


def _where(query, flt: CallFilter, holders: Holders | None = None):  # type: ignore[no-untyped-def]
    call, place = models.CallForService, models.Place
    if holders is not None:
        query = query.where(
            or_(
                call.agency_id.in_(holders.agency_ids),
                call.agency_id.is_(None) & call.source_system_id.in_(holders.source_ids),
            )
        )
    if flt.text:
        pattern = f"%{flt.text.strip().upper()}%"
        query = query.where(
            or_(
                func.upper(call.source_key).like(pattern),
                func.upper(call.initial_call_type).like(pattern),
                func.upper(call.final_call_type).like(pattern),
                func.upper(call.disposition).like(pattern),
                func.upper(place.street).like(pattern),
            )
        )
    if flt.priority is not None:
        query = query.where(call.priority == flt.priority)
    if flt.beat:
        query = query.where(func.upper(place.beat) == flt.beat.strip().upper())
    if flt.since:
        query = query.where(call.queued_at >= _utc_midnight(flt.since))
    if flt.until:
        query = query.where(call.queued_at < _utc_midnight(flt.until + timedelta(days=1)))
    return query


def _utc_midnight(day: date) -> datetime:
    """The start of a local day as the store's naive UTC."""
    local = datetime.combine(day, time(), tzinfo=ZoneInfo(get_settings().timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def search_calls(
    session: Session,
    flt: CallFilter,
    *,
    limit: int,
    offset: int = 0,
    holders: Holders | None = None,
) -> Sequence[tuple[models.CallForService, models.Place | None, int]]:
    """Calls matching ``flt``, newest first, each with its place and number of units."""
    units = (
        select(func.count(models.UnitResponse.id))
        .where(models.UnitResponse.call_id == models.CallForService.id)
        .scalar_subquery()
    )
    query = (
        select(models.CallForService, models.Place, units)
        .outerjoin(models.Place, models.Place.id == models.CallForService.place_id)
        .order_by(
            models.CallForService.queued_at.desc().nulls_last(), models.CallForService.id.desc()
        )
        .limit(limit)
        .offset(offset)
    )
    return session.execute(_where(query, flt, holders)).all()


def count_calls(session: Session, flt: CallFilter, *, holders: Holders | None = None) -> int:
    query = select(func.count(models.CallForService.id)).outerjoin(
        models.Place, models.Place.id == models.CallForService.place_id
    )
    return session.scalar(_where(query, flt, holders)) or 0


def calls_by_holder(session: Session, flt: CallFilter) -> list[tuple[int, int | None, int]]:
    """(source system, agency or None, number of calls) of the calls matching ``flt``."""
    call = models.CallForService
    query = (
        select(call.source_system_id, call.agency_id, func.count(call.id))
        .outerjoin(models.Place, models.Place.id == call.place_id)
        .group_by(call.source_system_id, call.agency_id)
    )
    return [
        (source, agency, calls) for source, agency, calls in session.execute(_where(query, flt))
    ]
