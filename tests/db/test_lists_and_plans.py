"""Filtering on a list of ids (``db.lists.among``, ``db.lists.read_among``) and kept plans
(``db.engine.kept_plans``), on whichever database the suite runs on."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, insert, select, text

from corespond import models
from corespond.db.engine import kept_plans, session_factory, unit_of_work
from corespond.db.lists import CHUNK, IdsOf, among, read_among


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


def test_read_among_answers_each_call_for_its_own_ids_and_query_value(store: Engine) -> None:
    """The statement is built once and kept: what changes between calls (the ids, a query's
    value, the query's own parameters, rows added since) must still change the answer."""
    total = CHUNK + 11
    with unit_of_work() as session:
        session.execute(
            insert(models.SourceSystem),
            [{"name": f"source {n}", "format": "odd" if n % 2 else "even"} for n in range(total)],
        )
    system = models.SourceSystem
    with unit_of_work() as session:
        ids = sorted(session.scalars(select(system.id)))
        odd = [i for i, n in zip(ids, range(total), strict=True) if n % 2]

        def named(ids_: list[int] | IdsOf, name: str = "%") -> list[int]:
            rows = read_among(
                session, "test sources", lambda: select(system.id, system.name).where(
                    system.name.like(bindparam("name"))
                ), system.id, ids_, {"name": name},
            )  # fmt: skip
            return sorted(row.id for row in rows)

        assert named(ids) == ids  # more than one SQLite chunk
        assert named(ids[:3]) == ids[:3]
        assert named([]) == []
        assert named(ids, "source 1") == [ids[1]]
        query = select(system.id).where(system.format == "odd", system.id > bindparam("of"))
        assert named(IdsOf(query, 0)) == odd
        assert named(IdsOf(query, odd[-2])) == [odd[-1]]
        session.add(models.SourceSystem(name="added in this transaction", format="odd"))
        assert len(named(IdsOf(query, 0))) == len(odd) + 1  # the session's own rows count


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
            with kept_plans(session):  # a block inside another (a brief inside intake)
                assert session.scalar(text("SHOW plan_cache_mode")) == "auto"
            assert session.scalar(text("SHOW plan_cache_mode")) == "auto"
        assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
