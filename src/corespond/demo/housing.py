"""What the HMIS records: clients, shelter and outreach enrollments, bed nights, contacts, exits.

People without a home move between the street (outreach contacts) and a night-by-night shelter
(bed nights). Some leave homelessness on their own, some go to jail or a psychiatric unit, and
new people lose their housing, so the count stays roughly level. Stabilisation (the program's
or the baseline's) places a person in permanent supportive housing or rapid rehousing: an
enrollment with a move-in date, and exits from shelter and outreach to a permanent destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from corespond.demo.corruption import recorded_identity
from corespond.demo.geography import random_address
from corespond.demo.population import Person
from corespond.demo.world import World, poisson
from corespond.sources.records import (
    AgencyIn,
    AgencyKind,
    EnrollmentExitIn,
    EnrollmentIn,
    PersonRecordIn,
    ProgramIn,
    ServiceIn,
    ServiceKind,
)

SOURCE = "hmis"
SHELTER, OUTREACH, PSH, RRH = "101", "201", "301", "302"
ORGANIZATIONS = (
    ("10", "Harbor Light Mission", AgencyKind.NONPROFIT),
    ("20", "Open Door Outreach", AgencyKind.NONPROFIT),
    ("30", "Riverbend Housing Authority", AgencyKind.HOMELESS_SERVICES),
)
PROJECTS = (
    # ProjectID, name, organization, program type, HMIS ProjectType
    (SHELTER, "Harbor Light Night Shelter", "10", "emergency_shelter", 1),
    (OUTREACH, "Downtown Street Outreach", "20", "street_outreach", 4),
    (PSH, "Riverbend Permanent Supportive Housing", "30", "permanent_supportive_housing", 3),
    (RRH, "Riverbend Rapid Rehousing", "30", "rapid_rehousing", 13),
)
PLACE_NOT_MEANT, EMERGENCY_SHELTER = 116, 101
RENTAL_NO_SUBSIDY, RENTAL_SUBSIDY, FAMILY_PERMANENT = 410, 435, 422
PSYCHIATRIC, JAIL = 204, 207
BED_NIGHT_RECORD_TYPE = 200
PATH_REFERRAL_RECORD_TYPE = 161
DAILY_OUTREACH_CONTACT = 0.06
DAILY_SHELTER_ENTRY = 0.012
DAILY_SHELTER_LEAVE = 0.012
DAILY_SELF_RESOLVE = 0.0007
BED_NIGHT_SHARE = 0.85


@dataclass(slots=True)
class Client:
    """What HMIS holds open for one person."""

    key: str
    outreach: str | None = None
    shelter: str | None = None


class HousingRecords:
    """HMIS clients, enrollments, services and exits."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("hmis")
        self.clients: dict[int, Client] = {}
        self.homeless: dict[int, None] = {
            p.pid: None for p in world.people if p.housing != "housed"
        }
        self.at_risk = [
            p.pid for p in world.people
            if p.housing == "housed" and (p.mental == 2 or p.substance)
            and p.age_on(world.params.start) >= 18
        ]  # fmt: skip

    def start(self) -> None:
        """Emit the organisations and projects (the writers' order contract: these first)."""
        start = self.world.params.start
        for key, name, kind in ORGANIZATIONS:
            self.world.sink.emit(SOURCE, AgencyIn(source_key=key, name=name, agency_kind=kind))
        for key, name, organization, program_type, project_type in PROJECTS:
            self.world.sink.emit(
                SOURCE,
                ProgramIn(
                    source_key=key,
                    name=name,
                    agency_key=organization,
                    program_type=program_type,
                    hmis_project_type=project_type,
                    start_date=date(start.year - 8, 7, 1),
                ),
            )

    def day(self, day: int) -> None:
        """One day of street and shelter life for everyone without a home."""
        rng, world = self.rng, self.world
        for pid in list(self.homeless):
            person = world.people[pid]
            if person.housing == "unsheltered":
                if rng.random() < DAILY_OUTREACH_CONTACT:
                    self._outreach_contact(person, day)
                if rng.random() < DAILY_SHELTER_ENTRY:
                    person.housing = "sheltered"
            elif person.housing == "sheltered":
                if rng.random() < DAILY_SHELTER_LEAVE:
                    self._exit_shelter(person, day, PLACE_NOT_MEANT)
                    person.housing = "unsheltered"
                elif rng.random() < BED_NIGHT_SHARE:
                    self._bed_night(person, day)
            if not person.frequent and rng.random() < DAILY_SELF_RESOLVE:
                self._rehouse(person, day, rng.choice((FAMILY_PERMANENT, RENTAL_NO_SUBSIDY)))
        for _ in range(poisson(len(self.homeless) * DAILY_SELF_RESOLVE, rng)):
            person = world.people[rng.choice(self.at_risk)]
            if person.housing == "housed" and person.stabilized_on is None:
                person.housing = "unsheltered"
                person.addresses.append((day, None))
                self.homeless[person.pid] = None

    def refer(self, person: Person, day: int) -> None:
        """A referral from a call: recorded on the outreach enrollment of a homeless person."""
        if person.housing == "housed":
            return
        client = self._client(person, day)
        enrollment = client.outreach or self._enroll(person, OUTREACH, day, PLACE_NOT_MEANT)
        client.outreach = enrollment
        self.world.sink.emit(
            SOURCE,
            ServiceIn(
                source_key=f"S{self.world.next_id('hmis-service'):09d}",
                person_key=client.key,
                provided_on=date.fromordinal(day),
                service_kind=ServiceKind.REFERRAL,
                enrollment_key=enrollment,
                record_type=PATH_REFERRAL_RECORD_TYPE,
                type_provided=4,
                description="Referral to housing navigation",
            ),
        )

    def house(self, person: Person, day: int) -> None:
        """Stabilisation in housing: PSH or RRH with a move-in date; earlier enrollments exit."""
        rng = self.rng
        project = PSH if person.mental == 2 or (person.frequent and rng.random() < 0.6) else RRH
        move_in = day + rng.randint(7, 60)
        self._enroll(
            person,
            project,
            day,
            PLACE_NOT_MEANT if person.housing == "unsheltered" else EMERGENCY_SHELTER,
            move_in=move_in if move_in <= self.world.last_day else None,
        )
        self._rehouse(person, min(move_in, self.world.last_day), RENTAL_SUBSIDY)

    def institutional_exit(self, person: Person, day: int, *, jail: bool) -> None:
        """A shelter stay that ends in jail or a psychiatric unit."""
        if person.housing == "sheltered" and self.rng.random() < 0.5:
            self._exit_shelter(person, day, JAIL if jail else PSYCHIATRIC)
            person.housing = "unsheltered"

    def _rehouse(self, person: Person, day: int, destination: int) -> None:
        client = self.clients.get(person.pid)
        if client is not None:
            for enrollment in (client.shelter, client.outreach):
                if enrollment:
                    self._exit(person, enrollment, day, destination)
            client.shelter = client.outreach = None
        person.housing = "housed"
        beat = self.world.beats[self.rng.randrange(len(self.world.beats))]
        person.addresses.append((day, random_address(beat, self.rng)))
        self.homeless.pop(person.pid, None)

    def _outreach_contact(self, person: Person, day: int) -> None:
        client = self._client(person, day)
        client.outreach = client.outreach or self._enroll(person, OUTREACH, day, PLACE_NOT_MEANT)
        self.world.sink.emit(
            SOURCE,
            ServiceIn(
                source_key=f"CLS/{self.world.next_id('hmis-contact'):09d}",
                person_key=client.key,
                provided_on=date.fromordinal(day),
                service_kind=ServiceKind.OUTREACH_CONTACT,
                enrollment_key=client.outreach,
                living_situation=PLACE_NOT_MEANT,
            ),
        )

    def _bed_night(self, person: Person, day: int) -> None:
        client = self._client(person, day)
        client.shelter = client.shelter or self._enroll(person, SHELTER, day, PLACE_NOT_MEANT)
        self.world.sink.emit(
            SOURCE,
            ServiceIn(
                source_key=f"S{self.world.next_id('hmis-service'):09d}",
                person_key=client.key,
                provided_on=date.fromordinal(day),
                service_kind=ServiceKind.BED_NIGHT,
                enrollment_key=client.shelter,
                record_type=BED_NIGHT_RECORD_TYPE,
                type_provided=BED_NIGHT_RECORD_TYPE,
            ),
        )

    def _exit_shelter(self, person: Person, day: int, destination: int) -> None:
        client = self.clients.get(person.pid)
        if client is not None and client.shelter is not None:
            self._exit(person, client.shelter, day, destination)
            client.shelter = None

    def _client(self, person: Person, day: int) -> Client:
        client = self.clients.get(person.pid)
        if client is None:
            key = f"{self.world.next_id('hmis-client')}"
            client = self.clients[person.pid] = Client(key)
            identity = recorded_identity(
                person, day, self.world.params.rates(SOURCE), self.rng,
                city=self.world.params.name, keep_middle=0.4, vocabulary="hmis",
            )  # fmt: skip
            identity.update(address=None, phone=None)
            record = PersonRecordIn(source_key=key, **identity)
            self.world.sink.emit(SOURCE, record)
            self.world.sink.note_person(SOURCE, record.kind, key, person.person_id)
        return client

    def _enroll(
        self, person: Person, project: str, day: int, living: int, *, move_in: int | None = None
    ) -> str:
        client = self._client(person, day)
        key = f"E{self.world.next_id('hmis-enrollment'):08d}"
        self.world.sink.emit(
            SOURCE,
            EnrollmentIn(
                source_key=key,
                person_key=client.key,
                program_key=project,
                entry_date=date.fromordinal(day),
                move_in_date=date.fromordinal(move_in) if move_in else None,
                household_id=f"H{key[1:]}",
                living_situation=living,
            ),
        )
        return key

    def _exit(self, person: Person, enrollment: str, day: int, destination: int) -> None:
        client = self.clients[person.pid]
        self.world.sink.emit(
            SOURCE,
            EnrollmentExitIn(
                source_key=f"X{self.world.next_id('hmis-exit'):08d}",
                enrollment_key=enrollment,
                person_key=client.key,
                exit_date=date.fromordinal(day),
                destination=destination,
            ),
        )
