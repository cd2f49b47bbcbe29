"""One picture of a person, as far as the reader may see it.

Everything shown is decided through ``access.reads.Reader``: each (person, data category,
holding agency) once per request, audited. What the reader may not see is shown as restricted,
with the decision's reasons, never its content, with one exception by law: records under
42 CFR Part 2 that the reader may not see are left out without a trace, because acknowledging
that a person is in a substance-use program is itself a disclosure (42 CFR 2.13(c)). Every page
says so.

Decided here (docs/people.md says the same):
- Restricted timeline items are grouped per holding agency and category: one entry with the
  count, the date range and the reason. A clinician learns that the police department holds
  records and why they are withheld (so they can ask for consent), not what each one was.
- Date of birth is shown to roles whose work identifies patients and clients (clinician,
  caseworker, EMS, data steward); other roles see the age.
- The care team ranks people by recency-weighted contacts: each contact counts
  ``exp(-days since / 180)``, so someone who saw the person twice last week ranks above someone
  who saw them ten times three years ago.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts
from corespond.access.decisions import Decision
from corespond.access.facts import Touch
from corespond.access.reads import Reader
from corespond.access.roles import Role
from corespond.config import get_settings
from corespond.db.engine import kept_plans
from corespond.linkage.repository import AUTHORED_SOURCE
from corespond.models.base import utcnow
from corespond.people import repository
from corespond.sources.hmis import PERMANENT_DESTINATIONS

PART2 = "substance_use_part2"
PARTY = Decision(True, ("referral-party",), ("your agency sent or received this referral",))
DOB_ROLES = frozenset({Role.CLINICIAN, Role.CASEWORKER, Role.EMS, Role.DATA_STEWARD})
CARE_TEAM_HALF_LIFE_DAYS = 180
OPEN_REFERRAL = frozenset({"sent", "accepted", "enrolled"})
IN_TREATMENT_DAYS = 90
CARE_KINDS = frozenset({"treatment", "note", "outreach", "service", "unit_response"})
"""Touchpoints of care: a clinician's visit, a note, an outreach contact, a service, a care
team's unit on a call (patrol and EMS units rotate; they are not a care team)."""
CARE_UNITS = ("Care team unit", "Co responder unit")

Holder = Callable[[int, int | None], models.Agency | None]
Decide = Callable[[str, models.Agency | None], Decision]


@dataclass(frozen=True)
class FrequentUtilizer:
    """At least ``contacts`` touchpoints across at least ``agencies`` agencies in the last
    ``days`` days (the outcomes package defines cohorts; this flag is the person page's)."""

    contacts: int = 6
    agencies: int = 2
    days: int = 365


FREQUENT = FrequentUtilizer()


@dataclass
class Identity:
    names: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    dob: date | None = None
    age: int | None = None
    show_dob: bool = False
    sex: str | None = None
    description: list[str] = field(default_factory=list)
    restricted: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "Name withheld"


@dataclass(frozen=True)
class Restricted:
    """Items the reader may not see: how many, whose, of which category, when, and why."""

    agency: str
    category: str
    count: int
    first: datetime
    last: datetime
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    touch: Touch
    agency: str


@dataclass
class CareTeamMember:
    name: str
    agency: str
    role: str | None
    last_contact: date
    contacts: int
    score: float
    reach: str


@dataclass(frozen=True)
class Situation:
    housing: str
    in_treatment: bool
    open_referrals: int
    overdue_referrals: int
    frequent_utilizer: bool
    contacts_last_year: int
    agencies_last_year: int


@dataclass(frozen=True)
class LinkedRecord:
    record: Any
    """The record's columns (a plain row)."""
    link: Any
    """How it was linked: ``method``, ``match_probability``, ``explanation``."""
    source: str
    agency: str
    decision: Decision


@dataclass(frozen=True)
class Authored:
    """A caution or plan with who wrote and approved it, and the agency that holds it."""

    row: models.Caution | models.ResponsePlan
    agency: str
    author: str
    approver: str


