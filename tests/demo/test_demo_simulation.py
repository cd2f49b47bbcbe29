"""The simulation on records alone: determinism, truth coverage, order contracts, realism."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from statistics import median

import pytest

from corespond.demo.params import CityParams, ProgramEffects
from corespond.demo.simulation import Simulation
from corespond.demo.truth import CALL_COLUMNS
from corespond.demo.world import Sink, World
from corespond.sources.records import (
    AgencyIn,
    CallIn,
    EmsRunIn,
    EnrollmentIn,
    PersonRecordIn,
    ProgramIn,
    Record,
)


def simulate(params: CityParams) -> tuple[World, Sink]:
    sink = Sink()
    world = World.create(params, sink)
    Simulation(world).run()
    return world, sink


@pytest.fixture(scope="module")
def city() -> tuple[World, Sink]:
    return simulate(CityParams(people=400, years=1, seed=11, calls_per_person_year=4))


def dumped(sink: Sink) -> dict[str, list[tuple[str, dict[str, object]]]]:
    return {
        source: [(type(r).__name__, r.model_dump()) for r in records]
        for source, records in sink.records.items()
    }


def test_same_seed_same_records_and_another_seed_differs(city: tuple[World, Sink]) -> None:
    _, sink = city
    _, again = simulate(CityParams(people=400, years=1, seed=11, calls_per_person_year=4))
    _, other = simulate(CityParams(people=400, years=1, seed=12, calls_per_person_year=4))

    assert dumped(again) == dumped(sink)
    assert again.truth == sink.truth
    assert again.calls == sink.calls
    assert dumped(other) != dumped(sink)


def test_every_person_record_has_truth_and_nothing_else_does(city: tuple[World, Sink]) -> None:
    world, sink = city
    written = {
        (source, r.source_key)
        for source, records in sink.records.items()
        for r in records
        if isinstance(r, PersonRecordIn)
    }
    truth = {(source, key) for source, _, key, _ in sink.truth}
    person_ids = {p.person_id for p in world.people}

    assert written == truth
    assert len(truth) == len(sink.truth), "a source key is used for two person records"
    assert {person_id for *_, person_id in sink.truth} <= person_ids
    assert {source for source, _ in written} == {
        "cad", "eido", "rms", "nemsis", "hmis", "behavioral", "hospital"
    }  # fmt: skip


def test_cad_and_eido_streams_keep_each_call_together(city: tuple[World, Sink]) -> None:
    _, sink = city
    for source in ("cad", "eido"):
        current: str | None = None
        for record in sink.records[source]:
            if isinstance(record, CallIn):
                current = record.source_key
            elif hasattr(record, "call_key"):
                assert record.call_key == current, record


def test_live_feed_holds_only_the_last_days(city: tuple[World, Sink]) -> None:
    world, sink = city
    live = [r for r in sink.records["eido"] if isinstance(r, CallIn)]
    older = [r for r in sink.records["cad"] if isinstance(r, CallIn)]

    assert live and older
    assert all(r.received_at and r.received_at.date().toordinal() >= world.live_from for r in live)
    assert all(r.received_at and r.received_at.date().toordinal() < world.live_from for r in older)


def test_each_ems_run_follows_its_patient(city: tuple[World, Sink]) -> None:
    _, sink = city
    records = sink.records["nemsis"]
    for before, record in pairwise(records):
        if isinstance(record, EmsRunIn):
            assert isinstance(before, PersonRecordIn)
            assert before.source_key == record.person_key == f"{record.source_key}/patient"
            assert record.call_key


def test_rms_names_a_person_before_facts_refer_to_them(city: tuple[World, Sink]) -> None:
    _, sink = city
    known: set[str] = set()
    for record in sink.records["rms"]:
        if isinstance(record, PersonRecordIn):
            known.add(record.source_key)
        elif person_key := getattr(record, "person_key", None):
            assert person_key in known


def test_hmis_starts_with_organizations_and_projects(city: tuple[World, Sink]) -> None:
    _, sink = city
    records: list[Record] = sink.records["hmis"]
    head = [r for r in records[:7]]

    assert all(isinstance(r, AgencyIn | ProgramIn) for r in head)
    assert not any(isinstance(r, AgencyIn | ProgramIn) for r in records[7:])


def test_frequent_utilizers_account_for_a_large_share_of_named_calls(
    city: tuple[World, Sink],
) -> None:
    world, sink = city
    mentions = Counter(
        person_id for source, _, _, person_id in sink.truth if source in ("cad", "eido")
    )
    top = sorted(mentions.values(), reverse=True)[: max(1, len(world.people) // 50)]

    assert sum(top) / sum(mentions.values()) > 0.2
    assert len(mentions) < 0.7 * len(world.people), "many people never come to attention"


def test_most_calls_name_no_one(city: tuple[World, Sink]) -> None:
    _, sink = city
    subject = CALL_COLUMNS.index("subject_person_id")
    named = sum(1 for row in sink.calls if row[subject])

    assert named / len(sink.calls) < 0.5


def test_calls_follow_the_hour_of_day(city: tuple[World, Sink]) -> None:
    _, sink = city
    hours = Counter(
        r.received_at.hour for r in sink.records["cad"] if isinstance(r, CallIn) and r.received_at
    )

    assert sum(hours[h] for h in range(3, 6)) * 3 < sum(hours[h] for h in range(15, 18))


def test_behavioral_calls_involve_people_with_mental_illness_or_substance_use(
    city: tuple[World, Sink],
) -> None:
    world, sink = city
    type_at, subject_at = CALL_COLUMNS.index("call_type"), CALL_COLUMNS.index("subject_person_id")
    by_id = {p.person_id: p for p in world.people}
    subjects = [
        by_id[row[subject_at]] for row in sink.calls if row[type_at] == "crisis" and row[subject_at]
    ]  # type: ignore[index]
    share = sum(1 for p in subjects if p.mental or p.substance) / len(subjects)
    population = sum(1 for p in world.people if p.mental or p.substance) / len(world.people)

    assert share > 2 * population


def test_some_timestamps_are_bad_as_in_real_cad() -> None:
    _, sink = simulate(CityParams(people=1500, years=1, seed=3))
    units = [r for r in sink.records["cad"] if getattr(r, "call_sign", None)]
    missing = sum(1 for u in units if u.at_scene_at is None)  # type: ignore[attr-defined]
    backwards = sum(
        1
        for u in units
        if u.at_scene_at and u.dispatched_at and u.at_scene_at < u.dispatched_at  # type: ignore[attr-defined]
    )

    assert 0 < missing < len(units) * 0.1
    assert 0 < backwards < len(units) * 0.02


def _rates(sink: Sink, *, covered: bool) -> dict[str, float]:
    at = {name: CALL_COLUMNS.index(name) for name in CALL_COLUMNS}
    rows = [
        r for r in sink.calls
        if r[at["eligible"]] and (r[at["care_team"]] if covered else not r[at["program_scope"]])
    ]  # fmt: skip
    return {
        "n": len(rows),
        "arrest": sum(1 for r in rows if r[at["arrest"]]) / len(rows),
        "hold": sum(1 for r in rows if r[at["involuntary_hold"]]) / len(rows),
        "transport": sum(1 for r in rows if r[at["er_transport"]]) / len(rows),
        "referral": sum(1 for r in rows if r[at["referral"]]) / len(rows),
    }


def test_program_changes_what_happens_on_the_calls_it_attends() -> None:
    strong = ProgramEffects(arrest=-1, involuntary_hold=-1, er_transport=-1, referral=3)
    params = CityParams(people=600, years=1, seed=5, calls_per_person_year=6, effects=strong)
    _, sink = simulate(params)
    attended, elsewhere = _rates(sink, covered=True), _rates(sink, covered=False)

    assert attended["n"] > 100
    assert attended["arrest"] == attended["hold"] == attended["transport"] == 0
    assert elsewhere["arrest"] > 0 and elsewhere["hold"] > 0 and elsewhere["transport"] > 0
    assert attended["referral"] > 2 * elsewhere["referral"]


def test_without_effects_attended_calls_look_like_the_others() -> None:
    none = ProgramEffects(arrest=0, involuntary_hold=0, er_transport=0, referral=0)
    params = CityParams(people=600, years=1, seed=5, calls_per_person_year=6, effects=none)
    _, sink = simulate(params)
    attended = _rates(sink, covered=True)

    assert attended["arrest"] > 0 and attended["transport"] > 0


def test_priority_one_response_time_is_unchanged_in_program_beats() -> None:
    params = CityParams(people=2000, years=1, seed=9, calls_per_person_year=3)
    world, sink = simulate(params)
    program = {world.beats[i].beat for i in world.program_beats}

    def seconds(inside: bool) -> float:
        return median(
            (c.first_arrival_at - c.queued_at).total_seconds()
            for c in sink.records["cad"]
            if isinstance(c, CallIn) and c.priority == 1 and c.first_arrival_at and c.queued_at
            and c.place and (c.place.beat in program) == inside
            and c.queued_at.date().toordinal() >= world.program_start
        )  # fmt: skip

    assert 0.75 < seconds(True) / seconds(False) < 1.33


def test_program_stabilizes_frequent_utilizers_it_meets() -> None:
    effects = ProgramEffects(stabilization_probability=1.0)
    params = CityParams(
        people=800, years=1, seed=4, calls_per_person_year=6, effects=effects,
        program_start_fraction=0.2, baseline_stabilization_per_year=0,
    )  # fmt: skip
    world, sink = simulate(params)
    stabilized = [p for p in world.people if p.stabilized_by_program]
    housed = [p for p in stabilized if p.stabilized_kind == "housing"]
    projects = Counter(r.program_key for r in sink.records["hmis"] if isinstance(r, EnrollmentIn))

    assert stabilized
    assert all(p.frequent and p.first_program_contact is not None for p in stabilized)
    assert all(p.attention < p.initial_attention for p in stabilized)
    if housed:
        assert projects["301"] + projects["302"] >= len(housed)
