"""What the behavioral-health providers record (one FHIR export, two programs).

Riverbend Community Mental Health serves people with mental illness; Harbor Recovery Services
is a federally assisted substance-use program under 42 CFR Part 2, whose every record is marked
Part 2 (``data_category`` ``substance_use_part2``, ``part2=True``). Each program registers its
own patients, so one person in both is two Patient resources. Some patients consent to share
with the care team or the police; some of those consents are later revoked or run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from corespond.demo.corruption import recorded_identity
from corespond.demo.population import Person
from corespond.demo.world import World, poisson
from corespond.sources.records import (
    ConditionIn,
    ConsentDecision,
    ConsentIn,
    ConsentStatus,
    DataCategory,
    PersonRecordIn,
    TreatmentEncounterIn,
)

SOURCE = "behavioral"
MENTAL_HEALTH, PART2 = "cmhc", "hrs"
PROVIDERS = {MENTAL_HEALTH: "Riverbend Community Mental Health", PART2: "Harbor Recovery Services"}
CARE_TEAM = "Riverbend CARE Team"
POLICE = "Riverbend Police Department"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SERIOUS = (
    ("F20.9", "Schizophrenia, unspecified"),
    ("F25.0", "Schizoaffective disorder, bipolar type"),
    ("F31.9", "Bipolar disorder, unspecified"),
)
MODERATE = (
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F43.10", "Post-traumatic stress disorder"),
)
SUBSTANCE = {
    "opioid": ("F11.20", "Opioid dependence, uncomplicated"),
    "alcohol": ("F10.20", "Alcohol dependence, uncomplicated"),
    "stimulant": ("F15.20", "Other stimulant dependence, uncomplicated"),
}
VISIT_TYPES = {
    MENTAL_HEALTH: (
        "Psychotherapy, 45 minutes",
        "Medication management",
        "Case management",
        "Crisis intervention",
    ),
    PART2: ("Individual counseling", "Group counseling", "Medication-assisted treatment visit"),
}
MONTHLY_VISITS = {MENTAL_HEALTH: 1.3, PART2: 2.2}
MONTHLY_DROPOUT = 0.03
INTAKE_AFTER_REFERRAL = 0.45
CONSENT_CARE_TEAM, CONSENT_POLICE, CONSENT_REVOKED, CONSENT_ONE_YEAR = 0.35, 0.15, 0.2, 0.3


@dataclass(slots=True)
class Patient:
    """One registration with one program."""

    key: str
    active: bool = True


class BehavioralRecords:
    """Patients, conditions, consents and treatment encounters of both programs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("behavioral")
        self.patients: dict[tuple[str, int], Patient] = {}

    def start(self, day: int) -> None:
        """Register the people already in treatment when the simulation starts."""
        rng = self.rng
        for person in self.world.people:
            if (person.mental == 2 and rng.random() < 0.55) or (
                person.mental == 1 and rng.random() < 0.08
            ):
                self._register(MENTAL_HEALTH, person, day - rng.randrange(30, 1500))
            if person.substance and rng.random() < (0.35 if person.substance == "opioid" else 0.15):
                self._register(PART2, person, day - rng.randrange(30, 900))

    def month(self, day: int, days_in_month: int) -> None:
        """A month of visits for every active patient; some stop coming."""
        rng = self.rng
        for (program, pid), patient in self.patients.items():
            if not patient.active:
                continue
            person = self.world.people[pid]
            rate = MONTHLY_VISITS[program] * (1.6 if person.stabilized_kind == "treatment" else 1.0)
            visits = sorted(rng.randrange(days_in_month) for _ in range(poisson(rate, rng)))
            for offset in visits:
                self._visit(
                    program, patient, person, day + offset, rng.choice(VISIT_TYPES[program])
                )
            if rng.random() < MONTHLY_DROPOUT and person.stabilized_kind != "treatment":
                patient.active = False

    def refer(self, person: Person, day: int) -> None:
        """A referral from a call: sometimes an intake visit follows within three weeks."""
        if not (person.mental or person.substance) or self.rng.random() >= INTAKE_AFTER_REFERRAL:
            return
        program = (
            PART2
            if person.substance and (not person.mental or self.rng.random() < 0.5)
            else MENTAL_HEALTH
        )
        self.world.schedule(
            day + self.rng.randint(2, 21), lambda d: self.engage(person, d, program)
        )

    def engage(self, person: Person, day: int, program: str | None = None) -> None:
        """Start (or restart) treatment: register if new, and an intake visit today."""
        program = program or (PART2 if person.substance and not person.mental else MENTAL_HEALTH)
        patient = self.patients.get((program, person.pid)) or self._register(program, person, day)
        patient.active = True
        self._visit(program, patient, person, day, "Intake assessment")

    def _register(self, program: str, person: Person, day: int) -> Patient:
        rng, sink, part2 = self.rng, self.world.sink, program == PART2
        category = DataCategory.SUBSTANCE_USE_PART2 if part2 else None
        key = f"{program}-{self.world.next_id(f'behavioral-{program}'):07d}"
        patient = self.patients[(program, person.pid)] = Patient(key)
        identity = recorded_identity(
            person, max(day, self.world.first_day), self.world.params.rates(SOURCE), rng,
            city=self.world.params.name, keep_middle=0.8,
        )  # fmt: skip
        record = PersonRecordIn(source_key=key, data_category=category, **identity)
        sink.emit(SOURCE, record)
        sink.note_person(SOURCE, record.kind, key, person.person_id)
        since = date.fromordinal(day)
        diagnoses = []
        if part2:
            diagnoses.append(SUBSTANCE.get(person.substance, SUBSTANCE["alcohol"]))
        else:
            diagnoses.append(rng.choice(SERIOUS if person.mental == 2 else MODERATE))
        for code, display in diagnoses:
            sink.emit(
                SOURCE,
                ConditionIn(
                    source_key=f"cond-{self.world.next_id('behavioral-condition'):08d}",
                    person_key=key, code=code, code_system=ICD10, display=display,
                    clinical_status="active",
                    onset=since - timedelta(days=rng.randrange(200, 4000)),
                    recorded_on=since, part2=part2, data_category=category,
                ),
            )  # fmt: skip
        self._consents(key, since, part2=part2)
        return patient

    def _consents(self, key: str, signed: date, *, part2: bool) -> None:
        rng, end = self.rng, date.fromordinal(self.world.last_day)
        grants: list[tuple[str, tuple[str, ...], tuple[DataCategory, ...]]] = []
        own = DataCategory.SUBSTANCE_USE_PART2 if part2 else DataCategory.BEHAVIORAL_HEALTH
        if rng.random() < CONSENT_CARE_TEAM:
            grants.append((CARE_TEAM, ("care_coordination", "treatment"), (own,)))
            if rng.random() < CONSENT_POLICE / CONSENT_CARE_TEAM:
                grants.append((POLICE, ("emergency_response",), (DataCategory.SAFETY, own)))
        for recipient, purposes, categories in grants:
            status, period_end, details = ConsentStatus.ACTIVE, None, None
            if rng.random() < CONSENT_ONE_YEAR:
                period_end = signed + timedelta(days=365)
            if rng.random() < CONSENT_REVOKED:
                revoked = signed + timedelta(days=rng.randrange(30, 700))
                if revoked <= end:
                    status, period_end = ConsentStatus.INACTIVE, revoked
                    details = f"Revoked by patient on {revoked.isoformat()}"
            if part2:
                details = (
                    f"42 CFR 2.31: patient named; from {PROVIDERS[PART2]}; to {recipient}; "
                    f"purpose {', '.join(purposes)}; SUD treatment records; "
                    f"expires {period_end.isoformat() if period_end else 'on revocation'}; "
                    f"signed {signed.isoformat()}" + (f"; {details}" if details else "")
                )
            self.world.sink.emit(
                SOURCE,
                ConsentIn(
                    source_key=f"consent-{self.world.next_id('behavioral-consent'):07d}",
                    person_key=key, status=status, decision=ConsentDecision.PERMIT,
                    recipient=recipient, purposes=purposes, categories=categories,
                    period_start=signed, period_end=period_end, signed_on=signed, part2=part2,
                    details=details,
                    data_category=DataCategory.SUBSTANCE_USE_PART2 if part2 else None,
                ),
            )  # fmt: skip

    def _visit(self, program: str, patient: Patient, person: Person, day: int, kind: str) -> None:
        if day > self.world.last_day:
            return
        part2 = program == PART2
        started = self.world.at(day, self.rng.randrange(8 * 3600, 17 * 3600))
        self.world.sink.emit(
            SOURCE,
            TreatmentEncounterIn(
                source_key=f"enc-{self.world.next_id('behavioral-encounter'):08d}",
                person_key=patient.key, started_at=started,
                ended_at=started + timedelta(minutes=self.rng.choice((30, 45, 50, 60))),
                status="finished", encounter_class="AMB", encounter_type=kind,
                part2=part2, provider=PROVIDERS[program],
                data_category=DataCategory.SUBSTANCE_USE_PART2 if part2 else None,
            ),
        )  # fmt: skip
