"""Frequent-utilizer cohorts on people built by hand, where every count is known exactly, and on
a small demo city, against the truth it was simulated from."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from corespond import models
from corespond.access.roles import Purpose
from corespond.cli.main import app
from corespond.config import get_settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.demo.truth import true_person_of_records
from corespond.outcomes import cohort_repository, cohorts, privacy
from corespond.outcomes.cohorts import CohortError, CohortFollowUp
from corespond.outcomes.definitions import Definitions, FrequentUtilizer, load_definitions
from support.agencies import agree, make_agency
from support.auth import add

DEFINITIONS = load_definitions()
ANYONE = DEFINITIONS.model_copy(
    update={"frequent_utilizer": FrequentUtilizer(contacts=1, agencies=1)}
)
"""Everyone with a contact is in: for following people chosen by hand."""
KINDS = DEFINITIONS.frequent_utilizer.contact_kinds
START = date(2024, 1, 1)
"""The cohorts' date: the window before it is the 365 days of 2023."""
_keys = count(1)

SOURCES = {
    # name: (format, agency key, agency kind)
    "cad": ("cad-csv", "metro-911", "dispatch"),
    "rms": ("rms-csv", "riverbend-pd", "police"),
    "ems": ("nemsis", "riverbend-fire", "fire_ems"),
    "hospital": ("fhir", "mercy-general", "hospital"),
    "hmis": ("hmis-csv", "riverbend-coc", "homeless_services"),
    "clinic": ("fhir", "lantern", "behavioral_health"),
}
CATEGORY = {"cad": "call_incident", "rms": "criminal_justice", "ems": "health",
            "hospital": "health", "hmis": "housing", "clinic": "behavioral_health"}  # fmt: skip