@dataclass
class PersonView:
    person_id: int
    identity: Identity
    cautions: list[Authored]
    plans: list[Authored]
    drafts: list[Authored]
    """Drafts awaiting approval, and returned ones, of the reader's own agency (only to it)."""
    care_team: list[CareTeamMember]
    situation: Situation
    items: list[Item]
    restricted: list[Restricted]
    referrals: list[tuple[models.Referral, str, str]]
    records: list[LinkedRecord]
    agencies: dict[int, str]

    @property
    def withheld_everything(self) -> bool:
        return bool(self.records) and not any(entry.decision.allowed for entry in self.records)


def view(
    session: Session, reader: Reader, person_id: int, *, today: date | None = None
) -> PersonView:
    """Assemble what ``reader`` may see of the person (every decision audited)."""
    # Forty reads of a settled store, a dozen of them on hundreds of record ids: plans kept.
    with kept_plans(session):
        today = today or utcnow().date()
        as_of = get_settings().as_of or today
        agencies = repository.agencies(session)
        names = {agency_id: agency.name for agency_id, agency in agencies.items()}
        sources = repository.source_names(session)
        holder, decide = deciders(reader, person_id, agencies)
        linked = facts.records_of(session, person_id)
        record_ids = [record.id for record, _ in linked]
        touches = facts.touches(session, facts.person_records(person_id))
        caution_rows = repository.cautions_of(session, record_ids)
        plan_rows = repository.plans_of(session, record_ids)
        referral_rows = repository.referrals_of(session, record_ids)
        contacts = repository.care_team_contacts_of(session, record_ids)
        written: list[models.Caution | models.ResponsePlan] = [*caution_rows, *plan_rows]
        mine = reader.subject.agency_id
        # Every decision the page will take, taken at once (one evaluation, one audit write).
        reader.decide_all(
            [(record.data_category, reader.holder(record.source_system_id).agency)
             for record, _ in linked
             if sources.get(record.source_system_id) != AUTHORED_SOURCE]
            + [(touch.category, holder(touch.source_system_id, touch.agency_id))
               for touch in touches if not _party(touch, mine)]
            + [(row.data_category, holder(row.source_system_id, row.agency_id))
               for row in written if row.status == "approved" and not expired(row, today)]
            + [(row.data_category, holder(row.source_system_id, row.from_agency_id))
               for row in referral_rows if mine not in {row.to_agency_id, row.from_agency_id}]
            + [(contact.data_category, holder(contact.source_system_id, contact.agency_id))
               for contact in contacts],
            person_id=person_id,
        )  # fmt: skip
        records = []
        for record, link in linked:
            owner = reader.holder(record.source_system_id).agency
            source = sources.get(record.source_system_id, "unknown source")
            if source == AUTHORED_SOURCE:
                continue  # the anchor of what users wrote here, not a record any agency holds
            decision = decide(record.data_category, owner)
            if decision.allowed or record.data_category != PART2:
                records.append(LinkedRecord(
                    record, link, source, owner.name if owner else "no agency named", decision
                ))  # fmt: skip
        items, restricted = decided_items(touches, holder, decide, mine)
        cautions, caution_drafts = authored(session, caution_rows, holder, decide, reader, today)
        cautions.sort(key=lambda entry: (entry.row.severity_rank, -stamp(entry.row)))  # type: ignore[union-attr]
        plans, plan_drafts = authored(session, plan_rows, holder, decide, reader, today)
        referrals = [
            (row, names.get(row.from_agency_id or 0, "—"),
             names.get(row.to_agency_id or 0, row.to_program_key or "—"))
            for row in referral_rows
            if may_see_referral(row, reader, holder, decide)
        ]  # fmt: skip
        return PersonView(
            person_id=person_id,
            identity=_identity(session, reader, records, today),
            cautions=cautions,
            plans=latest_per_agency(plans),
            drafts=caution_drafts + plan_drafts,
            care_team=care_team(contacts, items, holder, decide, as_of),
            situation=situation(items, [row for row, _, _ in referrals], as_of, today),
            items=items,
            restricted=restricted,
            referrals=referrals,
            records=records,
            agencies=names,
        )


