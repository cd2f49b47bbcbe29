"""Calls built by hand in the store, for outcome tests whose every answer is known exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

from corespond import models
from corespond.db.engine import unit_of_work

_keys = count(1)
# January: Los Angeles is UTC-8, so 18:00 UTC is 10:00 local (program hours 7-23).
DAY = datetime(2024, 1, 10, 18, 0)


class City:
    """A CAD, an RMS and an EMS source, one program in beat B1 from 2024-01-01, 07-23 h."""

    def __init__(self) -> None:
        with unit_of_work() as session:
            self.sources = {}
            for name in ("cad", "rms", "ems"):
                system = models.SourceSystem(name=f"test-{name}", format=name)
                session.add(system)
                session.flush()
                self.sources[name] = system.id
            jurisdiction = models.SourceSystem(name="test-jurisdiction", format="jurisdiction")
            session.add(jurisdiction)
            session.flush()
            session.add(
                models.Program(
                    source_system_id=jurisdiction.id, source_key="care", name="Test CARE",
                    program_type="co_response", start_date=date(2024, 1, 1), hours_start=7,
                    hours_end=23, beats="B1", content_hash="x", data_category="identity",
                )
            )  # fmt: skip
            self.places = {}
            for beat, hood in (("B1", "Downtown"), ("B2", "Riverside")):
                place = models.Place(place_key=f"1 main st {beat}", beat=beat, sector="S",
                                     precinct="North", neighborhood=hood)  # fmt: skip
                session.add(place)
                session.flush()
                self.places[beat] = place.id

    def run(self, source: str, status: str = "completed") -> int:
        with unit_of_work() as session:
            run = models.IngestRun(source_system_id=self.sources[source], format=source,
                                   status=status)  # fmt: skip
            session.add(run)
            session.flush()
            return run.id

    def _provenance(self, source: str, run: int) -> dict[str, object]:
        return {
            "source_system_id": self.sources[source], "source_key": f"k{next(_keys)}",
            "ingest_run_id": run, "content_hash": "x", "data_category": "call_incident",
        }  # fmt: skip

    def call(
        self,
        run: int,
        *,
        at: datetime = DAY,
        call_type: str = "CRISIS - PERSON IN BEHAVIORAL/EMOTIONAL CRISIS",
        source: str = "911",
        priority: int = 2,
        beat: str = "B1",
        dispatch_s: float = 60,
        travel_s: float = 240,
        scene_s: float = 1200,
        units: tuple[str, ...] = ("police",),
    ) -> int:
        with unit_of_work() as session:
            arrived = at + timedelta(seconds=dispatch_s + travel_s)
            call = models.CallForService(
                **self._provenance("cad", run), call_source=source, priority=priority,
                initial_call_type=call_type, received_at=at, queued_at=at,
                dispatched_at=at + timedelta(seconds=dispatch_s), first_arrival_at=arrived,
                cleared_at=arrived + timedelta(seconds=scene_s), place_id=self.places[beat],
            )  # fmt: skip
            session.add(call)
            session.flush()
            for kind in units:
                session.add(
                    models.UnitResponse(
                        **self._provenance("cad", run), call_key=call.source_key,
                        call_id=call.id, call_sign=f"{kind[:2]}1", responder_type=kind,
                        dispatched_at=call.dispatched_at, at_scene_at=arrived,
                        in_service_at=call.cleared_at,
                    )
                )  # fmt: skip
            return call.id

    def person(self, run: int, *, person_id: int | None = None, race: str = "White") -> int:
        with unit_of_work() as session:
            record = models.PersonRecord(**self._provenance("cad", run), first_name="Test",
                                         last_name="Person", race=race, sex="F")  # fmt: skip
            session.add(record)
            session.flush()
            if person_id is None:
                person = models.Person()
                session.add(person)
                session.flush()
                person_id = person.id
            session.add(models.PersonLink(person_record_id=record.id, person_id=person_id,
                                          method="test"))  # fmt: skip
            return record.id

    def name(self, run: int, call_id: int, record_id: int, role: str = "subject") -> None:
        with unit_of_work() as session:
            named = models.CallPerson(
                **self._provenance("cad", run), call_key="x", call_id=call_id,
                person_record_id=record_id, role=role,
            )  # fmt: skip
            session.add(named)

    def arrest(
        self, run: int, call_id: int, record_id: int, kind: str = "taken_into_custody"
    ) -> None:
        with unit_of_work() as session:
            session.add(
                models.Arrest(**self._provenance("rms", run), person_record_id=record_id,
                              arrested_at=DAY, arrest_type=kind, call_id=call_id)
            )  # fmt: skip

    def transport(self, run: int, call_id: int, destination: str | None = "4221003") -> None:
        with unit_of_work() as session:
            session.add(
                models.EmsRun(**self._provenance("ems", run), call_id=call_id, transported=True,
                              destination_type=destination)
            )  # fmt: skip