def noon(day: str) -> datetime:
    """Local noon of ``day``, as the store keeps times (naive UTC)."""
    local = datetime.combine(date.fromisoformat(day), time(12), ZoneInfo(get_settings().timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


class Town:
    """Six agencies' source systems, and people known to some of them (one record in each)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.systems: dict[str, int] = {}
        for name, (fmt, agency_key, _) in SOURCES.items():
            system = models.SourceSystem(name=f"test {name}", format=fmt, agency_key=agency_key)
            session.add(system)
            session.flush()
            self.systems[name] = system.id
        self.records: dict[tuple[int, str], int] = {}
        self.names: dict[int, tuple[str, str]] = {}
        programs = {"psh": 3, "rrh": 13, "shelter": 1}
        self.programs = {key: self._add(models.Program(
            **self._provenance("hmis", "identity"), name=key, program_type="housing",
            hmis_project_type=project_type,
        )) for key, project_type in programs.items()}  # fmt: skip

    def _provenance(self, source: str, category: str | None = None) -> dict[str, object]:
        return {"source_system_id": self.systems[source], "source_key": f"k{next(_keys)}",
                "content_hash": "x", "data_category": category or CATEGORY[source]}  # fmt: skip

    def _add(self, row: models.Base) -> int:
        self.session.add(row)
        self.session.flush()
        return row.id  # type: ignore[attr-defined, no-any-return]

    def person(self, first: str, last: str = "Example") -> int:
        person_id = self._add(models.Person())
        self.names[person_id] = (first, last)
        return person_id

    def record(self, person_id: int, source: str, *, category: str = "identity") -> int:
        """The person's record in ``source``, made on first use."""
        if (person_id, source) not in self.records:
            first, last = self.names[person_id]
            record_id = self._add(models.PersonRecord(
                **self._provenance(source, category), first_name=first, last_name=last,
            ))  # fmt: skip
            self._add(models.PersonLink(person_record_id=record_id, person_id=person_id,
                                        method="batch"))  # fmt: skip
            self.records[(person_id, source)] = record_id
        return self.records[(person_id, source)]

    def call(self, person_id: int, day: str, *, roles: tuple[str, ...] = ("subject",)) -> int:
        call_id = self._add(models.CallForService(
            **self._provenance("cad"), received_at=noon(day), queued_at=noon(day),
        ))  # fmt: skip
        for role in roles:
            self._add(models.CallPerson(
                **self._provenance("cad"), call_key=f"c{call_id}", call_id=call_id,
                person_record_id=self.record(person_id, "cad"), role=role,
            ))  # fmt: skip
        return call_id

    def arrest(self, person_id: int, day: str, arrest_type: str = "taken_into_custody") -> None:
        self._add(models.Arrest(**self._provenance("rms"), arrested_at=noon(day),
                                person_record_id=self.record(person_id, "rms"),
                                arrest_type=arrest_type))  # fmt: skip

    def hold(self, person_id: int, day: str) -> None:
        record_id = self.record(person_id, "rms")
        self._add(models.InvoluntaryHold(**self._provenance("rms"), started_at=noon(day),
                                         person_record_id=record_id))  # fmt: skip

    def ems(self, person_id: int, day: str) -> None:
        self._add(models.EmsRun(**self._provenance("ems"), psap_call_at=noon(day),
                                person_record_id=self.record(person_id, "ems")))  # fmt: skip

    def hospital(self, person_id: int, day: str, kind: str = "er_visit") -> None:
        self._add(models.HospitalEncounter(
            **self._provenance("hospital"), started_at=noon(day), encounter_kind=kind,
            person_record_id=self.record(person_id, "hospital"),
        ))  # fmt: skip

    def enrollment(
        self, person_id: int, program: str, entry: str, move_in: str | None = None
    ) -> None:
        self._add(models.Enrollment(
            **self._provenance("hmis"), person_record_id=self.record(person_id, "hmis"),
            program_key=program, program_id=self.programs[program],
            entry_date=date.fromisoformat(entry),
            move_in_date=date.fromisoformat(move_in) if move_in else None,
        ))  # fmt: skip

    def exit(self, person_id: int, day: str, destination: int) -> None:
        self._add(models.EnrollmentExit(
            **self._provenance("hmis"), person_record_id=self.record(person_id, "hmis"),
            enrollment_key="e", exit_date=date.fromisoformat(day), destination=destination,
        ))  # fmt: skip

    def treatment(
        self, person_id: int, day: str, *, status: str = "finished", part2: bool = False
    ) -> None:
        category = "substance_use_part2" if part2 else "behavioral_health"
        self._add(models.TreatmentEncounter(
            **self._provenance("clinic", category), started_at=noon(day), status=status,
            part2=part2, person_record_id=self.record(person_id, "clinic", category=category),
        ))  # fmt: skip

    def contacts(self, person_id: int, days: list[str]) -> None:
        """Calls on ``days`` (one agency's contacts, for people followed by hand)."""
        for day in days:
            self.call(person_id, day)


def days_before(number: int) -> list[str]:
    """``number`` days within the 182 days before START, 20 days apart, the last first."""
    return [(START - timedelta(days=1 + 20 * i)).isoformat() for i in range(number)]


def days_after(number: int) -> list[str]:
    """``number`` days within the 182 days from START on, 20 days apart."""
    return [(START + timedelta(days=20 * i)).isoformat() for i in range(number)]


def freeze(
    name: str,
    definitions: Definitions = DEFINITIONS,
    *,
    user_id: int | None = None,
    note: str | None = None,
) -> int:
    with unit_of_work() as session:
        cohort = cohorts.freeze_cohort(
            session, name=name, as_of=START, definitions=definitions, user_id=user_id, note=note
        )
        return cohort.id


def follow(cohort_id: int, as_of: date, definitions: Definitions = ANYONE) -> CohortFollowUp:
    with session_factory()() as session:
        cohort = session.get(models.Cohort, cohort_id)
        assert cohort is not None
        return cohorts.follow(session, cohort, definitions=definitions, as_of=as_of)


def test_frequent_utilizers_are_six_contacts_with_two_agencies_in_the_year_before(
    store: Engine,
) -> None:
    with unit_of_work() as session:
        town = Town(session)
        two_agencies = town.person("Ann")
        for day in ("2023-01-01", "2023-03-01", "2023-05-01"):
            town.call(two_agencies, day)
        town.call(two_agencies, "2023-07-01", roles=("caller", "subject"))  # one contact
        town.arrest(two_agencies, "2023-08-01")
        town.arrest(two_agencies, "2023-12-31", arrest_type="summoned_cited")
        one_agency = town.person("Bo")
        town.contacts(one_agency, [f"2023-{month:02d}-10" for month in range(1, 7)])
        five = town.person("Cy")
        town.contacts(five, ["2023-02-01", "2023-02-02", "2023-02-03"])
        town.ems(five, "2023-04-01")
        town.hold(five, "2023-06-01")
        town.hospital(five, "2023-06-02", kind="inpatient")  # a stay is no contact of its own
        edges = town.person("Di")
        town.contacts(edges, ["2023-02-01", "2023-02-02", "2023-02-03", "2023-02-04"])
        town.ems(edges, "2022-12-31")  # the day before the window
        town.ems(edges, "2024-01-01")  # the cohort's date: after the window
        town.hospital(edges, "2023-09-09")
        three_agencies = town.person("Ed")
        town.contacts(three_agencies, ["2023-05-05", "2023-05-06", "2023-05-07"])
        town.ems(three_agencies, "2023-06-06")
        town.ems(three_agencies, "2023-06-07")
        town.hospital(three_agencies, "2023-06-07")
        unlinked = town._add(models.PersonRecord(**town._provenance("rms", "identity")))
        town._add(models.Arrest(**town._provenance("rms"), arrested_at=noon("2023-05-05"),
                                person_record_id=unlinked, arrest_type="on_view"))  # fmt: skip

    with session_factory()() as session:
        contacts = cohort_repository.contacts(
            session, since=date(2023, 1, 1), until=START, kinds=KINDS
        )
        found = cohorts.frequent_utilizers(contacts, START, DEFINITIONS.frequent_utilizer)

    assert found.to_dict("records") == [
        {"person_id": two_agencies, "contacts": 6, "agencies": 2},
        {"person_id": three_agencies, "contacts": 6, "agencies": 3},
    ]
    assert set(contacts["person_id"]) == {two_agencies, one_agency, five, edges, three_agencies}
    assert Counter(contacts.loc[contacts["person_id"] == five, "kind"]) == Counter(
        {"call": 3, "ems": 1, "hold": 1}
    )
    assert contacts["day"].min() == pd.Timestamp("2023-01-01")  # local days, both edges
    assert contacts["day"].max() == pd.Timestamp("2023-12-31")
    only_calls = cohorts.frequent_utilizers(
        contacts, START, FrequentUtilizer(contacts=6, agencies=1, contact_kinds=("call",))
    )
    assert only_calls["person_id"].tolist() == [one_agency]


def test_freezing_stores_the_members_and_the_definition_and_refuses_a_name_twice(
    store: Engine,
) -> None:
    with unit_of_work() as session:
        town = Town(session)
        ann = town.person("Ann")
        town.contacts(ann, days_before(4))
        town.arrest(ann, "2023-11-11")
        town.hold(ann, "2023-11-12")
    manager = add("manager", "program_manager")
    cohort_id = freeze("Program start", user_id=manager, note="  the pilot beats  ")

    with session_factory()() as session:
        cohort = session.get(models.Cohort, cohort_id)
        assert cohort is not None
        assert (cohort.frozen_on, cohort.note, cohort.created_by_user_id) == (
            START,
            "the pilot beats",
            manager,
        )
        assert FrequentUtilizer.model_validate_json(cohort.definition) == (
            DEFINITIONS.frequent_utilizer
        )
        assert cohort_repository.members(session, cohort_id).to_dict("records") == [
            {"person_id": ann, "contacts": 6, "agencies": 2}
        ]
        event = session.scalars(
            select(models.AuditEvent).where(models.AuditEvent.action == "outcomes.cohort_frozen")
        ).one()
        assert event.actor == f"user:{manager}"
    with pytest.raises(CohortError, match="'Program start' already exists"):
        freeze("Program start")
    with pytest.raises(CohortError, match="needs a name"):
        freeze("   ")

    with unit_of_work() as session:
        empty = cohorts.freeze_cohort(
            session, name="Before anything", as_of=date(2020, 1, 1), definitions=DEFINITIONS
        )
        assert empty.note == (
            "No one met the definition in the 365 days before 2020-01-01: the cohort is empty."
        )
        assert cohort_repository.members(session, empty.id).empty
        nobody = cohorts.follow(session, empty, definitions=DEFINITIONS, as_of=date(2021, 1, 2))
        summary = nobody.summary(min_cell=11)
        assert (summary.members, summary.before_mean, summary.windows[0].stabilized) == (0, None, 0)
        assert summary.windows[0].share_stabilized is None


def test_follow_up_counts_contacts_month_by_month_and_leaves_months_to_come_open(
    store: Engine,
) -> None:
    with unit_of_work() as session:
        town = Town(session)
        ann = town.person("Ann")
        town.contacts(ann, ["2022-12-31", "2023-01-01", "2023-01-31", "2023-12-31"])
        town.ems(ann, "2024-01-01")
        town.arrest(ann, "2024-02-29")
        town.hold(ann, "2024-02-29")
        town.contacts(ann, ["2024-07-01", "2024-07-25"])  # month 6 not ended; after as_of
        bo = town.person("Bo")
        town.contacts(bo, ["2023-06-15"] * 3 + ["2024-03-01"])
    cohort_id = freeze("Monthly", ANYONE)

    followed = follow(cohort_id, date(2024, 7, 20))

    assert followed.monthly.loc[ann].tolist() == (
        [2] + [0] * 10 + [1] + [1, 2] + [0] * 4 + [pd.NA] * 6
    )
    assert (
        followed.monthly.loc[bo].tolist() == [0] * 5 + [3] + [0] * 8 + [1] + [0] * 3 + [pd.NA] * 6
    )
    summary = followed.summary()
    assert (summary.members, summary.months_before, summary.months_after) == (2, 12, 6)
    # Per month: Ann 3/12 before, 3/6 after; Bo 3/12 before, 1/6 after.
    assert summary.before_mean == pytest.approx(3 / 12)
    assert summary.after_median == pytest.approx((3 / 6 + 1 / 6) / 2)
    assert follow(cohort_id, date(2023, 12, 1)).summary().after_mean is None  # none ended yet


def test_stabilization_housed_in_treatment_and_fewer_contacts_once_a_window_has_ended(
    store: Engine,
) -> None:
    people: dict[str, int] = {}
    with unit_of_work() as session:
        town = Town(session)
        for name in ("moved_in", "left_for_rental", "left_for_psychiatric", "moved_in_before",
                     "treated", "cancelled", "none_before"):  # fmt: skip
            people[name] = town.person(name.title())
        before = {"none_before": 0}
        after = {"moved_in": 1, "left_for_rental": 2, "left_for_psychiatric": 0, "treated": 3,
                 "moved_in_before": 2, "cancelled": 0, "none_before": 0}  # fmt: skip
        for name, person in people.items():
            town.contacts(person, days_before(before.get(name, 4)) + days_after(after[name]))
        town.ems(people["none_before"], "2023-01-05")  # a year before: outside the 182 days
        town.enrollment(people["moved_in"], "psh", "2024-01-10", move_in="2024-02-01")
        town.enrollment(people["left_for_rental"], "shelter", "2023-10-01")
        town.exit(people["left_for_rental"], "2024-03-01", destination=410)
        town.exit(people["left_for_psychiatric"], "2024-03-01", destination=204)
        town.enrollment(people["moved_in_before"], "rrh", "2023-11-01", move_in="2023-12-01")
        town.enrollment(people["moved_in_before"], "shelter", "2024-02-01", move_in="2024-02-02")
        town.treatment(people["treated"], "2024-01-10")
        town.treatment(people["cancelled"], "2024-01-10", status="cancelled")
        town.treatment(people["none_before"], "2024-02-10")
        town.exit(people["none_before"], "2024-12-01", destination=435)  # after the 182 days
    cohort_id = freeze("Stabilization", ANYONE)

    followed = follow(cohort_id, START + timedelta(days=182))

    half = followed.stabilization[followed.stabilization["days"] == 182].set_index("person_id")
    flags = half[["housed", "in_treatment", "fewer_contacts", "stabilized"]].astype(bool)
    assert {name: tuple(flags.loc[person]) for name, person in people.items()} == {
        "moved_in": (True, False, True, True),
        "left_for_rental": (True, False, True, True),
        "left_for_psychiatric": (False, False, True, False),
        "moved_in_before": (False, False, True, False),
        "treated": (False, True, False, False),
        "cancelled": (False, False, True, False),
        "none_before": (False, True, False, False),
    }
    assert half.loc[people["treated"], ["contacts_before", "contacts_after"]].tolist() == [4, 3]
    year = followed.stabilization[followed.stabilization["days"] == 365]
    assert year[["contacts_after", "housed", "stabilized"]].isna().all().all()

    summary = followed.summary()
    six, twelve = summary.windows
    assert (six.ended, six.members, six.housed, six.in_treatment, six.fewer_contacts) == (
        True,
        7,
        2,
        2,
        5,
    )
    assert (six.stabilized, six.share_stabilized) == (2, pytest.approx(2 / 7))
    assert (twelve.ended, twelve.stabilized, twelve.status) == (
        False,
        None,
        "not yet (ends 2024-12-31)",
    )
    assert follow(cohort_id, START + timedelta(days=181)).summary().windows[0].ended is False


def synthetic_follow_up(members: int, stabilized: int) -> CohortFollowUp:
    people = list(range(1, members + 1))
    monthly = pd.DataFrame(
        1, index=pd.Index(people, name="person_id"), columns=list(cohorts.MONTHS)
    )
    flags = [person <= stabilized for person in people]
    stabilization = pd.DataFrame({
        "person_id": people, "days": 182, "contacts_before": 6, "contacts_after": 1,
        "housed": flags, "in_treatment": False, "fewer_contacts": True, "stabilized": flags,
    })  # fmt: skip
    return CohortFollowUp(1, "synthetic", START, date(2025, 6, 1), (182,), monthly, stabilization)


def test_small_cells_are_suppressed_with_their_complements() -> None:
    assert privacy.suppress(10, 11) is None
    assert privacy.suppress(11, 11) == 11
    assert privacy.suppress(0, 11) == 0
    assert privacy.suppress_part(20, 30, 11) is None  # 10 not stabilized: a small complement
    assert privacy.suppress_part(15, 30, 11) == 15
    assert privacy.shown(None, 11) == "<11"

    shown = synthetic_follow_up(30, 5).summary(min_cell=11)
    assert (shown.members, shown.windows[0].stabilized, shown.windows[0].share_stabilized) == (
        30,
        None,
        None,
    )
    assert shown.windows[0].fewer_contacts == 30 and shown.before_mean == 1.0
    unsuppressed = synthetic_follow_up(30, 5).summary()
    assert (unsuppressed.windows[0].stabilized, unsuppressed.min_cell) == (5, None)
    tiny = synthetic_follow_up(10, 5).summary(min_cell=11)
    assert (tiny.members, tiny.before_mean, tiny.windows[0].housed) == (None, None, None)


def test_only_users_who_may_evaluate_the_program_see_cohort_counts_unsuppressed(
    store: Engine,
) -> None:
    manager = add("manager", "program_manager")
    officer = add("officer", "officer")
    with session_factory()() as session:
        assert cohorts.viewer_min_cell(session, user_id=manager, definitions=DEFINITIONS) is None
        assert cohorts.viewer_min_cell(session, user_id=officer, definitions=DEFINITIONS) == 11
        assert cohorts.viewer_min_cell(session, user_id=None, definitions=DEFINITIONS) == 11
        coordinating = cohorts.viewer_min_cell(
            session, user_id=manager, definitions=DEFINITIONS, purpose=Purpose.CARE_COORDINATION
        )
        assert coordinating == 11


def test_members_are_read_through_the_access_decisions(store: Engine) -> None:
    agencies = {name: make_agency(key, kind) for name, (_, key, kind) in SOURCES.items()}
    agree(agencies["cad"], agencies["rms"], "dispatch")  # calls for the police: not to evaluate
    manager = add("manager", "program_manager", agency_id=agencies["cad"])
    officer = add("officer", "officer", agency_id=agencies["rms"])
    with unit_of_work() as session:
        town = Town(session)
        ann = town.person("Ann", "Quill")  # known to dispatch and the police
        town.contacts(ann, days_before(3) + days_after(1))
        town.arrest(ann, "2023-12-01")
        bo = town.person("Bo", "Reyes")  # known to dispatch, and to a Part 2 program
        town.contacts(bo, days_before(4) + days_after(1))
        town.treatment(bo, "2024-01-20", part2=True)
        cy = town.person("Cy", "Haddad")  # known to the police only
        town.arrest(cy, "2023-06-01")
    cohort_id = freeze("Members", ANYONE)

    def members(user_id: int) -> dict[int, cohorts.MemberView]:
        with unit_of_work() as session:
            cohort = session.get(models.Cohort, cohort_id)
            assert cohort is not None
            found = cohorts.members_for(
                session, cohort, user_id=user_id, definitions=ANYONE, as_of=date(2025, 1, 1)
            )
            return {view.person_id: view for view in found}

    seen = members(manager)
    assert {person: view.name for person, view in seen.items()} == {
        ann: "Ann Quill",
        bo: "Bo Reyes",
        cy: None,
    }
    assert seen[cy].display_name == "Withheld"
    assert any("criminal-justice records are not shared" in r for r in seen[cy].withheld)
    # Ann's arrest is the police's: her contacts are not counted where it would show.
    assert (seen[ann].contacts_before, seen[ann].windows[0].fewer_contacts) == (None, None)
    # Bo's Part 2 treatment is left out without a trace: he looks untreated, nothing withheld.
    assert (seen[bo].contacts_before, seen[bo].contacts_after, seen[bo].months_after) == (4, 1, 12)
    assert seen[bo].withheld == ()
    assert [(w.days, w.housed, w.in_treatment, w.fewer_contacts, w.stabilized)
            for w in seen[bo].windows] == [(182, False, False, True, False),
                                           (365, False, False, True, False)]  # fmt: skip

    withheld = members(officer)
    assert all(view.name is None and view.contacts_before is None for view in withheld.values())
    assert any("purpose 'program evaluation' is not open" in r for r in withheld[ann].withheld)
    with session_factory()() as session:
        decided = session.scalars(
            select(models.AuditEvent.person_id).where(
                models.AuditEvent.action == "access.decision",
                models.AuditEvent.purpose == "program_evaluation",
            )
        ).all()
    assert set(decided) == {ann, bo, cy}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=300, years=1, seed=11), out)
    return out


