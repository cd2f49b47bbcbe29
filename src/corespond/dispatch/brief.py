"""The responder brief: who is probably involved and what responders must know, in ten seconds.

Assembled for one reader under the emergency-response purpose, every fact decided through
``access.reads.Reader`` (one audited evaluation per person) as the person page decides it: what
the reader may not see is counted as withheld, with the reason, never shown.

Decided here (docs/dispatch.md says the same):
- For each person named on the incident: the matcher's answer (linked, needs review with the
  candidates, new, unlinkable); for a linked person their cautions (highest severity first),
  the newest response plan's essentials, the care-team contact who knows them best (corespond
  holds no duty rosters: "on duty" is the best-ranked contact, with how to reach them), and
  their contacts across agencies in the 90 days before the call.
- A candidate the matcher is unsure of is named with its probability only: its facts are not
  shown until a dispatcher confirms the match on the person page (a wrong guess must not put
  another person's cautions on this call).
- Premise history: earlier calls at the same place in the last year and cautions about the
  place, each decided for the agency that holds them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts
from corespond.access.reads import Reader
from corespond.db.engine import kept_plans
from corespond.dispatch import repository
from corespond.dispatch.protocol import SEVERITIES
from corespond.people import profile
from corespond.people import repository as people_repository

RECENT_DAYS = 90
PREMISE_DAYS = 365
SHOWN_RECENT = 5
SHOWN_PREMISE = 5


@dataclass(frozen=True)
class CautionLine:
    severity: str
    caution_type: str
    description: str | None
    agency: str
    since: datetime | None


@dataclass(frozen=True)
class PlanEssentials:
    agency: str
    triggers: str | None
    what_helps: str | None
    de_escalation: str | None
    who_to_call: str | None


@dataclass(frozen=True)
class Contact:
    name: str
    agency: str
    role: str | None
    reach: str
    last_contact: str


@dataclass
class BriefPerson:
    record_id: int
    role: str
    name: str
    decision: str
    """The matcher's answer: ``linked``, ``review``, ``new`` or ``unlinkable``."""
    probability: float | None
    person_id: int | None
    candidates: list[tuple[int, float]] = field(default_factory=list)
    age: int | None = None
    cautions: list[CautionLine] = field(default_factory=list)
    plan: PlanEssentials | None = None
    contact: Contact | None = None
    recent: dict[str, int] = field(default_factory=dict)
    """Touchpoints in the last 90 days by kind."""
    recent_items: list[profile.Item] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    """Why some of the person's facts are not shown (agency and category, with the reason)."""


@dataclass(frozen=True)
class PremiseCall:
    key: str
    at: datetime | None
    call_type: str | None
    disposition: str | None


@dataclass
class Brief:
    incident_id: int
    people: list[BriefPerson]
    premise_calls: list[PremiseCall]
    premise_call_count: int
    premise_cautions: list[CautionLine]
    premise_withheld: list[str]

    @property
    def highest_caution(self) -> str | None:
        """The highest severity among every caution shown (the triage protocol's input)."""
        found = [c.severity for p in self.people for c in p.cautions] + [
            c.severity for c in self.premise_cautions
        ]
        ranked = [s for s in SEVERITIES if s in found]
        return ranked[0] if ranked else None

    @property
    def caution_types(self) -> frozenset[str]:
        return frozenset(
            [c.caution_type for p in self.people for c in p.cautions]
            + [c.caution_type for c in self.premise_cautions]
        )

    @property
    def known_to_programs(self) -> bool:
        return any(p.plan is not None or p.contact is not None for p in self.people)


def assemble(
    session: Session, reader: Reader, incident: models.Incident, *, for_triage: bool = False
) -> Brief:
    """What ``reader`` may know about the incident's people and place (decisions audited).

    ``for_triage``: only what the triage protocol weighs (the cautions, and whether a response
    plan or a care-team contact exists), as intake needs it; the timeline and premise calls
    are read when someone opens the brief.
    """
    with kept_plans(session):  # a dozen reads per person, on their hundreds of record ids
        return _assemble(session, reader, incident, for_triage=for_triage)


