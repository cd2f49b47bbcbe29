"""Frequent-utilizer cohorts: who they are on a date, frozen, and followed through the year after.

A cohort is frozen on a date (the program start, say): the people with at least ``contacts``
contacts with at least ``agencies`` agencies in the ``window_days`` days before it
(``definitions.FrequentUtilizer``). It is then followed: each member's contacts month by month,
twelve months before and after the date, and whether they stabilised within each window after
it (``definitions.Stabilization``). The cohort's figures (:meth:`CohortFollowUp.summary`) name no
one and are shown to anyone, with small cells suppressed for viewers without person-level access;
a member's own figures (:func:`members_for`) are read through the access decisions.

Decided here:

- Days are local calendar days and periods are half-open: a cohort frozen on day D counts the
  contacts of the ``window_days`` days before D, and D is the first day after. ``as_of`` is the
  day a count is taken, at its start: facts of the days before it count.
- Months are calendar months from the frozen day (month 0 starts on it, month -1 is the month
  before). A month, or a stabilization window, counts only once it has ended by ``as_of``;
  until then it is "not yet" (``<NA>``), never a partial count.
- Housed: a move-in date within the window in an enrollment in a housing project type, or an
  exit from any project to a permanent destination within the window (an exit to an institution,
  such as a psychiatric facility, 204, is not). In treatment: a treatment encounter that took
  place within the window. Fewer contacts: the contacts in the window fell by at least
  ``fewer_contacts_share`` from the same length of time before the date (someone with none
  before cannot have fewer). Stabilised: housed or in treatment, and fewer contacts.
- Small cells (1 to ``min_cell - 1``; CMS's cell-size policy shows 0) are suppressed, and so is
  a count whose complement in the cohort is small, which could be worked out by subtraction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts as person_facts
from corespond.access.reads import Reader
from corespond.access.roles import Purpose, purposes_for
from corespond.access.service import subject_of
from corespond.audit.chain import record
from corespond.linkage.repository import authored_source_id
from corespond.outcomes import cohort_repository as repository
from corespond.outcomes.definitions import Definitions, FrequentUtilizer, Stabilization
from corespond.outcomes.privacy import suppress, suppress_part

MONTHS = tuple(range(-12, 12))
"""Month offsets from the frozen date followed: twelve before (-12..-1) and twelve after."""
PART2 = "substance_use_part2"
FLAGS = ("housed", "in_treatment", "fewer_contacts", "stabilized")


class CohortError(ValueError):
    """The cohort cannot be frozen or followed as asked; the message says why."""


def frequent_utilizers(
    contacts: pd.DataFrame, as_of: date, definition: FrequentUtilizer
) -> pd.DataFrame:
    """The people meeting ``definition`` in the ``window_days`` days before ``as_of``.

    Args:
        contacts: one row per contact, with ``person_id``, ``day``, ``kind`` and ``agency_key``
            (``cohort_repository.contacts``).
        as_of: the first day after the window.
        definition: how many contacts, with how many agencies, of which kinds, in how long.

    Returns:
        person_id, contacts and agencies (distinct) in the window, by person_id.

    Example:
        >>> rule = FrequentUtilizer(contacts=2, agencies=2, window_days=30)
        >>> seen = pd.DataFrame({"person_id": [7, 7, 8, 8], "kind": ["call", "ems"] * 2,
        ...     "agency_key": ["911", "fire", "911", "911"],
        ...     "day": pd.to_datetime(["2024-01-10", "2024-01-20"] * 2)})
        >>> frequent_utilizers(seen, date(2024, 2, 1), rule).to_dict("records")
        [{'person_id': 7, 'contacts': 2, 'agencies': 2}]
    """
    start = pd.Timestamp(as_of - timedelta(days=definition.window_days))
    window = contacts[
        (contacts["day"] >= start)
        & (contacts["day"] < pd.Timestamp(as_of))
        & contacts["kind"].isin(definition.contact_kinds)
    ]
    counted = window.groupby("person_id").agg(
        contacts=("kind", "size"), agencies=("agency_key", "nunique")
    )
    found = counted[
        (counted["contacts"] >= definition.contacts) & (counted["agencies"] >= definition.agencies)
    ]
    return found.reset_index().astype("int64").sort_values("person_id", ignore_index=True)


def monthly_contacts(
    contacts: pd.DataFrame, person_ids: list[int], *, frozen_on: date, as_of: date
) -> pd.DataFrame:
    """Contacts per person (rows) and month from ``frozen_on`` (columns -12..11); ``<NA>`` for
    the months not ended by ``as_of``."""
    edges = _month_edges(frozen_on)
    inside = contacts[(contacts["day"] >= edges[0]) & (contacts["day"] < edges[-1])]
    month = pd.cut(inside["day"], bins=edges, right=False, labels=False) + MONTHS[0]
    counts = (
        inside.groupby([inside["person_id"], month.rename("month")]).size().unstack(fill_value=0)
    )
    frame = counts.reindex(
        index=pd.Index(person_ids, name="person_id"), columns=list(MONTHS), fill_value=0
    ).astype("Int64")
    frame.columns.name = "month"
    for offset in MONTHS:
        if offset not in _ended_months(frozen_on, as_of):
            frame[offset] = pd.NA
    return frame


def stabilization(
    person_ids: list[int],
    contacts: pd.DataFrame,
    housing: pd.DataFrame,
    treatment: pd.DataFrame,
    *,
    frozen_on: date,
    as_of: date,
    definition: Stabilization,
) -> pd.DataFrame:
    """Per person and window after ``frozen_on``: contacts in the window and in as long before,
    and housed, in_treatment, fewer_contacts and stabilized (``<NA>``: the window has not ended
    by ``as_of``)."""
    ids = pd.Index(person_ids, name="person_id")
    found = []
    for days in definition.windows_days:
        start = pd.Timestamp(frozen_on - timedelta(days=days))
        middle = pd.Timestamp(frozen_on)
        end = pd.Timestamp(frozen_on + timedelta(days=days))
        before = _count(contacts, start, middle, ids)
        after = _count(contacts, middle, end, ids)
        frame = pd.DataFrame({"days": days, "contacts_before": before, "contacts_after": after})
        frame["housed"] = _count(housing, middle, end, ids) > 0
        frame["in_treatment"] = _count(treatment, middle, end, ids) > 0
        # A tolerance, so that a share times a count (0.7 * 10) equal to a whole number counts.
        fall = before - after
        frame["fewer_contacts"] = (before > 0) & (
            fall >= definition.fewer_contacts_share * before - 1e-9
        )
        frame["stabilized"] = (frame["housed"] | frame["in_treatment"]) & frame["fewer_contacts"]
        frame = frame.astype({flag: "boolean" for flag in FLAGS}).astype(
            {"contacts_after": "Int64", "contacts_before": "Int64"}
        )
        if pd.Timestamp(as_of) < end:
            frame.loc[:, ["contacts_after", *FLAGS]] = pd.NA
        found.append(frame.reset_index())
    if not found:
        return pd.DataFrame(
            columns=["person_id", "days", "contacts_before", "contacts_after", *FLAGS]
        )
    return pd.concat(found, ignore_index=True)


def _count(rows: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, ids: pd.Index) -> pd.Series:
    inside = rows[(rows["day"] >= start) & (rows["day"] < end)]
    return inside.groupby("person_id").size().reindex(ids, fill_value=0).astype("int64")


def _month_edges(frozen_on: date) -> pd.DatetimeIndex:
    """Where each month from ``frozen_on`` begins, and where the last ends (25 days)."""
    start = pd.Timestamp(frozen_on)
    return pd.DatetimeIndex(
        [start + pd.DateOffset(months=offset) for offset in (*MONTHS, MONTHS[-1] + 1)]
    )


def _ended_months(frozen_on: date, as_of: date) -> list[int]:
    edges = _month_edges(frozen_on)
    return [
        offset for offset, end in zip(MONTHS, edges[1:], strict=True) if end <= pd.Timestamp(as_of)
    ]


@dataclass(frozen=True)
class WindowSummary:
    """The cohort in one window after its date (counts None: suppressed, or the window has not
    ended: see ``ended``)."""

    days: int
    ends_on: date
    """The first day after the window."""
    ended: bool
    members: int | None
    housed: int | None
    in_treatment: int | None
    fewer_contacts: int | None
    stabilized: int | None
    share_stabilized: float | None

    @property
    def status(self) -> str:
        return "ended" if self.ended else f"not yet (ends {self.ends_on:%Y-%m-%d})"


@dataclass(frozen=True)
class CohortSummary:
    """What the cohort's follow-up shows anyone: no person, small cells suppressed."""

    name: str
    frozen_on: date
    as_of: date
    min_cell: int | None
    """The suppression applied: counts under it are None. None: nothing suppressed."""
    members: int | None
    months_before: int
    months_after: int
    """Months after the date that have ended (the means and medians cover these)."""
    before_median: float | None
    before_mean: float | None
    after_median: float | None
    after_mean: float | None
    """Contacts per member per month, before and after the date (None: no month ended yet,
    or too few members to show)."""
    windows: tuple[WindowSummary, ...]


