"""A care team's worklist: what needs doing about the people the agency serves.

- **New contacts since your last visit**: people on the agency's caseload (anyone its own
  records or its own writing touched in the last ``CASELOAD_DAYS``) whom another agency met after
  the agency's own latest contact, newest first, counted only as far as the reader may see
  them (each decision audited, as on the person page);
- **Referrals**: the agency's incoming referrals still open, overdue ones first, and its
  outgoing referrals that are overdue;
- **Consents** on the caseload that expire within ``EXPIRING_DAYS``;
- **Plans and cautions** of the agency due for review within ``REVIEW_DAYS`` (or past it), and
  drafts waiting for someone to approve them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts
from corespond.access.facts import Consent
from corespond.access.reads import Reader
from corespond.config import get_settings
from corespond.linkage.repository import persons_of
from corespond.models.base import utcnow
from corespond.people import repository
from corespond.people.profile import decided_items, deciders, full_name, overdue
from corespond.people.referrals import of_agency

CASELOAD_DAYS = 180
CASELOAD_LIMIT = 200
"""People looked at per worklist, most recently served first."""
EXPIRING_DAYS = 30
REVIEW_DAYS = 14


@dataclass
class NewContacts:
    person_id: int
    name: str
    last_visit: date
    new: int
    kinds: list[str]
    latest: datetime
    restricted: int = 0


@dataclass
class Worklist:
    agency: str
    new_contacts: list[NewContacts] = field(default_factory=list)
    incoming: list[tuple[models.Referral, int | None, bool]] = field(default_factory=list)
    """(referral, person id, overdue)."""
    outgoing_overdue: list[tuple[models.Referral, int | None]] = field(default_factory=list)
    expiring_consents: list[tuple[Consent, int]] = field(default_factory=list)
    due_for_review: list[tuple[models.Caution | models.ResponsePlan, int | None]] = field(
        default_factory=list
    )
    drafts: list[tuple[models.Caution | models.ResponsePlan, int | None]] = field(
        default_factory=list
    )


def for_agency(session: Session, reader: Reader, *, today: date | None = None) -> Worklist:
    today = today or utcnow().date()
    agency_id = reader.subject.agency_id
    if agency_id is None:
        return Worklist(agency="no agency")
    agency = session.get(models.Agency, agency_id)
    found = Worklist(agency=agency.name if agency else "no agency")
    own_systems = _own_systems(session, agency)
    caseload = _caseload(session, agency_id, own_systems, today)
    as_of = get_settings().as_of or today
    found.new_contacts = _new_contacts(session, reader, caseload, own_systems, as_of)
    persons = persons_of(session, _record_ids(session, agency_id, today))
    for row in of_agency(session, agency_id, incoming=True):
        found.incoming.append((row, persons.get(row.person_record_id), overdue(row, today)))
    found.incoming.sort(key=lambda entry: (not entry[2], entry[0].due_on or date.max))
    for row in of_agency(session, agency_id, incoming=False):
        if overdue(row, today):
            found.outgoing_overdue.append((row, persons.get(row.person_record_id)))
    found.expiring_consents = _expiring_consents(session, set(caseload), today)
    authored: list[models.Caution | models.ResponsePlan] = [
        *session.scalars(select(models.Caution).where(models.Caution.agency_id == agency_id)),
        *session.scalars(
            select(models.ResponsePlan).where(models.ResponsePlan.agency_id == agency_id)
        ),
    ]
    for written in authored:
        person = persons.get(written.person_record_id or 0)
        if written.status in {"draft", "returned"}:
            found.drafts.append((written, person))
        elif (
            written.status == "approved"
            and written.review_on
            and written.review_on <= today + timedelta(days=REVIEW_DAYS)
        ):
            found.due_for_review.append((written, person))
    found.due_for_review.sort(key=lambda entry: entry[0].review_on or date.max)
    return found


def _own_systems(session: Session, agency: models.Agency | None) -> set[int]:
    if agency is None:
        return set()
    system = models.SourceSystem
    return set(session.scalars(select(system.id).where(system.agency_key == agency.source_key)))


def _record_ids(session: Session, agency_id: int, today: date) -> list[int]:
    """Records the agency's own writing hangs on (referrals, cautions, plans)."""
    found: set[int] = set()
    referral = models.Referral
    found.update(session.scalars(select(referral.person_record_id).where(
        or_(referral.to_agency_id == agency_id, referral.from_agency_id == agency_id)
    )))  # fmt: skip
    for model in (models.Caution, models.ResponsePlan):
        found.update(
            record_id for record_id in session.scalars(
                select(model.person_record_id).where(model.agency_id == agency_id)
            ) if record_id is not None
        )  # fmt: skip
    return sorted(found)


