"""Queries of live incidents, their messages, matches, recommendations, decisions and the
triage protocols (the person facts a brief shows are read through ``access.facts``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from corespond import models


def incident_by_key(
    session: Session, incident_key: str, source_system_id: int
) -> models.Incident | None:
    incident = models.Incident
    return session.scalar(
        select(incident).where(
            incident.incident_key == incident_key, incident.source_system_id == source_system_id
        )
    )


def message_exists(session: Session, incident_id: int, digest: str) -> bool:
    message = models.IncidentMessage
    return (
        session.scalar(
            select(message.id).where(message.incident_id == incident_id, message.digest == digest)
        )
        is not None
    )


def call_id(session: Session, call_key: str, source_system_id: int) -> int | None:
    call = models.CallForService
    return session.scalar(
        select(call.id).where(
            call.source_key == call_key, call.source_system_id == source_system_id
        )
    )


def incident_matches(session: Session, incident_id: int) -> Sequence[models.IncidentMatch]:
    """Whom the matcher found on the incident, in the order they were named."""
    match = models.IncidentMatch
    return session.scalars(
        select(match).where(match.incident_id == incident_id).order_by(match.id)
    ).all()


def matches(session: Session, incident_id: int) -> dict[int, models.IncidentMatch]:
    """Person record id → the incident's match for it."""
    match = models.IncidentMatch
    rows = session.scalars(select(match).where(match.incident_id == incident_id)).all()
    return {row.person_record_id: row for row in rows}


def candidates_of(match: models.IncidentMatch) -> list[tuple[int, float]]:
    return [(c["person_id"], c["probability"]) for c in json.loads(match.candidates or "[]")]


def calls_at_place(
    session: Session, place_id: int, since: datetime, until: datetime, exclude: str
) -> Sequence[models.CallForService]:
    """Calls at the place between the two times, newest first, but not the event ``exclude``
    (the incident itself, which another source, its CAD's nightly export, may hold too)."""
    call = models.CallForService
    return session.scalars(
        select(call)
        .where(
            call.place_id == place_id,
            call.source_key != exclude,
            call.received_at >= since,
            call.received_at <= until,
        )
        .order_by(call.received_at.desc())
    ).all()


def latest_recommendation(session: Session, incident_id: int) -> models.Recommendation | None:
    rec = models.Recommendation
    return session.scalar(
        select(rec).where(rec.incident_id == incident_id).order_by(rec.id.desc()).limit(1)
    )


def latest_decision(session: Session, incident_id: int) -> models.DispatchDecision | None:
    decision = models.DispatchDecision
    return session.scalar(
        select(decision)
        .where(decision.incident_id == incident_id)
        .order_by(decision.id.desc())
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
    unit = models.UnitResponse
    return session.scalars(
        select(unit).where(unit.call_id == call).order_by(unit.dispatched_at, unit.id)
    ).all()


# --- triage protocols ------------------------------------------------------------------------


def active_protocol(session: Session) -> models.TriageProtocol | None:
    protocol = models.TriageProtocol
    return session.scalar(
        select(protocol).where(protocol.active.is_(True)).order_by(protocol.id.desc()).limit(1)
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
