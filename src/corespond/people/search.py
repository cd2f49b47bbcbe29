"""Finding a person: by name (fuzzy, nicknames, aliases), date of birth, phone, address or a
source's record number.

Candidates come from the same blocking keys the online matcher uses (``person_match_key``:
nickname forms of the first name with the sound of the last name, last name with birth year,
date of birth, phone), from last names and aliases as recorded, from a street's beginning, and
from record numbers (a person record's key in its source, or a CAD event number: the people
named on that call). They are scored by how well the record agrees with what was asked, and
shown per person only through records the reader may see: a person found only through records
the reader may not see is counted, never named ("2 more people match records you may not
see"); Part 2 records are neither shown nor counted (42 CFR 2.13(c)).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import jellyfish
from sqlalchemy.orm import Session

from corespond.access import facts
from corespond.access.facts import PersonRecord
from corespond.access.reads import Reader
from corespond.linkage.features import Features, Identity, features, nickname_forms, normal_name
from corespond.linkage.online import match_keys
from corespond.linkage.repository import persons_of
from corespond.models.base import utcnow
from corespond.people.profile import age, full_name

CANDIDATES = 2000
NAME_FLOOR = 0.8
LAST_FLOOR = 0.85
FIRST_FLOOR = 0.75
"""Name similarity (Jaro-Winkler, 0 to 1, nicknames count as equal) below which a record is
not a hit: a shared rare last name alone is not enough when the first names differ."""
"""Records scored per search at most (the best by key are kept)."""
PART2 = "substance_use_part2"


class SearchError(ValueError):
    """The search asked for nothing, or for something that cannot be read (the message says)."""


@dataclass(frozen=True)
class Query:
    name: str = ""
    dob: date | None = None
    phone: str = ""
    address: str = ""
    record: str = ""
    """A source's record number (person key, HMIS PersonalID, CAD event number...)."""

    @property
    def empty(self) -> bool:
        return not (self.name.strip() or self.dob or self.phone.strip() or self.address.strip()
                    or self.record.strip())  # fmt: skip


@dataclass
class Hit:
    person_id: int
    name: str
    other_names: list[str]
    dob: date | None
    age: int | None
    agencies: list[str]
    score: float
    matched_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    hidden: int
    """People who match only through records the reader may not see."""
    more: bool
    """More hits exist beyond this page."""


def split_name(text: str) -> tuple[str | None, str | None]:
    """(first, last) from "First Last", "Last, First" or a single word (a last name)."""
    text = " ".join(text.split())
    if "," in text:
        last, _, first = text.partition(",")
        return (first.strip() or None), (last.strip() or None)
    words = text.split(" ")
    if len(words) == 1:
        return None, words[0] or None
    return words[0], " ".join(words[1:])


def search(
    session: Session, reader: Reader, query: Query, *, limit: int = 20, offset: int = 0,
    show_dob: bool = False,
) -> Results:  # fmt: skip
    if query.empty:
        raise SearchError("say what to search by: a name, a date of birth, a phone, an address "
                          "or a record number")  # fmt: skip
    first, last = split_name(query.name)
    wanted = features(Identity(
        record_id=0, first_name=first, last_name=last, dob=query.dob, phone=query.phone or None,
    ))  # fmt: skip
    candidates = _candidates(session, query, wanted, last)
    if not candidates:
        return Results([], 0, False)
    records = facts.records_by_id(session, list(candidates))
    aliases = facts.alias_names(session, list(records))
    persons = persons_of(session, list(records))
    scored: dict[int, list[tuple[float, PersonRecord, list[str]]]] = defaultdict(list)
    for record_id, record in records.items():
        person = persons.get(record_id)
        if person is None:
            continue
        score, matched = _score(
            record, aliases.get(record_id, []), query, first, last, candidates[record_id]
        )
        if score > 0:
            scored[person].append((score, record, matched))
    ranked = sorted(scored.items(), key=lambda item: -max(score for score, _, _ in item[1]))
    today = utcnow().date()
    hits: list[Hit] = []
    hidden = 0
    seen = 0
    for person_id, found in ranked:
        visible = [entry for entry in found if reader.record(entry[1], person_id).allowed]
        if not visible:
            if any(record.data_category != PART2 for _, record, _ in found):
                hidden += 1
            continue
        seen += 1
        if seen <= offset:
            continue
        if len(hits) == limit:
            return Results(hits, hidden, True)
        visible.sort(key=lambda entry: -entry[0])
        best = visible[0][1]
        names = [_name(record) for _, record, _ in visible]
        dob = best.dob or next((record.dob for _, record, _ in visible if record.dob), None)
        hits.append(Hit(
            person_id=person_id,
            name=names[0] or "Name not recorded",
            other_names=sorted({name for name in names[1:] if name and name != names[0]}),
            dob=dob if show_dob else None,
            age=age(dob, today) if dob else None,
            agencies=sorted({reader.holder(record.source_system_id).agency.name  # type: ignore[union-attr]
                             for _, record, _ in visible
                             if reader.holder(record.source_system_id).agency}),
            score=round(visible[0][0], 2),
            matched_on=sorted({word for _, _, matched in visible for word in matched}),
        ))  # fmt: skip
    return Results(hits, hidden, False)


