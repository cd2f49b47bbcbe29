"""Live incident intake: EIDO and the simple form, idempotent, merged, never half-stored."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select, update
from tests.conftest import SHARED_REFERENCE

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.dispatch import repository
from support.incidents import simple

SAMPLE = SHARED_REFERENCE / "eido" / "Sample call transfer EIDO.json"


def counts() -> dict[str, int]:
    with unit_of_work() as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in {
                "incidents": models.Incident, "messages": models.IncidentMessage,
                "calls": models.CallForService, "units": models.UnitResponse,
                "records": models.PersonRecord, "matches": models.IncidentMatch,
                "recommendations": models.Recommendation,
            }.items()
        }  # fmt: skip


def test_an_eido_document_becomes_an_incident_once(dispatch: Any) -> None:
    document = json.loads(SAMPLE.read_text())
    before = counts()

    first = dispatch.send(document)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] and body["changed"]
    incident = body["incident"]
    assert incident["recommendation"]["configuration"]
    after = counts()
    assert after["incidents"] == before["incidents"] + 1
    assert after["calls"] == before["calls"] + 1
    assert after["records"] > before["records"]  # the sample names people
    assert after["matches"] == after["records"] - before["records"]

    again = dispatch.send(document)
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["changed"] is False
    assert again.json()["incident"]["id"] == incident["id"]
    assert counts() == after  # the same message twice is one message

    # The same content with its keys in another order is the same message too.
    reordered = json.loads(json.dumps(document, sort_keys=True))
    assert dispatch.send(reordered).json()["changed"] is False
    assert counts() == after


def test_updates_merge_into_the_incident(bare: Any) -> None:
    created = bare.send(simple("INC-100"))
    assert created.status_code == 201, created.text
    update = {
        "incident_id": "INC-100", "received_at": "2026-11-29T18:00:00Z",
        "notes": ["Second caller: he is now lying down near the bus shelter."],
        "units": [{"call_sign": "CARE-12", "type": "care_team",
                   "dispatched_at": "2026-11-29T18:04:00Z"}],
    }  # fmt: skip
    answer = bare.send(update)
    assert answer.status_code == 200, answer.text
    incident = answer.json()["incident"]
    assert answer.json()["changed"] and incident["messages"] == 2
    assert incident["call_type"] == "ASSIST PUBLIC - WELFARE CHECK"  # kept from the first
    assert incident["address"].startswith("400 SYNTHETIC AVE")
    assert len(incident["notes"]) == 2
    assert [u["call_sign"] for u in incident["units"]] == ["CARE-12"]

    arrived = copy.deepcopy(update)
    arrived["units"][0]["on_scene_at"] = "2026-11-29T18:11:00Z"
    arrived["notes"] = []
    incident = bare.send(arrived).json()["incident"]
    assert incident["units"][0]["at_scene_at"].startswith("2026-11-29T18:11")
    assert len(incident["notes"]) == 2  # nothing an update leaves out is lost
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(models.Incident)) == 1


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"hello": "world"}).encode(), "body"),
        (json.dumps(simple("INC-7", priority=12)).encode(), "priority"),
        (json.dumps(simple("INC-7", received_at="yesterday")).encode(), "received_at"),
        (
            json.dumps(simple("INC-7", people=[{"id": "p1", "dob": "1980-02-30"}])).encode(),
            "people.0.dob",
        ),
        (
            json.dumps(simple("INC-7", units=[{"call_sign": "X1", "type": "spaceship"}])).encode(),
            "units.0.type",
        ),
        (json.dumps(simple("INC-7", flags=["weapn"])).encode(), "flags"),
        (
            json.dumps({"eidoVersion": "1.0", "incidentComponent": {}}).encode(),
            "incidentComponent.internalIncidentId",
        ),
    ],
    ids=[
        "not json",
        "not an object",
        "neither form",
        "priority",
        "time",
        "date",
        "unit type",
        "unknown flag",
        "eido without incident id",
    ],
)
def test_a_malformed_message_is_a_422_naming_the_field_and_stores_nothing(
    bare: Any, message: bytes, field: str
) -> None:
    before = counts()
    answer = bare.cad.post(
        "/api/v1/dispatch/incidents", content=message,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["field"] == field, problem
    assert problem["detail"]
    assert counts() == before


def test_a_broken_update_leaves_the_incident_as_it_was(bare: Any) -> None:
    assert bare.send(simple("INC-200")).status_code == 201
    before = counts()
    broken = simple("INC-200", units=[{"call_sign": "", "type": "police"}])
    assert bare.send(broken).status_code == 422
    assert counts() == before


def test_intake_needs_the_intake_scope_and_a_dispatcher(bare: Any) -> None:
    officer = bare.client("officer-olsen", "officer")
    answer = officer.post(
        "/api/v1/dispatch/incidents", json=simple("INC-300"),
        headers={"X-CSRF-Token": "x"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert counts()["incidents"] == 0


def test_an_exported_incident_is_taken_back_as_the_same_incident(bare: Any) -> None:
    created = bare.send(simple("INC-400", people=[
        {"id": "p1", "role": "subject", "first_name": "Wendell", "last_name": "Ashgrove",
         "dob": "1971-06-03", "sex": "male"}
    ])).json()["incident"]  # fmt: skip
    exported = bare.cad.get(f"/api/v1/dispatch/incidents/{created['id']}/eido")
    assert exported.status_code == 200
    document = exported.json()
    assert document["eidoVersion"]
    before = counts()
    back = bare.send(document)
    assert back.status_code == 200, back.text
    assert back.json()["incident"]["id"] == created["id"]
    after = counts()
    assert after["records"] == before["records"] and after["calls"] == before["calls"]


def test_a_row_another_process_created_first_is_found_on_a_second_try(
    bare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app processes taking the first incidents of a CAD at once both find no live source
    and both create it: the one that commits second hits the unique name. Its incident is
    taken on a second try, not answered 500."""
    from corespond.dispatch import service
    from corespond.ingest import repository as ingest_repository

    assert bare.send(simple("INC-1")).status_code == 201  # the live source exists now
    original = ingest_repository.get_or_create_source_system
    raced: list[bool] = []

    def as_if_not_there_yet(session: Any, name: str, **kwargs: Any) -> models.SourceSystem:
        if not raced:  # the first attempt looked before the other process committed
            raced.append(True)
            session.add(models.SourceSystem(name=name, format=kwargs["format"]))
            session.flush()
        return original(session, name, **kwargs)

    monkeypatch.setattr(service.ingest_repository, "get_or_create_source_system",
                        as_if_not_there_yet)  # fmt: skip
    answer = bare.send(simple("INC-2"))
    assert answer.status_code == 201, answer.text
    assert raced == [True]
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(models.Incident)) == 2
        names = list(session.scalars(select(models.SourceSystem.name)))
        assert len(names) == len(set(names))


def test_an_incidents_call_is_read_once_per_transaction_and_afresh_in_the_next(
    bare: Any,
) -> None:
    assert bare.send(simple("INC-300")).status_code == 201
    with session_factory(write=True)() as session:
        with session.begin():
            incident = session.scalar(select(models.Incident))
            assert incident is not None
            call = repository.call_of(session, incident)
            assert call is not None and call.priority == 2
            assert repository.call_of(session, incident) is call
            assert repository.place_of(session, call) is repository.place_of(session, call)
        del incident, call  # what the next transaction holds is what it reads
        with unit_of_work() as other:  # another request changes the call meanwhile
            other.execute(update(models.CallForService).values(priority=3))
        with session.begin():
            incident = session.scalar(select(models.Incident))
            assert incident is not None
            call = repository.call_of(session, incident)
            assert call is not None and call.priority == 3