def test_the_demo_citys_frequent_utilizers_are_over_represented_in_its_cohort(
    store: Engine, city: Path
) -> None:
    for args in (["ingest", str(city)], ["link", "run"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output

    cohort_id = freeze("Demo city")

    with session_factory()() as session:
        members = set(cohort_repository.members(session, cohort_id)["person_id"])
        truth = true_person_of_records(city, session)
        links = dict(session.execute(
            select(models.PersonLink.person_record_id, models.PersonLink.person_id)
        ).all())  # fmt: skip
    with (city / "truth" / "persons.csv").open(newline="") as handle:
        frequent = {row["person_id"] for row in csv.DictReader(handle)
                    if row["frequent_utilizer"] == "1"}  # fmt: skip
    true_of: dict[int, Counter[str]] = {}
    for record_id, person_id in links.items():
        if record_id in truth:
            true_of.setdefault(person_id, Counter())[truth[record_id]] += 1
    person_is = {person: found.most_common(1)[0][0] for person, found in true_of.items()}
    in_cohort = [person_is[person] in frequent for person in members]
    everyone = [true in frequent for true in person_is.values()]
    assert members, "the demo city should have frequent utilizers"
    assert sum(in_cohort) / len(in_cohort) >= 5 * sum(everyone) / len(everyone)