@dataclass(frozen=True, eq=False)
class CohortFollowUp:
    """A cohort followed up to ``as_of``: per member, for analysis; :meth:`summary` to show.

    The frames hold person ids and no names; a page showing members uses :func:`members_for`,
    which decides what the viewer may see of each.
    """

    cohort_id: int
    name: str
    frozen_on: date
    as_of: date
    windows_days: tuple[int, ...]
    monthly: pd.DataFrame
    """Contacts per member (index person_id) and month (columns -12..11); ``<NA>``: not ended."""
    stabilization: pd.DataFrame
    """One row per member and window: person_id, days, contacts_before, contacts_after,
    housed, in_treatment, fewer_contacts, stabilized (``<NA>``: the window has not ended)."""
    facts: CohortFacts | None = None
    """The facts these were counted from (``members_for`` reads them again without it)."""

    def summary(self, *, min_cell: int | None = None) -> CohortSummary:
        """The cohort's figures; counts under ``min_cell`` suppressed (None: none)."""
        ended = _ended_months(self.frozen_on, self.as_of)
        before = [month for month in ended if month < 0]
        after = [month for month in ended if month >= 0]
        count = len(self.monthly)
        members = count if min_cell is None else suppress(count, min_cell)
        hidden = members is None

        def rate(months: list[int], statistic: str) -> float | None:
            if hidden or not months or not count:
                return None
            per_month = self.monthly[months].sum(axis=1).astype(float) / len(months)
            return float(getattr(per_month, statistic)())

        def part(value: int) -> int | None:
            if hidden:
                return None
            return value if min_cell is None else suppress_part(value, count, min_cell)

        windows = []
        for days in self.windows_days:
            ends_on = self.frozen_on + timedelta(days=days)
            rows = self.stabilization[self.stabilization["days"] == days]
            done = ends_on <= self.as_of
            counts = {flag: part(int(rows[flag].sum())) if done else None for flag in FLAGS}
            stabilized = counts["stabilized"]
            windows.append(WindowSummary(
                days=days, ends_on=ends_on, ended=done, members=members, **counts,
                share_stabilized=stabilized / count if stabilized is not None and count else None,
            ))  # fmt: skip
        return CohortSummary(
            name=self.name, frozen_on=self.frozen_on, as_of=self.as_of, min_cell=min_cell,
            members=members, months_before=len(before), months_after=len(after),
            before_median=rate(before, "median"), before_mean=rate(before, "mean"),
            after_median=rate(after, "median"), after_mean=rate(after, "mean"),
            windows=tuple(windows),
        )  # fmt: skip


