"""Reading through decisions, for pages and endpoints that show facts held by several agencies.

A page makes one :class:`Reader` for the signed-in user and its purpose of use, and asks it
before showing each fact. The reader decides each (person, category, holding agency) once per
request, and every decision is audited (``access.service.decide_for``). A withheld fact is
shown as "restricted" with the decision's reasons, never its content.

Example:
    >>> with unit_of_work() as session:  # doctest: +SKIP
    ...     reader = Reader(session, user_id=7, purpose=Purpose.DATA_STEWARDSHIP)
    ...     decision = reader.record(person_record, person_id=12)
    ...     shown = person_record if decision.allowed else decision.reasons
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from corespond import models
from corespond.access import repository
from corespond.access.decisions import Decision, Subject
from corespond.access.grounds import ConsentTerms
from corespond.access.roles import Purpose
from corespond.access.service import AccessError, decide_for, decide_many_for, subject_of
from corespond.linkage.repository import persons_of

SOURCE_CATEGORY = {
    "cad-csv": "call_incident",
    "eido": "call_incident",
    "rms-csv": "criminal_justice",
    "nemsis": "health",
    "hmis-csv": "housing",
}
"""The most sensitive category a source's rows may hold, by format. A quarantined row was never
parsed into facts, so it is decided as its source's most sensitive category; FHIR (which may
carry Part 2 records) and mapped CSV (which may carry anything) count as Part 2."""
MOST_SENSITIVE = "substance_use_part2"
NO_PERSON_DATA = frozenset({"jurisdiction"})
"""Formats whose rows name no person (agencies, beats, programs): shown without a decision."""

NOT_PERSON_DATA = Decision(
    True, ("no-person-data",), ("the jurisdiction file names agencies and beats, no person",)
)


class Reader:
    """One user's reads within one unit of work: each decision taken once, and audited."""

    def __init__(self, session: Session, *, user_id: int, purpose: Purpose) -> None:
        user = session.get(models.User, user_id)
        if user is None:
            raise AccessError("the user no longer exists")
        self.session = session
        self.subject: Subject = subject_of(session, user)
        self.purpose = purpose
        self._holders: dict[int, repository.SourceHolder] | None = None
        self._decided: dict[tuple[int | None, str, int | None], Decision] = {}
        self._lookups: dict[tuple[object, ...], object] = {}
        """What the store said about consents, agreements and emergency access, for the
        request's other decisions (a consent recorded mid-request counts from the next)."""

    def holder(self, source_system_id: int) -> repository.SourceHolder:
        """The format and agency of a source system."""
        if self._holders is None:
            self._holders = repository.source_holders(self.session)
        return self._holders.get(source_system_id, repository.SourceHolder(None, None))

    def decide(
        self,
        category: str,
        owner: models.Agency | None,
        *,
        person_id: int | None = None,
        items: dict[str, object] | None = None,
    ) -> Decision:
        """May the user read this category of facts held by ``owner`` (about ``person_id``)?"""
        key = (person_id, category, owner.id if owner else None)
        if key not in self._decided:
            self._decided[key] = decide_for(
                self.session, self.subject, person_id, category, owner, self.purpose,
                items=items, lookups=self._lookups,
            )  # fmt: skip
        return self._decided[key]

    def decide_all(
        self, asked: Iterable[tuple[str, models.Agency | None]], *, person_id: int | None
    ) -> None:
        """Take every decision not yet taken among ``asked`` at once (one evaluation of the
        policies, one write of the audit events): a page that knows what it will show calls
        this first, then ``decide`` answers from what was decided."""
        wanted: dict[tuple[int | None, str, int | None], tuple[str, models.Agency | None]] = {}
        for category, owner in asked:
            key = (person_id, category, owner.id if owner else None)
            if key not in self._decided:
                wanted[key] = (category, owner)
        if not wanted:
            return
        decided = decide_many_for(
            self.session, self.subject, person_id, list(wanted.values()), self.purpose,
            lookups=self._lookups,
        )  # fmt: skip
        self._decided.update(zip(wanted, decided, strict=True))

    def consents(self, person_id: int) -> list[ConsentTerms]:
        """The person's consents as this request's decisions read them (read once)."""
        key = ("consents", person_id)
        if key not in self._lookups:
            self._lookups[key] = repository.consents_of_person(self.session, person_id)
        found: list[ConsentTerms] = self._lookups[key]  # type: ignore[assignment]
        return found

    def record(self, record: models.PersonRecord, person_id: int | None) -> Decision:
        """May the user read this person record (its category, held by its source's agency)?"""
        return self.decide(
            record.data_category, self.holder(record.source_system_id).agency, person_id=person_id
        )

    def withheld(self, records: list[models.PersonRecord]) -> list[str]:
        """Why any of these records is withheld from the reader (empty: all may be seen)."""
        persons = persons_of(self.session, [record.id for record in records])
        found: list[str] = []
        for record in records:
            decision = self.record(record, persons.get(record.id))
            if not decision.allowed:
                found += decision.reasons
        return found

    def withheld_ids(self, record_ids: list[int]) -> list[str]:
        """The same, for records by id (a steward decides only on records they may see)."""
        records = [self.session.get(models.PersonRecord, record_id) for record_id in record_ids]
        return self.withheld([record for record in records if record is not None])

    def source_rows(self, source_system_id: int, items: dict[str, object]) -> Decision:
        """May the user read rows as a source sent them (quarantined rows, a run's error)?"""
        holder = self.holder(source_system_id)
        if holder.format in NO_PERSON_DATA:
            return NOT_PERSON_DATA
        category = SOURCE_CATEGORY.get(holder.format or "", MOST_SENSITIVE)
        return self.decide(category, holder.agency, items=items)
