"""Filtering on a list of ids (``db.lists.among``) and kept plans (``db.engine.kept_plans``),
on whichever database the suite runs on."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, text

from corespond import models
from corespond.db.engine import kept_plans, session_factory, unit_of_work
from corespond.db.lists import CHUNK, among


def test_among_selects_exactly_the_listed_ids_however_many(store: Engine) -> None:
    total = 2 * CHUNK + 7  # more than one SQLite chunk
    with unit_of_work() as session:
        session.execute(
            insert(models.SourceSystem), [{"name": f"source {n}"} for n in range(total)]
        )
    with session_factory()() as session:
        ids = sorted(session.scalars(select(models.SourceSystem.id)))
        wanted = [*ids[::2], ids[-1] + 1000]  # every other one, and one that is not there
        found = [
            agency_id
            for where in among(session, models.SourceSystem.id, wanted)
            for agency_id in session.scalars(select(models.SourceSystem.id).where(where))
        ]
        assert sorted(found) == ids[::2]
        assert list(among(session, models.SourceSystem.id, [])) == []


def test_kept_plans_lasts_only_for_its_block(store: Engine) -> None:
    with unit_of_work() as session:
        if session.get_bind().dialect.name != "postgresql":
            with kept_plans(session):  # nothing to keep on SQLite: a block that still runs
                assert session.scalar(select(1)) == 1
            return
        mode = session.connection().exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        assert mode == "force_custom_plan"
        with kept_plans(session, fresh=True):
            assert session.scalar(text("SHOW plan_cache_mode")) == "auto"
        assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
