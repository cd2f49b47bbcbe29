"""Batch linkage on the synthetic city: accurate against the truth, stable, and steerable."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.demo.truth import true_person_of_records
from corespond.linkage import service
from corespond.linkage.matcher import explain, load_scorer


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(CityParams(people=400, years=1, seed=5), out)
    return out


def truth_of_records(city: Path) -> dict[int, str]:
    with session_factory()() as session:
        return true_person_of_records(city, session)


def links() -> dict[int, int]:
    with session_factory()() as session:
        return dict(
            session.execute(
                select(models.PersonLink.person_record_id, models.PersonLink.person_id)
            ).all()
        )


def pairwise(predicted: dict[int, int], truth: dict[int, str]) -> tuple[float, float]:
    def pairs(groups: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    both = pairs(Counter((predicted[r], truth[r]) for r in predicted))
    return both / pairs(Counter(predicted.values())), both / pairs(Counter(truth.values()))


def test_linkage_finds_the_people_keeps_their_ids_and_obeys_stewards(
    store: Engine, city: Path
) -> None:
    assert CliRunner().invoke(app, ["ingest", str(city)]).exit_code == 0

    result = CliRunner().invoke(app, ["link", "run", "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    truth = truth_of_records(city)
    linked = links()
    assert set(linked) == set(truth)  # every record belongs to exactly one person
    precision, recall = pairwise(linked, truth)
    assert precision >= 0.99 and recall >= 0.95, (precision, recall)
    assert first["model_version"] == 1 and first["new_persons"] == first["persons"]

    # Every link explains itself field by field.
    with session_factory()() as session:
        stored = session.scalars(
            select(models.PersonLink.explanation)
            .where(models.PersonLink.method == "batch")
            .limit(1)
        ).one()
        a, b = json.loads(stored)["records"]
        waterfall = explain(session, load_scorer(session), a, b)
    assert linked[a] == linked[b] and waterfall["probability"] >= 0.5
    fields = waterfall["fields"]
    assert set(fields) == {"first_name", "last_name", "dob", "ssn", "phone", "address", "sex"}
    assert all({"weight", "level"} <= set(value) for value in fields.values())

    # A second run (same model) changes no one's id.
    again = json.loads(CliRunner().invoke(app, ["link", "run", "--json"]).stdout)
    assert links() == linked
    assert (again["new_persons"], again["split_persons"], again["merged_persons"]) == (0, 0, 0)
    assert again["model_version"] == 1

    # A steward says two linked records are different people: the next run splits them,
    # and so does every run after it, retrained or not.
    by_person: dict[int, list[int]] = {}
    for record, person in linked.items():
        by_person.setdefault(person, []).append(record)
    person, members = next((p, sorted(m)) for p, m in sorted(by_person.items()) if len(m) >= 2)
    with unit_of_work() as session:
        session.add(
            models.LinkageDecision(
                record_a_id=members[0],
                record_b_id=members[1],
                decision="different",
                decided_by="steward@test",
            )
        )
    for retrain in (False, True):
        with unit_of_work() as session:
            summary = service.run(session, retrain=retrain)
        now = links()
        assert now[members[0]] != now[members[1]]
    assert summary.model_version == 2
    assert now[members[0]] == person or now[members[1]] == person  # one part keeps the id
    with session_factory()() as session:
        kinds = Counter(session.scalars(select(models.PersonEvent.kind)))
        open_reviews = session.scalar(select(func.count()).select_from(models.MatchReview))
    assert kinds["split"] >= 1
    assert open_reviews is not None


def test_link_run_on_an_empty_store_makes_no_one(store: Engine) -> None:
    result = CliRunner().invoke(app, ["link", "run", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["persons"] == 0


def test_too_few_records_to_train_is_a_clear_error(store: Engine) -> None:
    with unit_of_work() as session:
        system = models.SourceSystem(name="tiny")
        session.add(system)
        session.flush()
        session.add(
            models.PersonRecord(
                source_system_id=system.id,
                source_key="1",
                first_name="Ana",
                last_name="Reyes",
                content_hash="x",
                data_category="identity",
            )
        )

    result = CliRunner().invoke(app, ["link", "run"])

    assert result.exit_code == 2
    assert "too few to train" in result.output