@dataclass(frozen=True)
class TimelineFilter:
    agency: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None

    def keeps(self, item: Item) -> bool:
        day = item.touch.at.date()
        return (
            (not self.agency or item.agency == self.agency)
            and (not self.kind or item.touch.kind == self.kind)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )

    def keeps_restricted(self, entry: Restricted) -> bool:
        """A restricted group is kept when its agency and dates overlap (its kinds are not
        told, so a kind filter keeps it too)."""
        return (
            (not self.agency or entry.agency == self.agency)
            and (self.since is None or entry.last.date() >= self.since)
            and (self.until is None or entry.first.date() <= self.until)
        )


def timeline(
    session: Session, reader: Reader, person_id: int, flt: TimelineFilter | None = None
) -> tuple[list[Item], list[Restricted]]:
    """The person's touchpoints the reader may see, newest first, and the restricted groups."""
    # A dozen reads on hundreds of record ids: plans kept (``db.engine.kept_plans``).
    with kept_plans(session):
        holder, decide = deciders(reader, person_id, repository.agencies(session))
        touches = facts.touches(session, facts.person_records(person_id))
        mine = reader.subject.agency_id
        reader.decide_all(
            [(touch.category, holder(touch.source_system_id, touch.agency_id))
             for touch in touches if not _party(touch, mine)],
            person_id=person_id,
        )  # fmt: skip
        items, restricted = decided_items(touches, holder, decide, mine)
        if flt is not None:
            items = [item for item in items if flt.keeps(item)]
            restricted = [entry for entry in restricted if flt.keeps_restricted(entry)]
        return items, restricted


def deciders(
    reader: Reader, person_id: int, agencies: dict[int, models.Agency]
) -> tuple[Holder, Decide]:
    """Who holds a row (its source's agency, or the agency that wrote it in corespond), and the
    reader's decision on a category of one holder's facts about the person."""

    def holder(source_system_id: int, authored_by: int | None) -> models.Agency | None:
        if authored_by is not None:
            return agencies.get(authored_by)
        return reader.holder(source_system_id).agency

    def decide(category: str, owner: models.Agency | None) -> Decision:
        return reader.decide(category, owner, person_id=person_id)

    return holder, decide


def record_groups(records: list[LinkedRecord]) -> list[tuple[LinkedRecord, int]]:
    """The records as a page lists them: alike ones once, with how many (a CAD names a frequent
    caller on hundreds of calls, each time a new record with the same name)."""
    groups: dict[tuple[object, ...], list[LinkedRecord]] = {}
    for entry in records:
        record = entry.record
        key: tuple[object, ...] = (
            (entry.source, True, record.first_name, record.last_name, record.dob,
             entry.link.method)
            if entry.decision.allowed else (entry.source, False, entry.agency)
        )  # fmt: skip
        groups.setdefault(key, []).append(entry)
    return [(group[0], len(group)) for group in groups.values()]


def decided_items(
    touches: list[Touch], holder: Holder, decide: Decide, mine: int | None = None
) -> tuple[list[Item], list[Restricted]]:
    """The touchpoints the reader may see, and the rest grouped by holder and category
    (Part 2 records the reader may not see are left out entirely). A referral is seen by the
    agencies that sent and received it (``mine``: the reader's agency)."""
    items: list[Item] = []
    withheld: dict[tuple[str, str], list[Touch]] = defaultdict(list)
    reasons: dict[tuple[str, str], tuple[str, ...]] = {}
    for touch in touches:
        owner = holder(touch.source_system_id, touch.agency_id)
        party = (
            mine is not None
            and touch.kind == "referral"
            and mine in {touch.agency_id, touch.to_agency_id}
        )
        decision = PARTY if party else decide(touch.category, owner)
        agency = owner.name if owner else "no agency named"
        if decision.allowed:
            items.append(Item(touch, agency))
        elif touch.category != PART2:
            withheld[(agency, touch.category)].append(touch)
            reasons[(agency, touch.category)] = decision.reasons
    restricted = [
        Restricted(
            agency, category, len(group), min(t.at for t in group), max(t.at for t in group),
            reasons[(agency, category)],
        )
        for (agency, category), group in withheld.items()
    ]  # fmt: skip
    restricted.sort(key=lambda entry: entry.last, reverse=True)
    return items, restricted


def _party(touch: Touch, mine: int | None) -> bool:
    """A referral the reader's agency sent or was sent."""
    return mine is not None and touch.kind == "referral" and mine in {
        touch.agency_id, touch.to_agency_id
    }  # fmt: skip


