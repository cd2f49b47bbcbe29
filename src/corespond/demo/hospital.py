"""What the hospital's EHR records: patients, ER visits (by ambulance or walk-in), stays, holds.

Most people keep one medical record number; a few arriving unidentified by ambulance get a
second ("trauma alias" registrations), as real hospitals do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from corespond.demo.corruption import recorded_identity
from corespond.demo.population import Person
from corespond.demo.world import World, poisson
from corespond.sources.records import HospitalEncounterIn, HospitalEncounterKind, PersonRecordIn

SOURCE = "hospital"
FACILITY = "Mercy General Hospital"
PSYCH_FACILITY = "Mercy General Hospital - Psychiatric Emergency Services"
DUPLICATE_MRN_SHARE = 0.03
WALK_IN_REASONS = (
    "Chest pain", "Abdominal pain", "Shortness of breath", "Laceration", "Back pain", "Fever",
    "Headache", "Fall", "Cellulitis", "Dental pain", "Anxiety", "Alcohol intoxication",
    "Suicidal ideation", "Opioid withdrawal",
)  # fmt: skip


class HospitalRecords:
    """The hospital's patients and encounters."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("hospital")
        self.mrns: dict[int, str] = {}

    def er_visit(
        self, person: Person, arrived: datetime, reason: str, *, by_ambulance: bool
    ) -> None:
        """An ER visit, sometimes followed by an inpatient stay."""
        rng = self.rng
        mrn = self._patient(
            person, arrived, new_registration=by_ambulance and rng.random() < DUPLICATE_MRN_SHARE
        )
        left = arrived + timedelta(minutes=rng.randint(90, 600))
        admitted = rng.random() < (0.12 if person.chronic else 0.07)
        disposition = (
            "admitted"
            if admitted
            else rng.choices(
                ("home", "left-ama", "psy", "shelter"),
                weights=(
                    80,
                    6,
                    4 if person.mental else 0.5,
                    6 if person.housing != "housed" else 0.5,
                ),
            )[0]
        )
        self._encounter(
            mrn, HospitalEncounterKind.ER_VISIT, arrived, left, reason, disposition, FACILITY
        )
        if admitted:
            stay = left + timedelta(hours=rng.randint(30, 200))
            self._encounter(
                mrn, HospitalEncounterKind.INPATIENT, left, stay, reason, "home", FACILITY
            )

    def hold(self, person: Person, started: datetime) -> None:
        """A psychiatric emergency hold: an observation stay of one to three days."""
        mrn = self._patient(person, started, new_registration=False)
        ended = started + timedelta(hours=self.rng.randint(20, 72))
        self._encounter(
            mrn,
            HospitalEncounterKind.OBSERVATION,
            started,
            ended,
            "Psychiatric emergency hold",
            self.rng.choice(("home", "psy")),
            PSYCH_FACILITY,
        )

    def walk_ins(self, day: int) -> None:
        """A day's walk-in ER visits, drawn from people weighted by need."""
        rng, world = self.rng, self.world
        mean = world.params.people * world.params.er_walk_ins_per_person_year / 365.25
        count = poisson(mean, rng)
        for _ in range(count):
            person = world.draw("medical", rng)
            reason = rng.choice(WALK_IN_REASONS)
            self.er_visit(person, world.at(day, rng.randrange(86400)), reason, by_ambulance=False)

    def _patient(self, person: Person, when: datetime, *, new_registration: bool) -> str:
        mrn = self.mrns.get(person.pid)
        if mrn is not None and not new_registration:
            return mrn
        mrn = f"MRN{self.world.next_id('hospital-mrn'):08d}"
        if person.pid not in self.mrns:
            self.mrns[person.pid] = mrn
        identity = recorded_identity(
            person, when.date().toordinal(), self.world.params.rates(SOURCE), self.rng,
            city=self.world.params.name, keep_middle=0.7,
        )  # fmt: skip
        record = PersonRecordIn(source_key=mrn, **identity)
        self.world.sink.emit(SOURCE, record)
        self.world.sink.note_person(SOURCE, record.kind, mrn, person.person_id)
        return mrn

    def _encounter(
        self,
        mrn: str,
        kind: HospitalEncounterKind,
        started: datetime,
        ended: datetime,
        reason: str,
        disposition: str,
        facility: str,
    ) -> None:
        self.world.sink.emit(
            SOURCE,
            HospitalEncounterIn(
                source_key=f"enc-{self.world.next_id('hospital-encounter'):08d}",
                person_key=mrn,
                encounter_kind=kind,
                started_at=started,
                ended_at=ended,
                reason=reason,
                discharge_disposition=disposition,
                facility=facility,
            ),
        )
