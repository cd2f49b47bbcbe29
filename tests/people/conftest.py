"""A small world for the people tests: five agencies, one person everyone has met.

Robert ("Bob") Quillfeather (synthetic) is known to Metro 911 (a call), Riverbend PD (an arrest
on that call), the Riverbend CARE Team (a visit note), Harbor Shelter (a shelter stay and an
outreach contact) and Lantern Recovery, a 42 CFR Part 2 program (a treatment visit). Metro 911
dispatches for the police and the care team; the police and the care team share the minimal
view. A second person, known only to Lantern Recovery, has nothing anyone else may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from corespond import models
from corespond.db.engine import unit_of_work
from corespond.web.app import create_app
from support.agencies import agree, make_agency
from support.auth import add, sign_in


@dataclass(frozen=True)
class World:
    agencies: dict[str, int]
    person: int
    """Bob, whom everyone has met."""
    hidden: int
    """Known only to the Part 2 program."""
    records: dict[str, int]


def _system(session: object, name: str, fmt: str, agency_key: str) -> int:
    system = models.SourceSystem(name=name, format=fmt, agency_key=agency_key)
    session.add(system)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return system.id


def _provenance(system: int, key: str, category: str) -> dict[str, object]:
    return {"source_system_id": system, "source_key": key, "content_hash": "h",
            "data_category": category}  # fmt: skip


@pytest.fixture
def world(store: Engine) -> World:
    agencies = {
        "dispatch": make_agency("metro-911", "dispatch", name="Metro 911"),
        "police": make_agency("riverbend-pd", "police", name="Riverbend PD"),
        "care": make_agency("care-team", "care_team", name="Riverbend CARE Team"),
        "shelter": make_agency("harbor-shelter", "homeless_services", name="Harbor Shelter"),
        "part2": make_agency("lantern", "behavioral_health", name="Lantern Recovery"),
    }
    agree(agencies["dispatch"], agencies["police"], "dispatch")
    agree(agencies["dispatch"], agencies["care"], "dispatch")
    agree(agencies["police"], agencies["care"])
    records: dict[str, int] = {}
    with unit_of_work() as session:
        cad = _system(session, "Metro CAD", "cad-csv", "metro-911")
        rms = _system(session, "Riverbend RMS", "rms-csv", "riverbend-pd")
        care = _system(session, "CARE notes", "mapped-csv", "care-team")
        hmis = _system(session, "Harbor HMIS", "hmis-csv", "harbor-shelter")
        ehr = _system(session, "Lantern EHR", "fhir", "lantern")
        person = models.Person()
        hidden = models.Person()
        session.add_all([person, hidden])
        session.flush()

        def record(
            system: int, key: str, category: str, owner: models.Person, **names: object
        ) -> int:
            row = models.PersonRecord(**_provenance(system, key, category), **names)
            session.add(row)
            session.flush()
            session.add(models.PersonLink(person_record_id=row.id, person_id=owner.id,
                                          method="batch", match_probability=0.99,
                                          explanation='{"reason": "test link"}'))  # fmt: skip
            records[key] = row.id
            return row.id

        bob = {"first_name": "Robert", "last_name": "Quillfeather", "dob": date(1979, 4, 12)}
        record(cad, "cad-1", "identity", person, first_name="Bob", last_name="Quillfeather")
        record(rms, "rms-1", "identity", person, **bob, phone="5032840142", sex="male")
        record(care, "care-1", "identity", person, **bob)
        record(hmis, "hmis-1", "housing", person, **bob, street="12 Harbor Way")
        record(ehr, "ehr-1", "substance_use_part2", person, **bob)
        record(ehr, "ehr-2", "substance_use_part2", hidden, first_name="Wren",
               last_name="Quillfeather", dob=date(1990, 2, 2))  # fmt: skip
        session.add(models.PersonAlias(person_record_id=records["rms-1"], first_name="Robbie",
                                       last_name="Feather"))  # fmt: skip

        shelter = models.Program(
            **_provenance(hmis, "harbor-es", "identity"), name="Harbor Night Shelter",
            agency_key="harbor-shelter", agency_id=agencies["shelter"],
            program_type="emergency_shelter", hmis_project_type=1,
        )  # fmt: skip
        session.add(shelter)
        session.flush()
        call = models.CallForService(
            **_provenance(cad, "E-100", "call_incident"), priority=2,
            initial_call_type="WELFARE CHECK", final_call_type="WELFARE CHECK",
            received_at=datetime(2025, 3, 1, 9, 0), queued_at=datetime(2025, 3, 1, 9, 1),
        )  # fmt: skip
        session.add(call)
        session.flush()
        session.add_all([
            models.CallPerson(**_provenance(cad, "E-100/p1", "call_incident"), call_key="E-100",
                              call_id=call.id, person_record_id=records["cad-1"], role="subject"),
            models.UnitResponse(**_provenance(cad, "E-100/u1", "call_incident"),
                                call_key="E-100", call_id=call.id, call_sign="CARE-7",
                                responder_type="care_team",
                                dispatched_at=datetime(2025, 3, 1, 9, 5),
                                at_scene_at=datetime(2025, 3, 1, 9, 20)),
            models.Arrest(**_provenance(rms, "A-1", "criminal_justice"),
                          person_record_id=records["rms-1"], arrested_at=datetime(2025, 3, 1, 10),
                          arrest_type="taken_into_custody", offense_code="23H"),
            models.CaseNote(**_provenance(care, "N-1", "case_notes"),
                            person_record_id=records["care-1"],
                            written_at=datetime(2025, 3, 2, 14), text="Visited at the shelter.",
                            author="Dana Okafor"),
            models.Enrollment(**_provenance(hmis, "EN-1", "housing"),
                              person_record_id=records["hmis-1"], program_key="harbor-es",
                              program_id=shelter.id, entry_date=date(2025, 2, 20)),
            models.Service(**_provenance(hmis, "S-1", "housing"),
                           person_record_id=records["hmis-1"], provided_on=date(2025, 2, 10),
                           service_kind="outreach_contact"),
            models.TreatmentEncounter(**_provenance(ehr, "T-1", "substance_use_part2"),
                                      person_record_id=records["ehr-1"],
                                      started_at=datetime(2025, 2, 25, 11), part2=True,
                                      encounter_type="Methadone dosing"),
            models.TreatmentEncounter(**_provenance(ehr, "T-2", "substance_use_part2"),
                                      person_record_id=records["ehr-2"],
                                      started_at=datetime(2025, 2, 26, 11), part2=True,
                                      encounter_type="Intake"),
        ])  # fmt: skip
        ids = (person.id, hidden.id)
    return World(agencies, ids[0], ids[1], records)


def client_as(username: str, roles: str, agency_id: int) -> TestClient:
    """A browser-like client signed in (password and code) as a new user of the agency."""
    add(username, roles, agency_id=agency_id)
    return sign_in(TestClient(create_app()), username)