def may_see_referral(row: models.Referral, reader: Reader, holder: Holder, decide: Decide) -> bool:
    """The reader's agency sent it or was sent it; else the sender's decision."""
    mine = reader.subject.agency_id
    if mine is not None and mine in {row.to_agency_id, row.from_agency_id}:
        return True
    return decide(row.data_category, holder(row.source_system_id, row.from_agency_id)).allowed


def stamp(row: models.Caution | models.ResponsePlan) -> float:
    when = row.approved_at or row.updated_at
    return when.timestamp() if when else 0.0


def authored(
    session: Session,
    rows: list[models.Caution] | list[models.ResponsePlan],
    holder: Holder,
    decide: Decide,
    reader: Reader,
    today: date,
) -> tuple[list[Authored], list[Authored]]:
    """Approved, unexpired rows the reader may see; and the own agency's drafts."""
    users = repository.user_names(
        session, [u for row in rows for u in (row.author_user_id, row.approver_user_id)]
    )
    shown: list[Authored] = []
    drafts: list[Authored] = []
    for row in rows:
        owner = holder(row.source_system_id, row.agency_id)
        written_by = row.source if isinstance(row, models.Caution) else row.author
        entry = Authored(
            row, owner.name if owner else "no agency named",
            users.get(row.author_user_id or 0, written_by or ""),
            users.get(row.approver_user_id or 0, ""),
        )  # fmt: skip
        if row.status in {"draft", "returned"}:
            if row.agency_id is not None and row.agency_id == reader.subject.agency_id:
                drafts.append(entry)
            continue
        if row.status != "approved" or expired(row, today):
            continue
        if decide(row.data_category, owner).allowed:
            shown.append(entry)
    return shown, drafts


def expired(row: models.Caution | models.ResponsePlan, today: date) -> bool:
    if isinstance(row, models.Caution):
        return row.valid_to is not None and row.valid_to.date() < today
    return row.expires_on is not None and row.expires_on < today


def latest_per_agency(plans: list[Authored]) -> list[Authored]:
    latest: dict[str, Authored] = {}
    for entry in plans:
        current = latest.get(entry.agency)
        if current is None or entry.row.version > current.row.version:
            latest[entry.agency] = entry
    return sorted(latest.values(), key=lambda entry: stamp(entry.row), reverse=True)


def care_team(
    contacts: list[models.CareTeamContact],
    items: list[Item],
    holder: Holder,
    decide: Decide,
    today: date,
) -> list[CareTeamMember]:
    """Who at each agency knows the person, ranked by recency-weighted contacts."""
    team: dict[tuple[str, str], CareTeamMember] = {}

    def add(name: str, agency: str, role: str | None, when: date, count: int, reach: str) -> None:
        weight = sum(
            math.exp(-max((today - when).days, 0) / CARE_TEAM_HALF_LIFE_DAYS) for _ in range(count)
        )
        member = team.get((name, agency))
        if member is None:
            team[(name, agency)] = CareTeamMember(name, agency, role, when, count, weight, reach)
            return
        member.contacts += count
        member.score += weight
        member.last_contact = max(member.last_contact, when)
        member.role = member.role or role
        if reach and not member.reach.startswith(("tel", "mailto")):
            member.reach = reach

    for contact in contacts:
        owner = holder(contact.source_system_id, contact.agency_id)
        if not decide(contact.data_category, owner).allowed:
            continue
        reach = f"tel:{contact.phone}" if contact.phone else (
            f"mailto:{contact.email}" if contact.email else ""
        )  # fmt: skip
        add(
            contact.contact_name, owner.name if owner else "no agency named",
            contact.contact_role, contact.last_contact_on or today, max(contact.contact_count, 1),
            reach,
        )  # fmt: skip
    for item in items:
        touch = item.touch
        if touch.kind not in CARE_KINDS:
            continue
        role = None
        if touch.kind == "unit_response":
            if not touch.title.startswith(CARE_UNITS):
                continue
            role = touch.title.rsplit(" ", 1)[0].lower()
        name = touch.staff or f"{item.agency} staff"
        add(name, item.agency, role, touch.at.date(), 1, "")
    ranked = sorted(team.values(), key=lambda member: (-member.score, member.name))
    for member in ranked:
        member.score = round(member.score, 2)
        if not member.reach:
            member.reach = f"through {member.agency}"
    return ranked


