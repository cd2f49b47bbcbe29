"""Calls for service, as the API returns them."""

from __future__ import annotations

from pydantic import BaseModel

from corespond.schemas import UtcDatetime


class CallRead(BaseModel):
    id: int
    event_number: str
    call_source: str | None
    priority: int | None
    initial_call_type: str | None
    final_call_type: str | None
    disposition: str | None
    queued_at: UtcDatetime | None
    first_arrival_at: UtcDatetime | None
    cleared_at: UtcDatetime | None
    address: str | None
    beat: str | None
    units: int


class WithheldRead(BaseModel):
    """Calls held by an agency the user may not see: how many, and why (never their content)."""

    agency: str
    calls: int
    reasons: list[str]


class CallPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CallRead]
    restricted: list[WithheldRead] = []
