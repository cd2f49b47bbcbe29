"""What the police RMS records: a master name index, incidents, arrests, force and holds.

The master name index has one entry per true person the police have met, with the aliases
the department knows; every arrest, use of force and hold refers to that entry. The first
encounter decides how the name was keyed, and it stays that way (as in a real MNI).
"""

from __future__ import annotations

from corespond.demo.calls import SimCall
from corespond.demo.corruption import recorded_identity
from corespond.demo.population import Person
from corespond.demo.world import World
from corespond.sources.records import (
    ArrestIn,
    ArrestType,
    InvoluntaryHoldIn,
    PersonRecordIn,
    PoliceIncidentIn,
    UseOfForceIn,
)

ORI = "OR0260900"
SOURCE = "rms"
HOLD_AUTHORITY = "ORS 426.228 (peace officer custody)"
HOLD_FACILITY = "Mercy General Hospital - Psychiatric Emergency Services"
DEFAULT_OFFENSE = ("90Z", "ALL OTHER OFFENSES")
OFFENSE_BY_TYPE = {
    "crisis": ("90C", "DISORDERLY CONDUCT"),
    "intox": ("90E", "DRUNKENNESS"),
    "traffic_stop": ("90D", "DRIVING UNDER THE INFLUENCE"),
    "person_down": ("90E", "DRUNKENNESS"),
    "welfare": ("90C", "DISORDERLY CONDUCT"),
}
FORCE_TYPES = (
    "Type I - Handcuffing with complaint of pain", "Type I - Pointing a firearm",
    "Type II - Takedown", "Type II - Conducted electrical weapon", "Type II - Oleoresin capsicum",
    "Type III - Strikes or kicks",
)  # fmt: skip


class PoliceRecords:
    """Turns simulated calls into RMS canonical records."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("rms")
        self.person_keys: dict[int, str] = {}

    def emit(self, call: SimCall) -> None:
        """Emit the incident, arrest, force and hold records a call produced (if any)."""
        if not call.report and not call.hold:
            return
        sink, world, year = self.world.sink, self.world, call.received.year
        occurred = call.received
        incident_key: str | None = None
        offense = call.call_type.offense or OFFENSE_BY_TYPE.get(
            call.call_type.code, DEFAULT_OFFENSE
        )
        if call.report:
            incident_key = f"{year}-{world.next_id(f'rms-incident-{year}'):06d}"
            sink.emit(
                SOURCE,
                PoliceIncidentIn(
                    source_key=incident_key,
                    occurred_at=occurred,
                    call_key=call.event,
                    offense_code=offense[0],
                    offense_description=offense[1],
                    weapon=call.call_type.weapon,
                    place=None,
                ),
            )
        subject = call.subject
        if subject is None:
            return
        at_scene = min((u.at_scene for u in call.units if u.at_scene), default=call.queued)
        acted_at = max(at_scene, call.received)
        if call.arrest is not None:
            person_key = self._person(subject, call.day)
            transaction = f"A{year}{world.next_id('rms-arrest'):07d}"
            sink.emit(
                SOURCE,
                ArrestIn(
                    source_key=f"{transaction}/1",
                    person_key=person_key,
                    arrested_at=acted_at,
                    arrest_type=call.arrest,
                    incident_key=incident_key,
                    call_key=call.event,
                    offense_code=offense[0],
                    armed_with="01" if call.call_type.weapon is None else "12",
                ),
            )
            if (
                call.call_type.category == "violent"
                and call.arrest is not ArrestType.SUMMONED_CITED
            ):
                world.history.setdefault(subject.pid, set()).add("violence")
        if call.hold:
            person_key = self._person(subject, call.day)
            sink.emit(
                SOURCE,
                InvoluntaryHoldIn(
                    source_key=f"H{year}-{world.next_id('rms-hold'):05d}",
                    person_key=person_key,
                    started_at=acted_at,
                    call_key=call.event,
                    authority=HOLD_AUTHORITY,
                    facility=HOLD_FACILITY,
                ),
            )
            world.history.setdefault(subject.pid, set()).add("crisis")
        if call.force:
            person_key = self._person(subject, call.day)
            sink.emit(
                SOURCE,
                UseOfForceIn(
                    source_key=f"F{year}-{world.next_id('rms-force'):05d}",
                    person_key=person_key,
                    occurred_at=acted_at,
                    force_type=self.rng.choice(FORCE_TYPES),
                    incident_key=incident_key,
                    call_key=call.event,
                    subject_injured=self.rng.random() < 0.25,
                    officer_injured=self.rng.random() < 0.08,
                    officer_id=f"{self.rng.randrange(4000, 9000)}",
                ),
            )
            world.history.setdefault(subject.pid, set()).add("violence")
            if call.call_type.weapon and self.rng.random() < 0.3:
                world.history[subject.pid].add("weapon")

    def _person(self, person: Person, day: int) -> str:
        """The MNI Person ID of ``person``, writing the entry on first encounter."""
        key = self.person_keys.get(person.pid)
        if key is not None:
            return key
        key = f"{self.world.next_id('rms-person'):07d}"
        self.person_keys[person.pid] = key
        identity = recorded_identity(
            person, day, self.world.params.rates(SOURCE), self.rng,
            city=self.world.params.name, keep_middle=0.8, with_aliases=True,
        )  # fmt: skip
        record = PersonRecordIn(
            source_key=key,
            height_cm=person.height_cm,
            weight_kg=max(1, person.weight_kg),
            hair=person.hair,
            eyes=person.eyes,
            description=person.marks,
            **identity,
        )
        self.world.sink.emit(SOURCE, record)
        self.world.sink.note_person(SOURCE, record.kind, key, person.person_id)
        return key
