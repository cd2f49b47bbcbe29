"""What fire/EMS records: a NEMSIS patient care report for each EMS unit's run on a call.

The run carries the CAD event number (eResponse.03), the unit's CAD times, a primary impression
(ICD-10-CM) and the eDisposition codes. A transport to Mercy General becomes an ER visit in the
hospital's records; transports to St. Brigid go to a hospital that does not share data.
"""

from __future__ import annotations

from datetime import timedelta

from corespond.demo.calls import SimCall
from corespond.demo.corruption import recorded_identity
from corespond.demo.hospital import FACILITY, HospitalRecords
from corespond.demo.population import Person
from corespond.demo.world import World
from corespond.sources.records import EmsRunIn, PersonRecordIn, PlaceIn, ResponderType

SOURCE = "nemsis"
OTHER_HOSPITAL = "St. Brigid Medical Center"
PATIENT_CONTACT = "4227001"
EVALUATED_CARE_PROVIDED = "4228001"
EVALUATED_REFUSED = "4228003"
EVALUATED_NO_CARE = "4228005"
SUPPORT_SERVICES = "4228009"
TRANSPORTED = "4230001"
REFUSED_TRANSPORT = "4230009"
NO_TRANSPORT = "4230013"
DESTINATION_ED = "4221003"
IMPRESSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # Impressions only: NEMSIS refuses cause-of-injury codes (V00-Y99) in eSituation.11.
    "overdose": (("T40.411A", "Fentanyl poisoning"), ("T40.1X1A", "Heroin poisoning"),
                 ("T43.621A", "Amphetamine poisoning")),
    "crisis": (("F99", "Mental disorder, unspecified"), ("R45.851", "Suicidal ideations"),
               ("F41.9", "Anxiety disorder")),
    "suicide": (("R45.851", "Suicidal ideations"), ("T14.91XA", "Suicide attempt")),
    "person_down": (("F10.129", "Alcohol intoxication"), ("R53.83", "Fatigue"), ("R55", "Syncope")),
    "intox": (("F10.129", "Alcohol intoxication"),),
    "assault": (("T14.90XA", "Injury, unspecified"), ("S09.90XA", "Head injury")),
    "dv": (("T14.90XA", "Injury, unspecified"),),
    "collision": (("T14.90XA", "Injury, unspecified"), ("S13.4XXA", "Neck sprain")),
    "medical": (("R07.9", "Chest pain"), ("R06.02", "Shortness of breath"), ("R55", "Syncope"),
                ("E16.2", "Hypoglycemia"), ("R56.9", "Seizure"), ("S09.90XA", "Head injury")),
}  # fmt: skip
DEFAULT_IMPRESSION = (("R69", "Illness, unspecified"),)


class EmsRecords:
    """Turns EMS runs on simulated calls into NEMSIS canonical records."""

    def __init__(self, world: World, hospital: HospitalRecords) -> None:
        self.world = world
        self.hospital = hospital
        self.rng = world.rng("nemsis")

    def emit(self, call: SimCall) -> None:
        """Emit the patient and the patient care report of each EMS unit on ``call``."""
        units = [u for u in call.units if u.responder is ResponderType.EMS]
        if not units:
            return
        rng, world = self.rng, self.world
        unit = units[0]
        patient = call.subject or (call.people[0][0] if call.people else None)
        if patient is None:
            pool = "substance" if call.call_type.code == "overdose" else "medical"
            patient = world.draw(pool, rng)
        pcr = f"PCR{call.received.year}{world.next_id('nemsis-pcr'):07d}"
        self._patient(pcr, patient, call.day)
        code, impression = rng.choice(IMPRESSIONS.get(call.call_type.code, DEFAULT_IMPRESSION))
        at_scene = unit.at_scene or unit.dispatched or call.queued
        left_scene = at_destination = None
        destination = None
        if call.transport:
            left_scene = at_scene + timedelta(minutes=rng.randint(8, 28))
            at_destination = left_scene + timedelta(minutes=rng.randint(6, 22))
            destination = FACILITY if rng.random() < 0.8 else OTHER_HOSPITAL
            evaluation, transport = EVALUATED_CARE_PROVIDED, TRANSPORTED
        elif call.call_type.code in ("crisis", "welfare", "person_down", "intox"):
            evaluation = rng.choice((EVALUATED_NO_CARE, SUPPORT_SERVICES, EVALUATED_REFUSED))
            transport = REFUSED_TRANSPORT if evaluation == EVALUATED_REFUSED else NO_TRANSPORT
        else:
            evaluation = rng.choice((EVALUATED_CARE_PROVIDED, EVALUATED_REFUSED, EVALUATED_NO_CARE))
            transport = REFUSED_TRANSPORT if evaluation == EVALUATED_REFUSED else NO_TRANSPORT
        address = call.address
        world.sink.emit(
            SOURCE,
            EmsRunIn(
                source_key=pcr,
                person_key=f"{pcr}/patient",
                call_key=call.event,
                unit_call_sign=unit.call_sign,
                psap_call_at=call.received,
                dispatched_at=unit.dispatched,
                en_route_at=unit.en_route,
                at_scene_at=unit.at_scene,
                left_scene_at=left_scene,
                at_destination_at=at_destination,
                in_service_at=(at_destination + timedelta(minutes=rng.randint(12, 40)))
                if at_destination
                else unit.in_service,
                primary_impression=code,
                unit_disposition=PATIENT_CONTACT,
                patient_evaluation=evaluation,
                transport_disposition=transport,
                transported=call.transport,
                destination_type=DESTINATION_ED if call.transport else None,
                destination_name=destination,
                place=PlaceIn(
                    street=address.street,
                    city=world.params.name,
                    zip=address.zip,
                    latitude=address.latitude,
                    longitude=address.longitude,
                    beat=call.beat.beat,
                ),
            ),
        )
        if call.call_type.code == "overdose" and call.subject is not None:
            world.history.setdefault(patient.pid, set()).add("overdose")
        if destination == FACILITY and at_destination is not None:
            self.hospital.er_visit(patient, at_destination, impression, by_ambulance=True)

    def _patient(self, pcr: str, person: Person, day: int) -> None:
        identity = recorded_identity(
            person, day, self.world.params.rates(SOURCE), self.rng,
            city=self.world.params.name, keep_middle=0.3,
        )  # fmt: skip
        key = f"{pcr}/patient"
        record = PersonRecordIn(source_key=key, **identity)
        self.world.sink.emit(SOURCE, record)
        self.world.sink.note_person(SOURCE, record.kind, key, person.person_id)