def _caseload(
    session: Session, agency_id: int, own_systems: set[int], today: date
) -> dict[int, list[int]]:
    """Person id → all their record ids, for people the agency served lately."""
    own = facts.records_from(session, own_systems)
    people = set(persons_of(session, own + _record_ids(session, agency_id, today)).values())
    return facts.records_of_persons(session, people)


def _new_contacts(
    session: Session, reader: Reader, caseload: dict[int, list[int]], own_systems: set[int],
    today: date,
) -> list[NewContacts]:  # fmt: skip
    agency_id = reader.subject.agency_id
    person_of = {record_id: person for person, ids in caseload.items() for record_id in ids}
    touches = facts.touches(session, sorted(person_of))
    by_person: dict[int, list[facts.Touch]] = defaultdict(list)
    for touch in touches:
        by_person[person_of.get(touch.record_id, 0)].append(touch)
    since = datetime.combine(today - timedelta(days=CASELOAD_DAYS), datetime.min.time())
    pending: list[tuple[datetime, int, datetime, list[facts.Touch]]] = []
    for person_id, found in by_person.items():
        own = [t for t in found if _is_own(t, own_systems, agency_id)]
        if not own:
            continue
        last = max(t.at for t in own)
        if last < since:
            continue
        newer = [
            t for t in found
            if t.at > last and not _is_own(t, own_systems, agency_id)
            and not (t.kind == "referral" and t.to_agency_id == agency_id)  # on the worklist
        ]  # fmt: skip
        if newer:
            pending.append((max(t.at for t in newer), person_id, last, newer))
    pending.sort(reverse=True)
    agencies = repository.agencies(session)
    result: list[NewContacts] = []
    for latest, person_id, last, newer in pending[:CASELOAD_LIMIT]:
        holder, decide = deciders(reader, person_id, agencies)
        shown, restricted = decided_items(newer, holder, decide, agency_id)
        withheld = sum(group.count for group in restricted)
        if not shown and not withheld:
            continue
        result.append(NewContacts(
            person_id=person_id, name=_name(session, reader, person_id, caseload[person_id]),
            last_visit=last.date(), new=len(shown),
            kinds=sorted({item.touch.kind.replace("_", " ") for item in shown}),
            latest=max((item.touch.at for item in shown), default=latest), restricted=withheld,
        ))  # fmt: skip
    return result


def _is_own(touch: facts.Touch, own_systems: set[int], agency_id: int | None) -> bool:
    if touch.agency_id is not None:
        return touch.agency_id == agency_id
    return touch.source_system_id in own_systems


def _name(session: Session, reader: Reader, person_id: int, record_ids: list[int]) -> str:
    for record_id in record_ids:
        record = facts.record(session, record_id)
        if (
            record
            and (record.first_name or record.last_name)
            and reader.record(record, person_id).allowed
        ):
            return full_name(record.first_name, record.last_name)
    return f"Person {person_id}"


def _expiring_consents(
    session: Session, people: set[int], today: date
) -> list[tuple[Consent, int]]:
    ending = facts.consents_ending(session, today, today + timedelta(days=EXPIRING_DAYS))
    return [(consent, person) for consent, person in ending if person in people]