def freeze_cohort(
    session: Session,
    *,
    name: str,
    as_of: date,
    definitions: Definitions,
    user_id: int | None = None,
    note: str | None = None,
) -> models.Cohort:
    """Freeze the frequent utilizers of the days before ``as_of`` as the cohort ``name``.

    The definition used is stored with the cohort, so that a later change to the definitions
    does not change who was in it. An empty cohort is kept, and its note says so.

    Raises:
        CohortError: the name is empty or another cohort has it.
    """
    name, note = name.strip(), (note or "").strip() or None
    if not name:
        raise CohortError("a cohort needs a name")
    existing = repository.cohort_named(session, name)
    if existing is not None:
        raise CohortError(
            f"a cohort named {name!r} already exists (frozen on {existing.frozen_on:%Y-%m-%d}); "
            "choose another name"
        )
    definition = definitions.frequent_utilizer
    contacts = repository.contacts(
        session, since=as_of - timedelta(days=definition.window_days), until=as_of,
        kinds=definition.contact_kinds,
    )  # fmt: skip
    found = frequent_utilizers(contacts, as_of, definition)
    if found.empty:
        empty = (
            f"No one met the definition in the {definition.window_days} days before "
            f"{as_of:%Y-%m-%d}: the cohort is empty."
        )
        note = f"{note}\n{empty}" if note else empty
    cohort = models.Cohort(
        name=name, frozen_on=as_of, definition=definition.model_dump_json(), note=note,
        created_by_user_id=user_id,
    )  # fmt: skip
    session.add(cohort)
    session.flush()
    repository.add_members(session, cohort.id, found)
    user = session.get(models.User, user_id) if user_id is not None else None
    record(
        session, action="outcomes.cohort_frozen",
        actor=f"user:{user_id}" if user_id is not None else "system",
        agency_id=user.agency_id if user else None, purpose=Purpose.PROGRAM_EVALUATION.value,
        detail={"cohort": cohort.id, "name": name, "frozen_on": as_of.isoformat(),
                "members": len(found)},
    )  # fmt: skip
    return cohort


