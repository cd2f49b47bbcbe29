"""Incidents, briefs and decisions as the API and the board show them to one reader.

An incident's call is held by the agency of the CAD that sent it; a reader of another agency
sees it only if access allows them that agency's call data (in the demo city the dispatch
center shares calls with the agencies it dispatches). The brief decides each person's facts
on its own (``dispatch.brief``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi import HTTPException
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts
from corespond.access.reads import Reader
from corespond.access.roles import Purpose
from corespond.dispatch import brief as briefs
from corespond.dispatch import repository
from corespond.dispatch.schemas import (
    BriefPersonRead,
    BriefRead,
    CandidateRead,
    CautionRead,
    ContactRead,
    DecisionRead,
    IncidentRead,
    IncidentReferralRead,
    PlanRead,
    PremiseCallRead,
    RecommendationRead,
    UnitRead,
)
from corespond.models.base import utcnow
from corespond.people import profile, referrals

CALL_DATA = "call_incident"


def responder(session: Session, user_id: int) -> Reader:
    """The reader the board and the dispatch API read for: always the emergency-response
    purpose, whatever purpose the user's session chose for other pages."""
    return Reader(session, user_id=user_id, purpose=Purpose.EMERGENCY_RESPONSE)


def visible_incident(session: Session, reader: Reader, incident_id: int) -> models.Incident:
    """The incident, if the reader may see its call (404 / 403 otherwise, with why)."""
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id}")
    decision = reader.decide(CALL_DATA, reader.holder(incident.source_system_id).agency)
    if not decision.allowed:
        raise HTTPException(403, "; ".join(decision.reasons))
    return incident


def incident_for(session: Session, reader: Reader, incident_id: int) -> IncidentRead:
    """The incident as the API shows it, if the reader may see its call."""
    incident = visible_incident(session, reader, incident_id)
    return incident_read(session, incident, agency_id=reader.subject.agency_id)


def visible_incidents(
    session: Session, reader: Reader, *, limit: int, before: int | None = None
) -> list[IncidentRead]:
    """The newest incidents the reader may see (one decision per sending agency)."""
    shown = []
    for incident in repository.recent_incidents(session, limit=limit, before=before):
        holder = reader.holder(incident.source_system_id).agency
        if reader.decide(CALL_DATA, holder).allowed:
            shown.append(incident_read(session, incident, agency_id=reader.subject.agency_id))
    return shown


def incident_read(
    session: Session, incident: models.Incident, *, agency_id: int | None = None
) -> IncidentRead:
    """The incident; with the referrals started from it that ``agency_id`` sent or received."""
    call = repository.call_of(session, incident)
    place = repository.place_of(session, call)
    source = session.get(models.SourceSystem, incident.source_system_id)
    units: Sequence[models.UnitResponse] = (
        repository.units_of(session, call.id) if call is not None else ()
    )
    recommendation = repository.latest_recommendation(session, incident.id)
    decision = repository.latest_decision(session, incident.id)
    return IncidentRead(
        id=incident.id,
        incident=incident.incident_key,
        source=source.name if source else "",
        received_at=incident.received_at,
        call_received_at=call.received_at if call else None,
        updated_at=incident.updated_at,
        messages=incident.messages,
        call_type=call.final_call_type if call else None,
        priority=call.priority if call else None,
        address=_address(place),
        beat=place.beat if place else None,
        notes=(call.notes or "").splitlines() if call else [],
        units=[
            UnitRead(
                call_sign=unit.call_sign,
                responder_type=unit.responder_type,
                dispatched_at=unit.dispatched_at,
                en_route_at=unit.en_route_at,
                at_scene_at=unit.at_scene_at,
                in_service_at=unit.in_service_at,
            )
            for unit in units
        ],
        recommendation=recommendation_read(session, recommendation) if recommendation else None,
        decision=decision_read(session, decision) if decision else None,
        referrals=_referrals(session, incident.id, agency_id),
    )


