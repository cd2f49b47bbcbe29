"""The day loop: calls and what follows them, street and shelter life, treatment, ER walk-ins.

Memory stays flat: a day's calls are generated, turned into records and forgotten before the
next day. Only people, their latent traits and what each source holds open (keys, enrollments)
are kept. Stabilisation of frequent utilizers is decided here because it crosses sources: it
lowers a person's attention (fewer calls) and shows up in HMIS or in treatment records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from corespond.demo.behavioral import BehavioralRecords
from corespond.demo.cad import CadRecords
from corespond.demo.calls import CallGenerator, SimCall
from corespond.demo.ems import EmsRecords
from corespond.demo.hospital import HospitalRecords
from corespond.demo.housing import HousingRecords
from corespond.demo.police import PoliceRecords
from corespond.demo.population import Person
from corespond.demo.world import World
from corespond.sources.records import ArrestType

Progress = Callable[[str, int, int], None]
STABILIZED_ATTENTION = 0.3
"""A stabilised person comes to attention this much as often as before."""


class Simulation:
    """Runs the city day by day, feeding every source's record stream into ``world.sink``."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("stabilization")
        self.calls = CallGenerator(world)
        self.cad = CadRecords(world)
        self.police = PoliceRecords(world)
        self.hospital = HospitalRecords(world)
        self.ems = EmsRecords(world, self.hospital)
        self.housing = HousingRecords(world)
        self.behavioral = BehavioralRecords(world)

    def run(self, progress: Progress | None = None) -> None:
        """Simulate every day from the start date to the last day."""
        world = self.world
        self.housing.start()
        self.behavioral.start(world.first_day)
        total = world.last_day - world.first_day + 1
        for day in range(world.first_day, world.last_day + 1):
            when = date.fromordinal(day)
            if when.day == 1 or day == world.first_day:
                self._month(day, when)
            world.run_due(day)
            for call in self.calls.day(day):
                self._call(call)
            self.housing.day(day)
            self.hospital.walk_ins(day)
            if progress is not None:
                progress("simulate", day - world.first_day + 1, total)

    def _month(self, day: int, when: date) -> None:
        world = self.world
        world.refresh_pools()
        next_month = date(when.year + when.month // 12, when.month % 12 + 1, 1)
        days = min((next_month - when).days, world.last_day - day + 1)
        self.behavioral.month(day, days)
        baseline = world.params.baseline_stabilization_per_year * days / 365.25
        for person in world.people:
            if person.frequent and person.stabilized_on is None and self.rng.random() < baseline:
                world.schedule(
                    day + self.rng.randrange(days), self._stabilizer(person, by_program=False)
                )

    def _call(self, call: SimCall) -> None:
        world = self.world
        self.cad.emit(call)
        self.police.emit(call)
        self.ems.emit(call)
        subject = call.subject
        if subject is not None:
            if call.hold:
                self.hospital.hold(subject, call.queued)
                self.housing.institutional_exit(subject, call.day, jail=False)
            elif call.arrest is ArrestType.TAKEN_INTO_CUSTODY:
                self.housing.institutional_exit(subject, call.day, jail=True)
            if call.referral:
                self.housing.refer(subject, call.day)
                self.behavioral.refer(subject, call.day)
            if call.covered:
                self._program_contact(subject, call.day)
            if call.call_type.category == "behavioral":
                world.history.setdefault(subject.pid, set()).add("crisis")
        world.sink.note_call(_truth_row(call))

    def _program_contact(self, person: Person, day: int) -> None:
        if person.first_program_contact is not None:
            return
        person.first_program_contact = day
        chance = self.world.params.effects.stabilization_probability
        if person.frequent and person.stabilized_on is None and self.rng.random() < chance:
            self.world.schedule(
                day + self.rng.randint(14, 120), self._stabilizer(person, by_program=True)
            )

    def _stabilizer(self, person: Person, *, by_program: bool) -> Callable[[int], None]:
        def stabilize(day: int) -> None:
            if person.stabilized_on is not None:
                return
            person.stabilized_on = day
            person.stabilized_by_program = by_program
            person.attention *= STABILIZED_ATTENTION
            if person.housing != "housed":
                person.stabilized_kind = "housing"
                self.housing.house(person, day)
            else:
                person.stabilized_kind = "treatment"
                self.behavioral.engage(person, day)

        return stabilize


def _truth_row(call: SimCall) -> tuple[object, ...]:
    subject = call.subject
    return (
        call.event,
        call.received.isoformat(),
        call.beat.beat,
        call.call_type.code,
        call.priority,
        call.source.value,
        int(call.eligible),
        int(call.in_scope),
        int(call.covered),
        subject.person_id if subject else "",
        call.arrest.value if call.arrest else "",
        int(call.hold),
        int(call.force),
        int(call.transport),
        int(call.referral),
    )