class CohortFacts(NamedTuple):
    """What a follow-up counts, read once: the members and their facts."""

    person_ids: list[int]
    contacts: pd.DataFrame
    housing: pd.DataFrame
    treatment: pd.DataFrame


def _read_facts(
    session: Session, cohort: models.Cohort, definitions: Definitions, as_of: date
) -> CohortFacts:
    """The members' facts a follow-up counts: contacts of the kinds the cohort was frozen with,
    moves into housing and treatment, from a year before the date to a year after (or as_of)."""
    kinds = FrequentUtilizer.model_validate_json(cohort.definition).contact_kinds
    rules = definitions.stabilization
    edges = _month_edges(cohort.frozen_on)
    longest = timedelta(days=max(rules.windows_days, default=0))
    since = min(edges[0].date(), cohort.frozen_on - longest)
    until = min(as_of, max(edges[-1].date(), cohort.frozen_on + longest))
    if until < since:
        until = since
    members = repository.members(session, cohort.id)
    return CohortFacts(
        person_ids=members["person_id"].tolist(),
        contacts=repository.contacts(
            session, since=since, until=until, kinds=kinds, cohort_id=cohort.id
        ),
        housing=repository.housing(
            session,
            cohort_id=cohort.id,
            since=cohort.frozen_on,
            until=until,
            project_types=rules.housing_project_types,
            destinations=rules.permanent_destinations,
        ),
        treatment=repository.treatment(
            session, cohort_id=cohort.id, since=cohort.frozen_on, until=until
        ),
    )


def follow(
    session: Session, cohort: models.Cohort, *, definitions: Definitions, as_of: date
) -> CohortFollowUp:
    """Follow ``cohort`` up to ``as_of``: contacts by month, stabilization by window."""
    facts = _read_facts(session, cohort, definitions, as_of)
    return CohortFollowUp(
        cohort_id=cohort.id, name=cohort.name, frozen_on=cohort.frozen_on, as_of=as_of,
        windows_days=definitions.stabilization.windows_days,
        monthly=monthly_contacts(
            facts.contacts, facts.person_ids, frozen_on=cohort.frozen_on, as_of=as_of
        ),
        stabilization=stabilization(
            facts.person_ids, facts.contacts, facts.housing, facts.treatment,
            frozen_on=cohort.frozen_on, as_of=as_of, definition=definitions.stabilization,
        ),
        facts=facts,
    )  # fmt: skip


