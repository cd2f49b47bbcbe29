"""Live incidents: intake, matching the people named, the recommendation and the dispatcher's
answer. Nothing here commits: the request or the CLI's unit of work does, and the live board
hears of a change only after that commit (``dispatch.live``).

Intake of one message, in one transaction:

1. the message is read as EIDO (or the simple form, turned into EIDO) and every record it
   yields is validated; anything wrong is an :class:`IntakeError` naming the field, and
   nothing is stored;
2. the same message twice is recognised by its digest and changes nothing;
3. otherwise it is stored verbatim, merged into the incident's document
   (``dispatch.documents``), and the merged incident's records are written as the sending
   CAD's source records (the call, units, people and cautions, with provenance), so that people
   pages, premise history and outcome metrics see live incidents as imported ones;
4. each person named for the first time is matched by the online matcher, as ingest links new
   records (``linkage.matcher.link_new``);
5. the active triage protocol recommends a response from the call and what the sender may know
   of the people and the place (the brief, under the emergency-response purpose).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.reads import Reader
from corespond.access.roles import Purpose
from corespond.audit.chain import Entry, record_at_commit
from corespond.config import get_settings
from corespond.db.engine import kept_plans
from corespond.dispatch import brief as briefs
from corespond.dispatch import documents, repository, triage
from corespond.dispatch.schemas import DecisionIn, ReferralFromIncident, SimpleIncident
from corespond.ingest import repository as ingest_repository
from corespond.ingest.writer import BatchWriter, Outcome
from corespond.linkage.matcher import NoModel, link_new
from corespond.models.base import utcnow
from corespond.people import referrals
from corespond.sources import eido, eido_write
from corespond.sources import records as r
from corespond.sources.base import SourceRow
from corespond.sources.parse import FieldError

Form = Literal["eido", "simple"]
LIVE_SOURCE = "live-cad"
"""Source-system name of incidents that arrive live, per sending agency: ``live-cad:{agency}``."""


class DispatchError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IntakeError(DispatchError):
    """A message that cannot be taken: the field, and what is wrong with it."""

    status_code = 422


class NotFound(DispatchError):
    status_code = 404


@dataclass(frozen=True)
class Received:
    incident: models.Incident
    created: bool
    changed: bool


def receive(session: Session, *, user_id: int, message: object, form: Form) -> Received:
    """Take one intake message (see the module docstring); raises :class:`IntakeError`."""
    # Some seventy short statements on a settled store: PostgreSQL keeps their plans.
    with kept_plans(session):
        return _receive(session, user_id=user_id, message=message, form=form)


def _receive(session: Session, *, user_id: int, message: object, form: Form) -> Received:
    tz = ZoneInfo(get_settings().timezone)
    flags: list[str] = []
    available: str | None = None
    document: object
    if form == "simple":
        simple = _simple(message)
        document = simple_document(simple)
        flags = simple.flags
        if simple.available_units is not None:
            counts = {str(kind): max(count, 0) for kind, count in simple.available_units.items()}
            available = json.dumps(counts, sort_keys=True)
    else:
        document = message
    records = _records(document, tz)
    key = records[0].source_key
    user = session.get(models.User, user_id)
    if user is None:
        raise DispatchError("the sending user no longer exists")
    source = _live_source(session, user)
    incident = repository.incident_by_key(session, key, source.id)
    digest = documents.digest(message)
    if incident is not None and repository.message_exists(session, incident.id, digest):
        return Received(incident, created=False, changed=False)
    earlier = json.loads(incident.document) if incident is not None else None
    merged = documents.merge(earlier, document) if earlier is not None else document
    if earlier is not None:
        records = _records(merged, tz)
    created = incident is None
    if incident is None:  # written whole, in one insert
        incident = models.Incident(
            incident_key=key, source_system_id=source.id, document="{}", messages=0, flags="",
            available=None,
        )  # fmt: skip
        session.add(incident)
    new_flags = sorted(set(filter(None, incident.flags.split(","))) | set(flags))
    available = available or incident.available
    changed = (
        merged != earlier or ",".join(new_flags) != incident.flags
        or available != incident.available
    )  # fmt: skip
    incident.messages += 1
    if changed:
        incident.document = json.dumps(merged, ensure_ascii=False)
        incident.flags = ",".join(new_flags)
        incident.available = available
        incident.updated_at = utcnow()
    session.flush()
    session.connection().execute(_MESSAGE, {
        "incident_id": incident.id, "digest": digest, "form": form, "user_id": user_id,
        "body": json.dumps(message, ensure_ascii=False),
    })  # fmt: skip
    if changed:
        _store(session, incident, source, records)
        _match(session, incident, source, records)
        recommend(session, incident, user_id=user_id)
    _audit(
        session, "dispatch.intake", user,
        {"incident": incident.id, "key": key, "form": form, "created": created,
         "changed": changed},
    )  # fmt: skip
    return Received(incident, created=created, changed=changed)


_MESSAGE = insert(models.IncidentMessage)
_MATCH = insert(models.IncidentMatch)
"""Plain inserts (the session need not track what the incident's read finds by query)."""


def _audit(session: Session, action: str, user: models.User | None, detail: dict[str, Any]) -> None:
    """Recorded with the request's access decisions, in one write when it commits."""
    record_at_commit(session, [Entry(
        action=action, actor=user.username if user else "unknown",
        agency_id=user.agency_id if user else None, detail=detail,
    )])  # fmt: skip


def _invalid(exc: ValidationError, *, record: bool = False) -> IntakeError:
    """The first problem pydantic found, as a 422 naming the field (``record``: in one of
    the canonical records an EIDO document yields, named with it)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    if record:
        where = f"{exc.title}.{where}"
    return IntakeError(f"{where}: {error['msg']}", field=where)


def _simple(message: object) -> SimpleIncident:
    try:
        return SimpleIncident.model_validate(message)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def _records(document: object, tz: ZoneInfo) -> tuple[r.Record, ...]:
    """The canonical records of an EIDO document, or an :class:`IntakeError` naming the field."""
    try:
        return eido.document_records(document, tz)
    except FieldError as exc:
        raise IntakeError(str(exc), field=exc.field) from exc
    except ValidationError as exc:
        raise _invalid(exc, record=True) from exc


def simple_document(simple: SimpleIncident) -> dict[str, Any]:
    """The simple form as an EIDO document (so that every incident is kept, merged and
    exported as EIDO)."""
    key = simple.incident_id
    location = simple.location
    place = (
        r.PlaceIn(
            street=location.street, unit=location.unit, city=location.city,
            state=location.state, zip=location.zip, latitude=location.latitude,
            longitude=location.longitude, beat=location.beat,
        )
        if location is not None
        else None
    )  # fmt: skip
    try:
        records: list[r.Record] = [
            r.CallIn(
                source_key=key, call_source=simple.source, priority=simple.priority,
                final_call_type=simple.call_type, disposition=simple.disposition,
                received_at=simple.received_at, queued_at=simple.received_at,
                dispatched_at=simple.dispatched_at, first_arrival_at=simple.arrived_at,
                cleared_at=simple.cleared_at, place=place, notes=tuple(simple.notes),
            )
        ]  # fmt: skip
        for person in simple.people:
            person_key = f"{key}/{person.id}"
            address = person.address
            records.append(
                r.PersonRecordIn(
                    source_key=person_key, first_name=person.first_name,
                    middle_name=person.middle_name, last_name=person.last_name, dob=person.dob,
                    sex=person.sex, phone=person.phone,
                    address=r.AddressIn(**address.model_dump()) if address else None,
                )
            )  # fmt: skip
            records.append(
                r.CallPersonIn(
                    source_key=person_key, call_key=key, person_key=person_key, role=person.role
                )
            )
        for unit in simple.units:
            records.append(
                r.UnitResponseIn(
                    source_key=f"{key}/{unit.call_sign}", call_key=key, call_sign=unit.call_sign,
                    responder_type=unit.type, dispatched_at=unit.dispatched_at,
                    en_route_at=unit.en_route_at, at_scene_at=unit.on_scene_at,
                    in_service_at=unit.available_at,
                )
            )  # fmt: skip
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return eido_write.incident_document(records)


def _live_source(session: Session, user: models.User) -> models.SourceSystem:
    agency = session.get(models.Agency, user.agency_id) if user.agency_id else None
    name = f"{LIVE_SOURCE}:{agency.source_key}" if agency else LIVE_SOURCE
    return ingest_repository.get_or_create_source_system(
        session, name, format="eido", agency_key=agency.source_key if agency else None
    )


def _store(
    session: Session,
    incident: models.Incident,
    source: models.SourceSystem,
    records: tuple[r.Record, ...],
) -> None:
    """Write the incident's records as its CAD's source records (an ingest run of one row)."""
    run = models.IngestRun(source_system_id=source.id, format="eido", status="running")
    session.add(run)
    session.flush()
    writer = BatchWriter(
        session, source_system_id=source.id, run_id=run.id, source_name=source.name,
        one_batch=True,
    )  # fmt: skip
    row = SourceRow(
        file="live", locator=f"incident {incident.incident_key} message {incident.messages}",
        records=records,
    )  # fmt: skip
    result = writer.write([row])
    writer.finish()
    if result.rejections:
        raise IntakeError(result.rejections[0].reason)
    stored = sum(1 for _, outcome in result.outcomes if outcome is Outcome.STORED)
    run.status, run.finished_at = "completed", utcnow()
    run.read, run.stored, run.unchanged, run.quarantined = 1, stored, 1 - stored, 0
    call = repository.call_id(session, incident.incident_key, source.id)
    cleared = any(
        isinstance(rec, r.CallIn) and (rec.cleared_at or rec.disposition) for rec in records
    )
    if cleared and incident.closed_at is None:
        incident.closed_at = utcnow()
    incident.call_id = call  # with closed_at, in one update
    if call is not None:
        ingest_repository.resolve_call_references(
            session, incident.incident_key, source.id, call, (rec.kind for rec in records)
        )


def _match(
    session: Session,
    incident: models.Incident,
    source: models.SourceSystem,
    records: tuple[r.Record, ...],
) -> None:
    """Match each person named for the first time (the online matcher, as ingest does)."""
    roles = {rec.person_key: rec.role for rec in records if isinstance(rec, r.CallPersonIn)}
    keys = [rec.source_key for rec in records if isinstance(rec, r.PersonRecordIn)]
    ids = ingest_repository.person_record_ids(session, source.id, keys)
    known = repository.matches(session, incident.id)
    new = [record_id for record_id in ids.values() if record_id not in known]
    if not new:
        return
    try:
        # An incident's people are named on its call alone (their keys are the incident's).
        named = {record_id: [incident.call_id] for record_id in new} if incident.call_id else None
        summary = link_new(session, new, calls=named)
    except NoModel as exc:
        session.connection().execute(_MATCH, [
            {"incident_id": incident.id, "person_record_id": record_id,
             "role": roles.get(key, "named"), "decision": "new", "person_id": None,
             "probability": None, "candidates": "[]", "reason": str(exc)}
            for key, record_id in ids.items() if record_id in new
        ])  # fmt: skip
        return
    rows = []
    for key, record_id in ids.items():
        if record_id not in new:
            continue
        found = summary.results.get(record_id)
        if found is None:  # linked already (the same record named on an earlier incident)
            continue
        result, person = found
        uncertain = result.decision != "linked"
        rows.append({
            "incident_id": incident.id, "person_record_id": record_id,
            "role": roles.get(key, "named"), "decision": result.decision, "person_id": person,
            "probability": result.probability,
            "candidates": json.dumps(
                [{"person_id": c.person_id, "probability": round(c.probability, 4)}
                 for c in result.candidates] if uncertain else []
            ),
            "reason": result.reason or None,
        })  # fmt: skip
    if rows:
        session.connection().execute(_MATCH, rows)


def protocol_of(session: Session) -> tuple[models.TriageProtocol, triage.Protocol]:
    """The active triage protocol; the packaged default, stored as version 1, if none is."""
    stored = repository.active_protocol(session)
    if stored is None:
        default = triage.default_protocol()
        stored = models.TriageProtocol(
            program=default.name, version=default.version, text=triage.default_protocol_text(),
            active=True, note="the packaged default protocol",
        )  # fmt: skip
        session.add(stored)
        session.flush()
    return stored, _parsed(stored)


def save_protocol(
    session: Session, text: str, *, note: str | None, user_id: int
) -> models.TriageProtocol:
    """A program manager's edit: validated (``triage.ProtocolError`` lists every problem),
    stored as the program's next version and made the active one. Audited."""
    parsed = triage.parse_protocol(text, source="the edited protocol")
    protocol_of(session)  # the packaged default is version 1 of the history, edited or not
    version = repository.next_protocol_version(session, parsed.name)
    repository.deactivate_protocols(session)
    row = models.TriageProtocol(
        program=parsed.name, version=version, text=text, active=True, author_id=user_id,
        note=note,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _audit(
        session,
        "dispatch.protocol",
        session.get(models.User, user_id),
        {"program": parsed.name, "version": version, "declared_version": parsed.version},
    )
    return row


_parsed_protocols: dict[tuple[int, str], triage.Protocol] = {}
"""Parsed versions by (row id, text): parsing is milliseconds, a recommendation must not be."""


def _parsed(stored: models.TriageProtocol) -> triage.Protocol:
    key = (stored.id, stored.text)
    parsed = _parsed_protocols.get(key)
    if parsed is None:
        parsed = triage.parse_protocol(stored.text, source=f"{stored.program} v{stored.version}")
        if len(_parsed_protocols) > 32:
            _parsed_protocols.clear()
        _parsed_protocols[key] = parsed
    return parsed


def recommend(
    session: Session, incident: models.Incident, *, user_id: int
) -> models.Recommendation | None:
    """Recommend a response under the active protocol, from the call and what ``user_id`` may
    know of its people and place; stored only when it differs from the incident's last one."""
    stored, protocol = protocol_of(session)
    reader = Reader(session, user_id=user_id, purpose=Purpose.EMERGENCY_RESPONSE)
    brief = briefs.assemble(session, reader, incident, for_triage=True)
    situation = situation_of(session, incident, brief)
    found = triage.recommend(protocol, situation)
    steps = [_plain(step) for step in found.steps]
    last = repository.latest_recommendation(session, incident.id)
    if (
        last is not None
        and last.protocol_id == stored.id
        and last.configuration == found.configuration
        and last.rule == found.rule
        and last.rationale == found.rationale
    ):
        return last
    row = models.Recommendation(
        incident_id=incident.id, protocol_id=stored.id, configuration=found.configuration,
        responders=",".join(found.responders), rule=found.rule, rationale=found.rationale,
        steps=json.dumps(steps),
        inputs=json.dumps({
            "call_type": situation.call_type, "priority": situation.priority,
            "flags": sorted(found.flags), "highest_caution": situation.highest_caution,
            "known_to_programs": situation.known_to_programs,
            "available": situation.available,
            "received_at": situation.received_at.isoformat(), "beat": situation.beat,
        }),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def situation_of(
    session: Session, incident: models.Incident, brief: briefs.Brief
) -> triage.Situation:
    call = repository.call_of(session, incident)
    place = repository.place_of(session, call)
    received = (call.received_at if call else None) or incident.received_at
    return triage.Situation(
        call_type=call.final_call_type if call else None,
        priority=call.priority if call else None,
        notes=call.notes or "" if call else "",
        flags=frozenset(filter(None, incident.flags.split(","))),
        received_at=received.replace(tzinfo=UTC),
        beat=place.beat if place else None,
        sector=place.sector if place else None,
        precinct=place.precinct if place else None,
        highest_caution=brief.highest_caution,
        caution_types=brief.caution_types,
        known_to_programs=brief.known_to_programs,
        available=json.loads(incident.available) if incident.available else None,
    )


def _plain(value: object) -> Any:
    """A dataclass (or anything) as JSON-ready values."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def decide(
    session: Session, incident_id: int, answer: DecisionIn, *, user_id: int
) -> models.DispatchDecision:
    """The dispatcher accepts the recommendation or overrides it (with what and why)."""
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    recommendation = repository.latest_recommendation(session, incident_id)
    if recommendation is None:
        raise DispatchError("the incident has no recommendation to answer")
    if answer.action == "override":
        if not answer.configuration or answer.configuration not in triage.CONFIGURATIONS:
            raise IntakeError(
                "configuration: choose what is sent instead: "
                + ", ".join(sorted(triage.CONFIGURATIONS)),
                field="configuration",
            )
        if not answer.reason:
            raise IntakeError("reason: say why the recommendation is overridden", field="reason")
        if answer.configuration == recommendation.configuration:
            raise IntakeError(
                "configuration: that is what was recommended; accept it instead",
                field="configuration",
            )
        configuration = answer.configuration
    else:
        configuration = recommendation.configuration
    row = models.DispatchDecision(
        incident_id=incident_id, recommendation_id=recommendation.id,
        action="accepted" if answer.action == "accept" else "overridden",
        configuration=configuration, reason=answer.reason, user_id=user_id,
    )  # fmt: skip
    session.add(row)
    _audit(
        session, f"dispatch.{row.action}", session.get(models.User, user_id),
        {"incident": incident_id, "recommendation": recommendation.id,
         "recommended": recommendation.configuration, "sent": configuration},
    )  # fmt: skip
    session.flush()
    return row


def export_document(session: Session, incident_id: int, *, user_id: int) -> dict[str, Any]:
    """The incident as an EIDO document: everything its messages carried, merged (what the
    sending CAD knows; facts other agencies hold about its people are not in it, since the
    receiving center's access to them is its own to decide). The export is audited."""
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    document: dict[str, Any] = json.loads(incident.document)
    document["lastUpdateTimeStamp"] = incident.updated_at.replace(tzinfo=UTC).isoformat()
    _audit(
        session,
        "dispatch.export",
        session.get(models.User, user_id),
        {"incident": incident_id, "key": incident.incident_key},
    )
    return document


def refer(session: Session, incident_id: int, asked: ReferralFromIncident, *, user_id: int) -> int:
    """A responder refers a person the incident names (linked by the matcher) to a provider
    or program; the referral is the person's like any other, and the incident shows it."""
    incident = session.get(models.Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    linked = {
        match.person_id
        for match in repository.matches(session, incident_id).values()
        if match.decision == "linked"
    }
    if asked.person_id not in linked:
        raise IntakeError(
            "person_id: refer a person this incident names and the matcher linked "
            "(an uncertain match is confirmed on the person page first)",
            field="person_id",
        )
    user = session.get(models.User, user_id)
    if user is None:
        raise DispatchError("the user no longer exists")
    try:
        row = referrals.send(
            session, by=user, person_id=asked.person_id, referral_type=asked.referral_type,
            to_agency_id=asked.to_agency_id, to_program_id=asked.to_program_id,
            reason=asked.reason, incident_id=incident_id,
        )  # fmt: skip
    except referrals.ReferralError as exc:
        raise DispatchError(str(exc)) from exc
    return row.id