def _assemble(
    session: Session, reader: Reader, incident: models.Incident, *, for_triage: bool
) -> Brief:
    call = repository.call_of(session, incident)
    at = (call.received_at if call else None) or incident.received_at
    agencies = people_repository.agencies(session)
    people = [
        _person(session, reader, match, agencies, at, for_triage=for_triage)
        for match in repository.incident_matches(session, incident.id)
    ]
    premise_calls: list[PremiseCall] = []
    premise_count = 0
    cautions: list[CautionLine] = []
    withheld: list[str] = []
    if call is not None and call.place_id is not None:
        if not for_triage:
            premise_count, premise_calls, withheld = _premise_calls(
                session, reader, call, agencies, at
            )
        cautions, more = _place_cautions(session, reader, call.place_id, agencies, at)
        withheld += more
    return Brief(incident.id, people, premise_calls, premise_count, cautions, withheld)


def _person(
    session: Session,
    reader: Reader,
    match: models.IncidentMatch,
    agencies: dict[int, models.Agency],
    at: datetime,
    *,
    for_triage: bool,
) -> BriefPerson:
    record = (
        None
        if for_triage  # the protocol weighs no names
        else facts.records_by_id(session, [match.person_record_id]).get(match.person_record_id)
    )
    seen = record is not None and reader.record(record, match.person_id).allowed
    name = (
        profile.full_name(record.first_name, record.middle_name, record.last_name)
        if seen and record is not None
        else "name withheld"
    )
    entry = BriefPerson(
        record_id=match.person_record_id,
        role=match.role,
        name=name or "no name given",
        decision=match.decision,
        probability=match.probability,
        person_id=match.person_id if match.decision == "linked" else None,
        candidates=repository.candidates_of(match),
        age=profile.age(record.dob, at.date()) if seen and record and record.dob else None,
    )
    if entry.person_id is not None:
        _history(session, reader, entry, entry.person_id, agencies, at, for_triage=for_triage)
    return entry


def _history(
    session: Session,
    reader: Reader,
    entry: BriefPerson,
    person_id: int,
    agencies: dict[int, models.Agency],
    at: datetime,
    *,
    for_triage: bool,
) -> None:
    """Cautions, plan, care-team contact and recent contacts of a linked person."""
    holder, decide = profile.deciders(reader, person_id, agencies)
    record_ids = facts.records_to_read(session, person_id)
    since = at - timedelta(days=RECENT_DAYS)
    touches = (
        []
        if for_triage
        else [
            touch
            for touch in facts.touches(session, record_ids, since=since)
            if touch.at <= at and touch.record_id != entry.record_id
        ]
    )
    caution_rows = people_repository.cautions_of(session, record_ids)
    plan_rows = people_repository.plans_of(session, record_ids)
    contacts = people_repository.care_team_contacts_of(session, record_ids)
    today = at.date()
    written: list[Any] = [*caution_rows, *plan_rows]  # cautions and response plans
    reader.decide_all(
        [(t.category, holder(t.source_system_id, t.agency_id)) for t in touches]
        + [(row.data_category, holder(row.source_system_id, row.agency_id))
           for row in written if row.status == "approved" and not profile.expired(row, today)]
        + [(c.data_category, holder(c.source_system_id, c.agency_id)) for c in contacts],
        person_id=person_id,
    )  # fmt: skip
    shown_cautions, _ = profile.authored(session, caution_rows, holder, decide, reader, today)
    shown_cautions.sort(key=lambda a: (a.row.severity_rank, -profile.stamp(a.row)))  # type: ignore[union-attr]
    # The same caution often arrives twice (a CAD's live feed and its nightly export): once.
    lines: dict[tuple[str, str, str | None, str], CautionLine] = {}
    for a in shown_cautions:
        row: Any = a.row  # a caution
        key = (row.severity, row.caution_type, row.description, a.agency)
        lines.setdefault(key, CautionLine(*key[:3], a.agency, row.valid_from or row.approved_at))
    entry.cautions = list(lines.values())
    plans, _ = profile.authored(session, plan_rows, holder, decide, reader, today)
    newest = profile.latest_per_agency(plans)
    if newest:
        plan = newest[0]
        entry.plan = PlanEssentials(
            plan.agency, plan.row.triggers, plan.row.what_helps,  # type: ignore[union-attr]
            plan.row.de_escalation, plan.row.who_to_call,  # type: ignore[union-attr]
        )  # fmt: skip
    items, restricted = profile.decided_items(touches, holder, decide, reader.subject.agency_id)
    team = profile.care_team(contacts, items, holder, decide, today)
    if team:
        best = team[0]
        entry.contact = Contact(
            best.name, best.agency, best.role, best.reach, best.last_contact.isoformat()
        )
    entry.recent = dict(Counter(item.touch.kind for item in items).most_common())
    entry.recent_items = items[:SHOWN_RECENT]
    entry.withheld = [
        f"{r.count} {r.category.replace('_', ' ')} record(s) held by {r.agency}: "
        + "; ".join(r.reasons)
        for r in restricted
    ]