def viewer_min_cell(
    session: Session,
    *,
    user_id: int | None,
    definitions: Definitions,
    purpose: Purpose | None = None,
) -> int | None:
    """The small-cell threshold for what this viewer is shown: None (nothing suppressed) for a
    user whose roles may work under program evaluation, working under it (``purpose`` None: not
    chosen), who may see members by name where the decisions allow; ``privacy.min_cell`` for
    anyone else."""
    user = session.get(models.User, user_id) if user_id is not None else None
    if (
        user is not None
        and purpose in (None, Purpose.PROGRAM_EVALUATION)
        and Purpose.PROGRAM_EVALUATION in purposes_for(subject_of(session, user).roles)
    ):
        return None
    return definitions.privacy.min_cell


@dataclass(frozen=True)
class MemberWindow:
    """One window after the date, for one member: None when not ended (``ended``) or when the
    facts it counts are withheld from the reader."""

    days: int
    ended: bool
    housed: bool | None
    in_treatment: bool | None
    fewer_contacts: bool | None
    stabilized: bool | None


@dataclass(frozen=True)
class MemberView:
    """One member as the reader may see them."""

    person_id: int
    name: str | None
    """None: the reader may see none of the person's records; shown as withheld."""
    contacts_before: int | None
    """Contacts in the twelve months before the date (None: some are withheld)."""
    contacts_after: int | None
    """Contacts in the months after the date that have ended (None: some are withheld, or no
    month has ended)."""
    months_after: int
    windows: tuple[MemberWindow, ...]
    withheld: tuple[str, ...]
    """Why some of the person's records or facts are withheld (empty: none are)."""

    @property
    def display_name(self) -> str:
        return self.name or "Withheld"


def members_for(
    session: Session,
    cohort: models.Cohort,
    *,
    user_id: int,
    definitions: Definitions,
    as_of: date,
    followed: CohortFollowUp | None = None,
) -> list[MemberView]:
    """The cohort's members as ``user_id`` may see them, for program evaluation.

    Each (member, data category, holding agency) of the member's records and of the facts the
    figures count is decided by the reader, and audited. A name comes from a record the reader
    may see; a figure is shown only when every fact it counts may be seen, else it is None with
    the reasons. Substance-use (42 CFR Part 2) facts the reader may not see are left out without
    a trace, as on the person page.
    """
    reader = Reader(session, user_id=user_id, purpose=Purpose.PROGRAM_EVALUATION)
    facts = (
        followed.facts
        if followed is not None and followed.facts is not None and followed.as_of == as_of
        else _read_facts(session, cohort, definitions, as_of)
    )
    names, reasons = _decide(session, reader, facts)
    contacts, hidden_contacts = _visible(reader, facts.contacts)
    housing, hidden_housing = _visible(reader, facts.housing)
    treatment, hidden_treatment = _visible(reader, facts.treatment)
    monthly = monthly_contacts(contacts, facts.person_ids, frozen_on=cohort.frozen_on, as_of=as_of)
    stable = stabilization(
        facts.person_ids, contacts, housing, treatment, frozen_on=cohort.frozen_on,
        as_of=as_of, definition=definitions.stabilization,
    ).set_index("person_id")  # fmt: skip
    ended = _ended_months(cohort.frozen_on, as_of)
    before = [month for month in ended if month < 0]
    after = [month for month in ended if month >= 0]
    views = []
    for person_id in facts.person_ids:
        counted = person_id not in hidden_contacts
        windows = []
        for row in stable.loc[[person_id]].itertuples(index=False):
            housed = None if person_id in hidden_housing else _flag(row.housed)
            treated = None if person_id in hidden_treatment else _flag(row.in_treatment)
            fewer = _flag(row.fewer_contacts) if counted else None
            windows.append(MemberWindow(
                days=int(row.days), ended=cohort.frozen_on + timedelta(days=int(row.days)) <= as_of,
                housed=housed, in_treatment=treated, fewer_contacts=fewer,
                stabilized=_stabilized(housed, treated, fewer),
            ))  # fmt: skip
        views.append(MemberView(
            person_id=person_id, name=names[person_id],
            contacts_before=int(monthly.loc[person_id, before].sum()) if counted else None,
            contacts_after=(int(monthly.loc[person_id, after].sum())
                            if counted and after else None),
            months_after=len(after), windows=tuple(windows), withheld=tuple(reasons[person_id]),
        ))  # fmt: skip
    views.sort(key=lambda view: (view.name is None, view.name or "", view.person_id))
    return views