def _referrals(
    session: Session, incident_id: int, agency_id: int | None
) -> list[IncidentReferralRead]:
    if agency_id is None:
        return []
    today = utcnow().date()
    shown = []
    for row in referrals.of_incident(session, incident_id):
        if agency_id not in {row.from_agency_id, row.to_agency_id}:
            continue
        receiver = session.get(models.Agency, row.to_agency_id) if row.to_agency_id else None
        shown.append(
            IncidentReferralRead(
                id=row.id,
                person_id=facts.person_of_record(session, row.person_record_id),
                referral_type=row.referral_type,
                status=row.status,
                to=receiver.name if receiver else (row.to_program_key or "—"),
                due_on=row.due_on,
                overdue=profile.overdue(row, today),
            )
        )
    return shown


def _address(place: models.Place | None) -> str | None:
    if place is None:
        return None
    parts = [place.street, place.unit, place.city]
    text = ", ".join(part for part in parts if part)
    if not text and place.latitude is not None and place.longitude is not None:
        text = f"{place.latitude:.5f}, {place.longitude:.5f}"
    return text or None


def recommendation_read(session: Session, row: models.Recommendation) -> RecommendationRead:
    protocol = session.get(models.TriageProtocol, row.protocol_id)
    return RecommendationRead(
        id=row.id,
        configuration=row.configuration,
        responders=[part for part in row.responders.split(",") if part],
        rule=row.rule,
        rationale=row.rationale,
        protocol=protocol.program if protocol else "",
        protocol_version=protocol.version if protocol else 0,
        steps=json.loads(row.steps),
    )


def decision_read(session: Session, row: models.DispatchDecision) -> DecisionRead:
    user = session.get(models.User, row.user_id)
    return DecisionRead(
        action=row.action,
        configuration=row.configuration,
        reason=row.reason,
        user=user.display_name if user else "unknown",
        decided_at=row.decided_at,
    )


def brief_for(session: Session, reader: Reader, incident_id: int) -> BriefRead:
    """The brief of an incident the reader may see (found by ``visible_incidents``)."""
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return brief_read(session, reader, incident)


def brief_read(session: Session, reader: Reader, incident: models.Incident) -> BriefRead:
    """The brief of an incident the reader may see (``visible_incident``)."""
    found = briefs.assemble(session, reader, incident)
    return BriefRead(
        incident_id=incident.id,
        purpose=reader.purpose.value,
        people=[_person_read(person) for person in found.people],
        premise_calls=[
            PremiseCallRead(
                incident=call.key,
                at=call.at,
                call_type=call.call_type,
                disposition=call.disposition,
            )
            for call in found.premise_calls
        ],
        premise_call_count=found.premise_call_count,
        premise_cautions=[_caution(line) for line in found.premise_cautions],
        premise_withheld=found.premise_withheld,
    )


def _caution(line: briefs.CautionLine) -> CautionRead:
    return CautionRead(
        severity=line.severity,
        caution_type=line.caution_type,
        description=line.description,
        agency=line.agency,
    )


def _person_read(person: briefs.BriefPerson) -> BriefPersonRead:
    plan = person.plan
    contact = person.contact
    return BriefPersonRead(
        record_id=person.record_id,
        role=person.role,
        name=person.name,
        age=person.age,
        match=person.decision,
        probability=person.probability,
        person_id=person.person_id,
        person_url=f"/people/{person.person_id}" if person.person_id else None,
        candidates=[CandidateRead(person_id=p, probability=q) for p, q in person.candidates],
        cautions=[_caution(line) for line in person.cautions],
        plan=PlanRead(
            agency=plan.agency,
            triggers=plan.triggers,
            what_helps=plan.what_helps,
            de_escalation=plan.de_escalation,
            who_to_call=plan.who_to_call,
        )
        if plan
        else None,
        care_team_contact=ContactRead(
            name=contact.name,
            agency=contact.agency,
            role=contact.role,
            reach=contact.reach,
            last_contact=contact.last_contact,
        )
        if contact
        else None,
        recent_contacts=person.recent,
        withheld=person.withheld,
    )