def _premise_calls(
    session: Session,
    reader: Reader,
    call: models.CallForService,
    agencies: dict[int, models.Agency],
    at: datetime,
) -> tuple[int, list[PremiseCall], list[str]]:
    """Earlier calls at the place in the last year, of the agencies the reader may see (one
    decision per holding agency: a call's own agency, else its CAD's)."""
    assert call.place_id is not None
    since = at - timedelta(days=PREMISE_DAYS)
    held: dict[int | None, tuple[models.Agency | None, list[models.CallForService]]] = {}
    for row in repository.calls_at_place(session, call.place_id, since, at, call.source_key):
        owner = agencies.get(row.agency_id) if row.agency_id else None
        owner = owner or reader.holder(row.source_system_id).agency
        held.setdefault(owner.id if owner else None, (owner, []))[1].append(row)
    shown: list[PremiseCall] = []
    count = 0
    withheld: list[str] = []
    for owner, rows in held.values():
        decision = reader.decide("call_incident", owner, items={"calls": len(rows)})
        if not decision.allowed:
            name = owner.name if owner else "no recorded agency"
            withheld.append(f"{len(rows)} call(s) held by {name}: " + "; ".join(decision.reasons))
            continue
        count += len(rows)
        shown += [PremiseCall(r.source_key, r.received_at, r.final_call_type, r.disposition)
                  for r in rows]  # fmt: skip
    shown.sort(key=lambda c: c.at or datetime.min, reverse=True)
    return count, shown[:SHOWN_PREMISE], withheld


def _place_cautions(
    session: Session,
    reader: Reader,
    place_id: int,
    agencies: dict[int, models.Agency],
    at: datetime,
) -> tuple[list[CautionLine], list[str]]:
    shown: list[CautionLine] = []
    withheld: list[str] = []
    for row in facts.place_cautions(session, place_id):
        if row.status != "approved" or (row.valid_to is not None and row.valid_to < at):
            continue
        owner = agencies.get(row.agency_id) if row.agency_id else None
        owner = owner or reader.holder(row.source_system_id).agency
        decision = reader.decide(row.data_category, owner)
        name = owner.name if owner else "no agency named"
        if decision.allowed:
            shown.append(
                CautionLine(row.severity, row.caution_type, row.description, name, row.valid_from)
            )
        else:
            withheld.append(f"a caution held by {name}: " + "; ".join(decision.reasons))
    shown.sort(key=lambda c: SEVERITIES.index(c.severity) if c.severity in SEVERITIES else 9)
    return shown, withheld
