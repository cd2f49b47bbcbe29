"""Calls a user may see: each holding agency's calls are shown or withheld by one decision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from corespond import models
from corespond.access.reads import Reader
from corespond.calls.repository import (
    CallFilter,
    Holders,
    calls_by_holder,
    count_calls,
    search_calls,
)

CALL_DATA = "call_incident"


@dataclass(frozen=True)
class Withheld:
    """Calls of one agency the user may not see: how many, and why."""

    agency: str
    calls: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CallListing:
    rows: Sequence[tuple[models.CallForService, models.Place | None, int]]
    total: int
    """Calls shown across every page."""
    withheld: list[Withheld]


def visible_calls(
    session: Session, reader: Reader, flt: CallFilter, *, limit: int, offset: int = 0
) -> CallListing:
    """The calls matching ``flt`` that the reader may see, newest first, and those withheld.

    One audited decision per agency holding matching calls (a call's own agency, else its CAD
    source's agency), never one per call.
    """
    counts: dict[int | None, int] = defaultdict(int)
    sources: dict[int | None, set[int]] = defaultdict(set)
    owners: dict[int | None, models.Agency | None] = {}
    for source_id, agency_id, calls in calls_by_holder(session, flt):
        owner = (
            session.get(models.Agency, agency_id)
            if agency_id is not None
            else reader.holder(source_id).agency
        )
        key = owner.id if owner else None
        owners[key] = owner
        counts[key] += calls
        if agency_id is None:
            sources[key].add(source_id)
    allowed_agencies: set[int] = set()
    allowed_sources: set[int] = set()
    withheld = []
    for key, owner in owners.items():
        decision = reader.decide(CALL_DATA, owner, items={"calls": counts[key]})
        if decision.allowed and key is not None:
            allowed_agencies.add(key)
            allowed_sources |= sources[key]
        else:
            name = owner.name if owner else "no recorded agency"
            withheld.append(Withheld(name, counts[key], decision.reasons))
    holders = Holders(frozenset(allowed_agencies), frozenset(allowed_sources))
    if not allowed_agencies:
        return CallListing([], 0, withheld)
    return CallListing(
        search_calls(session, flt, limit=limit, offset=offset, holders=holders),
        count_calls(session, flt, holders=holders),
        withheld,
    )
