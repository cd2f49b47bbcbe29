"""A linked city for the dispatch tests: the synthetic city imported and linked (so the online
matcher has a model and people to match), its dispatch and partner agreements, and clients for
a CAD interface (an API token) and for people at the dispatch center, the police and the care
team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.access import demo_users, tokens
from corespond.cli.main import app
from corespond.db.engine import unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.web.app import create_app
from support.agencies import make_agency
from support.auth import add, sign_in

KIND_OF_ROLE = {
    "dispatcher": "dispatch",
    "officer": "police",
    "clinician": "care_team",
    "program_manager": "care_team",
    "caseworker": "homeless_services",
}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=300, years=1, seed=8), out)
    return out


@dataclass
class Known:
    """A person of the city whom the store holds several linked records of."""

    person_id: int
    record_id: int
    first_name: str
    last_name: str
    dob: date | None


@dataclass
class Dispatch:
    agencies: dict[str, int]
    """Agency kind → the city's first agency of that kind."""
    cad: TestClient
    """The CAD interface: a dispatcher's API token with the intake, read and decide scopes."""
    known: Known
    client: Callable[[str, str], TestClient]
    """(username, roles) → a browser-like client of that kind's agency, signed in."""

    def send(self, message: Any) -> Any:
        return self.cad.post("/api/v1/dispatch/incidents", json=message)


@pytest.fixture
def dispatch(store: Engine, city: Path) -> Dispatch:
    """The city imported and linked: people to match, with a trained model."""
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(city)]).exit_code == 0
    assert runner.invoke(app, ["link", "run"]).exit_code == 0
    with unit_of_work() as session:
        known = _known(session)
    return _connected(known)


@pytest.fixture
def bare(store: Engine) -> Dispatch:
    """Agencies only: no one to match (no linkage model yet), for what intake does alone."""
    for key, kind in (
        ("metro-911", "dispatch"),
        ("riverbend-pd", "police"),
        ("care-team", "care_team"),
        ("harbor-shelter", "homeless_services"),
    ):
        make_agency(key, kind)  # fmt: skip
    return _connected(None)


def _connected(known: Known | None) -> Dispatch:
    with unit_of_work() as session:
        demo_users.seed_dispatch_agreements(session)
        demo_users.seed_partner_agreements(session)
        agencies: dict[str, int] = {}
        for agency in session.scalars(select(models.Agency).order_by(models.Agency.id)):
            agencies.setdefault(agency.kind, agency.id)
    add("cad-interface", "dispatcher", agency_id=agencies["dispatch"])
    with unit_of_work() as session:
        user = session.scalar(select(models.User).where(models.User.username == "cad-interface"))
        assert user is not None
        secret = tokens.issue(
            session, user, name="CAD", days=1, by="test",
            scopes=["dispatch:intake", "dispatch:read", "dispatch:decide"],
        )  # fmt: skip
    cad = TestClient(create_app(), headers={"Authorization": f"Bearer {secret}"})

    def client(username: str, roles: str) -> TestClient:
        kind = KIND_OF_ROLE[roles]
        add(username, roles, agency_id=agencies[kind])
        return sign_in(TestClient(create_app()), username)

    return Dispatch(agencies, cad, known, client)  # type: ignore[arg-type]


def _known(session: Any) -> Known:
    """The person with the most linked records that carry a full name and a date of birth."""
    link, record = models.PersonLink, models.PersonRecord
    rows = session.execute(
        select(link.person_id, record.id, record.first_name, record.last_name, record.dob)
        .join(record, record.id == link.person_record_id)
        .where(record.first_name.is_not(None), record.last_name.is_not(None),
               record.dob.is_not(None))
        .order_by(link.person_id, record.id)
    ).all()  # fmt: skip
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.person_id] = counts.get(row.person_id, 0) + 1
    best = max(counts, key=lambda person: (counts[person], -person))
    row = next(row for row in rows if row.person_id == best)
    return Known(best, row.id, row.first_name, row.last_name, row.dob)
