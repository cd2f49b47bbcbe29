"""Stewards review uncertain pairs and split persons, on the pages and through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.linkage import repository, service
from corespond.web.app import create_app
from support.auth import csrf, sign_in


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=300, years=1, seed=21), out)
    return out


@pytest.fixture
def client(store: Engine, city: Path) -> TestClient:
    assert CliRunner().invoke(app, ["ingest", str(city)]).exit_code == 0
    # A strict threshold leaves more pairs for the stewards.
    linked = CliRunner().invoke(
        app, ["link", "run", "--threshold", "0.999", "--review-threshold", "0.3"]
    )
    assert linked.exit_code == 0, linked.output
    return sign_in(TestClient(create_app()), "steward", "data_steward")


def open_pairs() -> list[models.MatchReview]:
    with session_factory()() as session:
        return list(
            session.scalars(select(models.MatchReview).where(models.MatchReview.status == "open"))
        )


def test_review_page_shows_pairs_side_by_side_with_the_waterfall(client: TestClient) -> None:
    page = client.get("/review")

    assert page.status_code == 200
    assert open_pairs(), "the city should leave some pairs for review"
    assert "Same person" in page.text and "Different people" in page.text
    assert "match weight by field" in page.text
    assert "style=" not in page.text  # the CSP forbids inline styles


def test_accepting_a_pair_merges_now_and_survives_a_rerun(client: TestClient) -> None:
    pair = next(p for p in open_pairs() if p.reason == "below the link threshold")

    token = csrf(client)
    answer = client.post(
        f"/review/{pair.id}", data={"verdict": "same", "note": "same tattoo", "csrf_token": token}
    )

    assert answer.status_code == 200  # followed the redirect back to the queue
    with session_factory()() as session:
        persons = repository.persons_of(session, [pair.record_a_id, pair.record_b_id])
    assert persons[pair.record_a_id] == persons[pair.record_b_id]
    with unit_of_work() as session:
        service.run(session, link_threshold=0.999, review_threshold=0.3)
    with session_factory()() as session:
        again = repository.persons_of(session, [pair.record_a_id, pair.record_b_id])
    assert again[pair.record_a_id] == again[pair.record_b_id]
    again = client.post(f"/review/{pair.id}", data={"verdict": "different", "csrf_token": token})
    assert again.status_code == 409
    with session_factory()() as session:
        decided_by = session.scalars(select(models.LinkageDecision.decided_by)).all()
    assert decided_by and all(who.startswith("user:") for who in decided_by)


def test_splitting_a_person_keeps_the_records_apart_in_later_runs(client: TestClient) -> None:
    with session_factory()() as session:
        links = repository.current_links(session)
    by_person: dict[int, list[int]] = {}
    for record, person in links.items():
        by_person.setdefault(person, []).append(record)
    person, records = next((p, sorted(r)) for p, r in sorted(by_person.items()) if len(r) >= 3)

    page = client.get(f"/linkage/persons/{person}")
    assert page.status_code == 200 and "Split the ticked records off" in page.text
    token = csrf(client)
    answer = client.post(
        f"/linkage/persons/{person}/split",
        data={"records": [records[0]], "csrf_token": token},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    new = int(answer.headers["location"].rsplit("/", 1)[-1])
    with unit_of_work() as session:
        service.run(session)
    with session_factory()() as session:
        now = repository.current_links(session)
    assert now[records[0]] != now[records[1]]
    assert now[records[1]] == person and new != person
    everything = [r for r, p in now.items() if p == person]
    refused = client.post(
        f"/linkage/persons/{person}/split", data={"records": everything, "csrf_token": token}
    )
    assert refused.status_code == 409  # not all of a person's records


def test_the_api_lists_decides_explains_and_matches(client: TestClient) -> None:
    client.headers["X-CSRF-Token"] = csrf(client)
    pairs = client.get("/api/v1/linkage/review", params={"limit": 5}).json()
    assert pairs and set(pairs[0]["explanation"]["fields"]) >= {"first_name", "dob"}

    assert (
        client.post(
            f"/api/v1/linkage/review/{pairs[0]['id']}/decision", json={"verdict": "different"}
        ).status_code
        == 204
    )
    assert (
        client.post(
            f"/api/v1/linkage/review/{pairs[0]['id']}/decision", json={"verdict": "different"}
        ).status_code
        == 409
    )
    assert (
        client.post("/api/v1/linkage/review/999999/decision", json={"verdict": "same"}).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/linkage/review/{pairs[0]['id']}/decision", json={"verdict": "maybe"}
        ).status_code
        == 422
    )

    with session_factory()() as session:
        record = session.scalars(
            select(models.PersonRecord).where(models.PersonRecord.dob.is_not(None))
        ).first()
        assert record is not None
        person = repository.persons_of(session, [record.id])[record.id]
    records = client.get(f"/api/v1/linkage/persons/{person}/records").json()
    assert record.id in {r["record_id"] for r in records}

    found = client.post(
        "/api/v1/linkage/match",
        json={
            "first_name": record.first_name,
            "last_name": record.last_name,
            "dob": str(record.dob),
            "sex": record.sex,
        },
    ).json()
    assert found["decision"] in {"linked", "review"}
    assert found["candidates"][0]["person_id"] == person
    assert client.post("/api/v1/linkage/match", json={"dob": "not a date"}).status_code == 422
    nobody = client.post("/api/v1/linkage/match", json={"first_name": "Unknown"}).json()
    assert nobody["decision"] == "unlinkable"


def test_working_for_care_coordination_a_steward_sees_other_agencies_records_restricted(
    client: TestClient,
) -> None:
    token = csrf(client)
    assert client.post("/purpose", data={"purpose": "care_coordination", "csrf_token": token})
    pair = open_pairs()[0]

    page = client.get("/review")
    refused = client.post(f"/review/{pair.id}", data={"verdict": "same", "csrf_token": token})
    listed = client.get(
        "/api/v1/linkage/review",
        params={"limit": 5},
        headers={"X-Purpose-Of-Use": "care_coordination"},
    ).json()

    # The steward has no agency and no agreement: for care coordination, nothing is shared.
    assert "restricted" in page.text and "Same person" not in page.text
    assert "match weight by field" not in page.text
    assert refused.status_code == 403 and "restricted" in refused.text
    assert pair.id in {p.id for p in open_pairs()}  # undecided
    assert all(p["restricted"] and p["explanation"] == {} for p in listed)
    with session_factory()() as session:
        denials = session.scalars(
            select(models.AuditEvent).where(
                models.AuditEvent.action == "access.decision",
                models.AuditEvent.outcome == "deny",
                models.AuditEvent.purpose == "care_coordination",
            )
        ).all()
    assert denials and all(event.categories for event in denials)
