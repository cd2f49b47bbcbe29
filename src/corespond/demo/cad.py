"""What the 911 center's CAD records of a call: the event, its units, the people named.

Older calls go to the ``cad`` stream (the Seattle-style CSV export, block-level addresses and
coordinates); the last ``live_days`` go to the ``eido`` stream (the live feed, exact address,
and the cautions the CAD holds about the people named). CADs do not deduplicate names: every
mention is its own person record.
"""

from __future__ import annotations

from corespond.demo.calls import SimCall
from corespond.demo.corruption import recorded_identity
from corespond.demo.geography import CITY_STATE, block_of
from corespond.demo.population import Person
from corespond.demo.world import World
from corespond.sources.records import (
    AddressIn,
    CallIn,
    CallPersonIn,
    CautionIn,
    CautionSeverity,
    PersonRecordIn,
    PlaceIn,
    UnitResponseIn,
)

AGENCY_KEY = "metro-911"
REDACTED_SHARE = 0.02
CAUTIONS = {
    # history flag: (caution type, severity, description)
    "violence": (
        "VIOLENT HISTORY",
        CautionSeverity.HIGH,
        "Prior use of force / assaultive on arrest",
    ),
    "weapon": ("WEAPONS", CautionSeverity.HIGHEST, "Known to carry a weapon"),
    "crisis": (
        "MENTAL HEALTH",
        CautionSeverity.NORMAL,
        "History of behavioral crisis; approach calmly",
    ),
    "overdose": ("OVERDOSE HISTORY", CautionSeverity.LOW, "Prior overdose; bring naloxone"),
}


class CadRecords:
    """Turns simulated calls into CAD / EIDO canonical records."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("cad-identity")
        self.city = world.params.name

    def emit(self, call: SimCall) -> None:
        """Emit ``call`` with its units and people, in the writers' order contract."""
        live = call.day >= self.world.live_from
        source = "eido" if live else "cad"
        sink = self.world.sink
        sink.emit(source, self._call(call, live))
        for unit in call.units:
            dispatched = unit.dispatched.isoformat() if unit.dispatched else ""
            key = f"{call.event}/{unit.call_sign}/{dispatched}"
            sink.emit(
                source,
                UnitResponseIn(
                    source_key=key,
                    call_key=call.event,
                    call_sign=unit.call_sign,
                    responder_type=unit.responder,
                    dispatched_at=unit.dispatched,
                    en_route_at=unit.en_route,
                    at_scene_at=unit.at_scene,
                    in_service_at=unit.in_service,
                ),
            )
        for number, (person, role) in enumerate(call.people, start=1):
            if live:
                person_key = f"{call.event}/P{number}"
            else:
                person_key = f"N{self.world.next_id('cad-name'):09d}"
            self._person(source, person_key, person, call.day)
            sink.emit(
                source,
                CallPersonIn(
                    source_key=f"{call.event}/{person_key.rsplit('/', 1)[-1]}",
                    call_key=call.event,
                    person_key=person_key,
                    role=role,
                ),
            )
            if live:
                self._cautions(call, person, person_key)

    def _call(self, call: SimCall, live: bool) -> CallIn:
        address, beat = call.address, call.beat
        redacted = not live and self.rng.random() < REDACTED_SHARE
        precision = 6 if live else 3
        dispatched = [u.dispatched for u in call.units if u.dispatched]
        arrived = [u.at_scene for u in call.units if u.at_scene]
        cleared = [u.in_service for u in call.units if u.in_service]
        return CallIn(
            source_key=call.event,
            call_source=call.source,
            priority=call.priority,
            initial_call_type=call.call_type.name,
            final_call_type=call.final_type.name,
            disposition=call.disposition,
            received_at=call.received,
            queued_at=call.queued,
            dispatched_at=min(dispatched) if dispatched else None,
            first_arrival_at=min(arrived) if arrived else None,
            cleared_at=max(cleared) if cleared else call.queued,
            place=PlaceIn(
                street=address.street if live else block_of(address.street),
                city=self.city,
                state=CITY_STATE,
                zip=address.zip,
                latitude=None if redacted else round(address.latitude, precision),
                longitude=None if redacted else round(address.longitude, precision),
                beat=beat.beat,
                sector=beat.sector,
                precinct=beat.precinct,
                neighborhood=beat.neighborhood,
            ),
            agency_key=AGENCY_KEY,
        )

    def _person(self, source: str, key: str, person: Person, day: int) -> None:
        identity = recorded_identity(
            person, day, self.world.params.rates(source), self.rng, city=self.city, keep_middle=0.2
        )
        identity["ssn"] = None
        if identity["address"] is None and person.housing != "housed" and self.rng.random() < 0.5:
            identity["address"] = AddressIn(street="TRANSIENT", city=self.city, state=CITY_STATE)
        record = PersonRecordIn(source_key=key, **identity)
        self.world.sink.emit(source, record)
        self.world.sink.note_person(source, record.kind, key, person.person_id)

    def _cautions(self, call: SimCall, person: Person, person_key: str) -> None:
        for number, flag in enumerate(sorted(self.world.history.get(person.pid, ())), start=1):
            caution_type, severity, description = CAUTIONS[flag]
            self.world.sink.emit(
                "eido",
                CautionIn(
                    source_key=f"{person_key}/C{number}",
                    person_key=person_key,
                    call_key=call.event,
                    caution_type=caution_type,
                    severity=severity,
                    description=description,
                    source="Metro 911 person file",
                ),
            )
