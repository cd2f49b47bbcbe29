"""Queries of live incidents, their messages, matches, recommendations, decisions and the
triage protocols (the person facts a brief shows are read through ``access.facts``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.orm import Session, SessionTransaction

from corespond import models


def incident_by_key(
    session: Session, incident_key: str, source_system_id: int
) -> models.Incident | None:
    return session.scalar(_INCIDENT_BY_KEY, {"key": incident_key, "source": source_system_id})


_INCIDENT_BY_KEY = select(models.Incident).where(
    models.Incident.incident_key == bindparam("key"),
    models.Incident.source_system_id == bindparam("source"),
)


def call_of(session: Session, incident: models.Incident) -> models.CallForService | None:
    """The incident's call (read once per transaction: see ``_held``)."""
    return _held(session, models.CallForService, incident.call_id)


def place_of(session: Session, call: models.CallForService | None) -> models.Place | None:
    """The call's place (read once per transaction: see ``_held``)."""
    return _held(session, models.Place, call.place_id) if call is not None else None


def _held(session: Session, model: type[_Held], row_id: int | None) -> _Held | None:
    """``session.get``, holding what it found until the transaction ends: intake's
    recommendation, the brief and the incident's read all want the incident's call and place,
    and the session itself keeps only objects something else holds."""
    if row_id is None:
        return None
    held: dict[tuple[type[Any], int], Any] = session.info.setdefault(_HELD, {})
    if (model, row_id) not in held:
        held[(model, row_id)] = session.get(model, row_id)
    found: _Held | None = held[(model, row_id)]
    return found


_Held = TypeVar("_Held", models.CallForService, models.Place)
_HELD = "corespond.dispatch.held"
"""Where a session holds the calls and places read in its transaction."""


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the next transaction reads them afresh
        session.info.pop(_HELD, None)


def message_exists(session: Session, incident_id: int, digest: str) -> bool:
    found = session.scalar(_MESSAGE, {"incident": incident_id, "digest": digest})
    return found is not None


_MESSAGE = select(models.IncidentMessage.id).where(
    models.IncidentMessage.incident_id == bindparam("incident"),
    models.IncidentMessage.digest == bindparam("digest"),
)


def call_id(session: Session, call_key: str, source_system_id: int) -> int | None:
    return session.scalar(_CALL_ID, {"key": call_key, "source": source_system_id})


_CALL_ID = select(models.CallForService.id).where(
    models.CallForService.source_key == bindparam("key"),
    models.CallForService.source_system_id == bindparam("source"),
)


def incident_matches(session: Session, incident_id: int) -> Sequence[models.IncidentMatch]:
    """Whom the matcher found on the incident, in the order they were named."""
    return session.scalars(_MATCHES, {"incident": incident_id}).all()


_MATCHES = (
    select(models.IncidentMatch)
    .where(models.IncidentMatch.incident_id == bindparam("incident"))
    .order_by(models.IncidentMatch.id)
)


def matches(session: Session, incident_id: int) -> dict[int, models.IncidentMatch]:
    """Person record id → the incident's match for it."""
    return {row.person_record_id: row for row in incident_matches(session, incident_id)}


def candidates_of(match: models.IncidentMatch) -> list[tuple[int, float]]:
    return [(c["person_id"], c["probability"]) for c in json.loads(match.candidates or "[]")]


def calls_at_place(
    session: Session, place_id: int, since: datetime, until: datetime, exclude: str
) -> Sequence[models.CallForService]:
    """Calls at the place between the two times, newest first, but not the event ``exclude``
    (the incident itself, which another source, its CAD's nightly export, may hold too)."""
    return session.scalars(
        _CALLS_AT_PLACE, {"place": place_id, "exclude": exclude, "since": since, "until": until}
    ).all()


_CALLS_AT_PLACE = (
    select(models.CallForService)
    .where(
        models.CallForService.place_id == bindparam("place"),
        models.CallForService.source_key != bindparam("exclude"),
        models.CallForService.received_at >= bindparam("since"),
        models.CallForService.received_at <= bindparam("until"),
    )
    .order_by(models.CallForService.received_at.desc())
)


def latest_recommendation(session: Session, incident_id: int) -> models.Recommendation | None:
    return session.scalar(_LATEST_RECOMMENDATION, {"incident": incident_id})


_LATEST_RECOMMENDATION = (
    select(models.Recommendation)
    .where(models.Recommendation.incident_id == bindparam("incident"))
    .order_by(models.Recommendation.id.desc())
    .limit(1)
)


def latest_decision(session: Session, incident_id: int) -> models.DispatchDecision | None:
    return session.scalar(_LATEST_DECISION, {"incident": incident_id})


_LATEST_DECISION = (
    select(models.DispatchDecision)
    .where(models.DispatchDecision.incident_id == bindparam("incident"))
    .order_by(models.DispatchDecision.id.desc())
    .limit(1)
)


def recent_incidents(
    session: Session, *, limit: int, before: int | None = None
) -> Sequence[models.Incident]:
    incident = models.Incident
    query = select(incident).order_by(incident.id.desc()).limit(limit)
    if before is not None:
        query = query.where(incident.id < before)
    return session.scalars(query).all()


def units_of(session: Session, call: int) -> Sequence[models.UnitResponse]:
    return session.scalars(_UNITS_OF, {"call": call}).all()


_UNITS_OF = (
    select(models.UnitResponse)
    .where(models.UnitResponse.call_id == bindparam("call"))
    .order_by(models.UnitResponse.dispatched_at, models.UnitResponse.id)
)


# --- triage protocols ------------------------------------------------------------------------


def active_protocol(session: Session) -> models.TriageProtocol | None:
    return session.scalar(_ACTIVE_PROTOCOL)


_ACTIVE_PROTOCOL = (
    select(models.TriageProtocol)
    .where(models.TriageProtocol.active.is_(True))
    .order_by(models.TriageProtocol.id.desc())
    .limit(1)
)


def protocol_versions(session: Session) -> Sequence[models.TriageProtocol]:
    protocol = models.TriageProtocol
    return session.scalars(
        select(protocol).order_by(protocol.program, protocol.version.desc())
    ).all()


def next_protocol_version(session: Session, program: str) -> int:
    protocol = models.TriageProtocol
    latest = session.scalar(select(func.max(protocol.version)).where(protocol.program == program))
    return (latest or 0) + 1


def deactivate_protocols(session: Session) -> None:
    protocol = models.TriageProtocol
    session.execute(update(protocol).where(protocol.active.is_(True)).values(active=False))


def override_counts(session: Session) -> dict[str, int]:
    """Decisions by action (``accepted``, ``overridden``): the override rate's parts."""
    decision = models.DispatchDecision
    rows = session.execute(select(decision.action, func.count()).group_by(decision.action)).all()
    return {action: count for action, count in rows}