def _decide(
    session: Session, reader: Reader, facts: CohortFacts
) -> tuple[dict[int, str | None], dict[int, list[str]]]:
    """Take every decision the members' view needs, one person at a time (one policy
    evaluation and one audit write each): on their records, and on the facts the figures
    count. Gives each member's name (None: withheld) and why anything of theirs is withheld."""
    record_ids = person_facts.records_of_persons(session, facts.person_ids)
    records = person_facts.records_by_id(
        session, sorted(record for ids in record_ids.values() for record in ids)
    )
    authored = authored_source_id(session)
    asked = pd.concat([
        frame[["person_id", "category", "source_system_id"]]
        for frame in (facts.contacts, facts.housing, facts.treatment)
    ]).drop_duplicates()  # fmt: skip
    asked_of = {
        person: set(zip(rows["category"], rows["source_system_id"], strict=True))
        for person, rows in asked.groupby("person_id")
    }
    names: dict[int, str | None] = {}
    reasons: dict[int, list[str]] = {}
    for person_id in facts.person_ids:
        own = [
            records[record] for record in record_ids.get(person_id, [])
            if record in records and records[record].source_system_id != authored
        ]  # fmt: skip
        pairs = sorted({(row.data_category, row.source_system_id) for row in own}
                       | asked_of.get(person_id, set()))  # fmt: skip
        asks = [(category, reader.holder(source).agency) for category, source in pairs]
        reader.decide_all(asks, person_id=person_id)
        names[person_id] = _name(reader, person_id, own)
        reasons[person_id] = []
        for category, owner in asks:
            decision = reader.decide(category, owner, person_id=person_id)
            if not decision.allowed and category != PART2:
                reasons[person_id] += [r for r in decision.reasons if r not in reasons[person_id]]
    return names, reasons


def _visible(reader: Reader, frame: pd.DataFrame) -> tuple[pd.DataFrame, set[int]]:
    """The rows the reader may see (as decided), and the people some of whose rows are withheld
    (a Part 2 row the reader may not see is left out without a trace)."""
    allowed = np.array([
        reader.decide(category, reader.holder(source).agency, person_id=person).allowed
        for person, category, source in frame[
            ["person_id", "category", "source_system_id"]
        ].itertuples(index=False)
    ], dtype=bool)  # fmt: skip
    traced = ~allowed & (frame["category"] != PART2).to_numpy(dtype=bool)
    return frame[allowed], set(frame.loc[traced, "person_id"].tolist())


def _name(reader: Reader, person_id: int, own: list[person_facts.PersonRecord]) -> str | None:
    """The name the reader's visible records give most often (None: none visible)."""
    counts: Counter[str] = Counter()
    for row in own:
        name = " ".join(part for part in (row.first_name, row.last_name) if part)
        if name and reader.record(row, person_id).allowed:
            counts[name] += 1
    return min(counts, key=lambda name: (-counts[name], name)) if counts else None


def _flag(value: object) -> bool | None:
    return None if value is pd.NA else bool(value)


def _stabilized(housed: bool | None, treated: bool | None, fewer: bool | None) -> bool | None:
    """Housed or in treatment, and fewer contacts; unknown (None) where it depends on what is."""
    either = True if housed or treated else (None if None in (housed, treated) else False)
    if either is False or fewer is False:
        return False
    if either is None or fewer is None:
        return None
    return True
