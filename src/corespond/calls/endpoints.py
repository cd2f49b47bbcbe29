"""JSON API: search calls for service."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from corespond.access.reads import Reader
from corespond.calls.repository import CallFilter
from corespond.calls.schemas import CallPage, CallRead, WithheldRead
from corespond.calls.service import visible_calls
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires

router = APIRouter(
    tags=["calls"], dependencies=[Depends(csrf_guard), Depends(requires(scope="calls:read"))]
)


@router.get("/calls", response_model=CallPage)
def list_calls(
    principal: SignedIn,
    purpose: ReadingPurpose,
    q: str | None = Query(None, max_length=200, description="Event number, call type or address."),
    priority: int | None = Query(None, ge=0, le=9),
    beat: str | None = Query(None, max_length=40),
    since: date | None = None,
    until: date | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> CallPage:
    """Calls for service the user may see, newest first (times UTC); other agencies' calls are
    counted in ``restricted`` with the reasons. Send ``X-Purpose-Of-Use`` to choose the purpose."""
    flt = CallFilter(q, priority, beat, since, until)
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        listing = visible_calls(session, reader, flt, limit=limit, offset=offset)
    return CallPage(
        total=listing.total,
        limit=limit,
        offset=offset,
        restricted=[
            WithheldRead(agency=item.agency, calls=item.calls, reasons=list(item.reasons))
            for item in listing.withheld
        ],
        items=[
            CallRead(
                id=call.id,
                event_number=call.source_key,
                call_source=call.call_source,
                priority=call.priority,
                initial_call_type=call.initial_call_type,
                final_call_type=call.final_call_type,
                disposition=call.disposition,
                queued_at=call.queued_at,
                first_arrival_at=call.first_arrival_at,
                cleared_at=call.cleared_at,
                address=place.street if place else None,
                beat=place.beat if place else None,
                units=units,
            )
            for call, place, units in listing.rows
        ],
    )