def situation(
    items: list[Item], referrals: list[models.Referral], as_of: date, today: date
) -> Situation:
    """Housing, treatment, referrals and frequent-utilizer status from what the reader sees
    (windows end ``as_of``; referral deadlines count from ``today``)."""
    since = datetime.combine(as_of - timedelta(days=FREQUENT.days), datetime.min.time())
    recent = [
        item for item in items if item.touch.at >= since and item.touch.kind != "unit_response"
    ]
    agencies = {item.agency for item in recent}
    return Situation(
        housing=_housing(items),
        in_treatment=any(
            item.touch.kind == "treatment"
            and item.touch.at.date() >= as_of - timedelta(days=IN_TREATMENT_DAYS)
            for item in items
        ),
        open_referrals=sum(1 for row in referrals if row.status in OPEN_REFERRAL),
        overdue_referrals=sum(1 for row in referrals if overdue(row, today)),
        frequent_utilizer=len(recent) >= FREQUENT.contacts and len(agencies) >= FREQUENT.agencies,
        contacts_last_year=len(recent),
        agencies_last_year=len(agencies),
    )


def overdue(row: models.Referral, today: date) -> bool:
    return row.status in {"sent", "accepted"} and row.due_on is not None and row.due_on < today


def _housing(items: list[Item]) -> str:
    """The latest housing fact the reader may see, in words."""
    for item in items:  # newest first
        touch = item.touch
        if touch.kind == "program_exit":
            if any(f"{code} (permanent" in touch.detail for code in PERMANENT_DESTINATIONS):
                return f"housed: left a program for permanent housing on {touch.at:%Y-%m-%d}"
            where = touch.detail or "destination not recorded"
            return f"left a program on {touch.at:%Y-%m-%d} ({where})"
        if touch.kind == "shelter_stay":
            return f"in shelter since {touch.at:%Y-%m-%d} ({touch.title.removeprefix('Entered ')})"
        if touch.kind == "enrollment":
            state = "housed" if "moved in" in touch.detail else "enrolled"
            program = touch.title.removeprefix("Entered ")
            return f"{state}: {program} since {touch.at:%Y-%m-%d}"
        if touch.kind == "outreach":
            return f"unsheltered: street outreach contact on {touch.at:%Y-%m-%d}"
    return "not known"


def _identity(
    session: Session, reader: Reader, records: list[LinkedRecord], today: date
) -> Identity:
    found = Identity(show_dob=bool(reader.subject.roles & DOB_ROLES))
    visible = [entry.record for entry in records if entry.decision.allowed]
    aliases = facts.aliases_of(session, [record.id for record in visible])
    dobs: dict[date, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for record in visible:
        name = full_name(record.first_name, record.middle_name, record.last_name, record.suffix)
        if name:
            counts[name] += 1
        for alias in aliases.get(record.id, []):
            other = full_name(alias.first_name, alias.middle_name, alias.last_name, alias.suffix)
            if other and other not in found.aliases:
                found.aliases.append(other)
        if record.dob:
            dobs[record.dob] += 1
        found.sex = found.sex or record.sex
        for part in (
            record.height_cm and f"{record.height_cm} cm",
            record.weight_kg and f"{record.weight_kg} kg",
            record.hair and f"{record.hair} hair",
            record.eyes and f"{record.eyes} eyes",
            record.description,
        ):
            if part and part not in found.description:
                found.description.append(str(part))
    # The most often recorded spelling first; the others are how sources spelled it.
    found.names = sorted(counts, key=lambda name: (-counts[name], name))
    found.aliases = [alias for alias in found.aliases if alias not in counts]
    if dobs:
        found.dob = max(dobs, key=lambda value: (dobs[value], value))
        found.age = age(found.dob, today)
    for entry in records:
        if not entry.decision.allowed:
            found.restricted += [r for r in entry.decision.reasons if r not in found.restricted]
    return found


def full_name(*parts: str | None) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())


def age(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