def _candidates(
    session: Session, query: Query, wanted: Features, last: str | None
) -> dict[int, set[str]]:
    """Record id → how it was found."""
    keys = [k for k in match_keys(wanted) if not k.startswith(("ssn:", "addr:"))]
    last_norm = normal_name(last)
    spellings = (
        sorted({last.strip(), last.strip().upper(), last.strip().title(), last_norm})
        if last and last_norm else []
    )  # fmt: skip
    return facts.search_candidates(
        session, keys=keys, last_names=spellings, dob=query.dob,
        street=query.address.strip().lower(), number=query.record.strip(), limit=CANDIDATES,
    )  # fmt: skip


def _score(
    record: PersonRecord, aliases: list[tuple[str | None, str | None]], query: Query,
    first: str | None, last: str | None, how: set[str],
) -> tuple[float, list[str]]:  # fmt: skip
    """How well the record agrees with what was asked: 0 when it contradicts it."""
    score = 0.0
    matched: list[str] = []
    if last:
        own = _name_similarity(record.first_name, record.last_name, first, last)
        other = max((_name_similarity(a, b, first, last) for a, b in aliases), default=0.0)
        similarity = max(own, other)
        if similarity < NAME_FLOOR:
            return 0.0, []
        score += 2 * similarity
        matched.append("name" if own >= other else "alias")
    if query.dob:
        if record.dob == query.dob:
            score += 2
            matched.append("date of birth")
        elif record.dob is not None and not _swapped(record.dob, query.dob):
            score -= 1
    if query.phone.strip() and "phone" in how:
        score += 1.5
        matched.append("phone")
    if query.address.strip() and "address" in how:
        score += 1
        matched.append("address")
    if query.record.strip() and how & {"record", "call"}:
        score += 3
        matched.append("record number" if "record" in how else "call")
    return score, matched


def _name_similarity(
    record_first: str | None, record_last: str | None, first: str | None, last: str
) -> float:
    """0 to 1: last names alike (Jaro-Winkler at least 0.85) and, when both are known, first
    names alike (nicknames count as the same name; at least 0.75); else 0."""
    have_last = (normal_name(record_last) or "").replace(" ", "")
    asked_last = (normal_name(last) or "").replace(" ", "")
    if not have_last or not asked_last:
        return 0.0
    last_score = jellyfish.jaro_winkler_similarity(have_last, asked_last)
    if last_score < LAST_FLOOR:
        return 0.0
    have_first = (normal_name(record_first) or "").split(" ")[0]
    asked_first = (normal_name(first) or "").split(" ")[0]
    if not have_first or not asked_first:
        return last_score * (0.9 if asked_first else 1.0)
    if set(nickname_forms(have_first)) & set(nickname_forms(asked_first)):
        first_score = 1.0
    else:
        first_score = jellyfish.jaro_winkler_similarity(have_first, asked_first)
    return 0.0 if first_score < FIRST_FLOOR else (last_score + first_score) / 2


def _swapped(a: date, b: date) -> bool:
    return a.year == b.year and a.month == b.day and a.day == b.month


def _name(record: PersonRecord) -> str:
    return full_name(record.first_name, record.middle_name, record.last_name)
