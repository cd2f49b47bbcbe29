"""Filtering on a list of ids, the way each database takes it best.

``column IN (:a, :b, ...)`` with hundreds of ids is hundreds of parameters: SQLAlchemy renders the
list into the statement on every execution, and the driver parses a new statement text each time
(on a frequent utilizer's page, a dozen such queries cost more than running them). PostgreSQL
takes the whole list as one array parameter (``column = ANY(:ids)``), so the statement text and
its compiled form stay the same whatever the list; SQLite has no arrays, so the list is split
into chunks small enough for its bound-parameter limit.

:func:`read_among` builds each form of its statement once per process (``db.statements``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from corespond.db.statements import kept


@dataclass(frozen=True)
class IdsOf:
    """The ids ``query`` selects when its one parameter ``:of`` is ``of`` (one person's records,
    say): read as ``column IN (query)``, one statement whatever ``of``, where a list of hundreds
    of ids is hundreds of parameters."""

    query: Select[Any]
    of: int

    def bound(self) -> Select[Any]:
        """The query with its parameter given (for a statement built each time)."""
        return self.query.params(of=self.of)


Records = list[int] | IdsOf
"""Person records: their ids, or a query of them."""

CHUNK = 900
"""Ids per IN list on SQLite (older builds allow 999 bound parameters)."""


def chunks(ids: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def among(
    session: Session, column: Any, ids: Iterable[int] | Records
) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select the rows whose integer ``column`` is one of ``ids``:
    one ``= ANY(array)`` on PostgreSQL, an ``IN`` per chunk elsewhere (none for no ids); for
    a query of the ids, one ``IN (query)``."""
    if isinstance(ids, IdsOf):
        yield column.in_(ids.bound())
        return
    wanted = list(ids)
    if not wanted:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, wanted, type_=ARRAY(Integer)))
        return
    for chunk in chunks(wanted):
        yield column.in_(chunk)


def read_among(
    session: Session,
    key: Hashable,
    query: Callable[[], Select[*tuple[Any, ...]]],
    column: Any,
    ids: Records,
    params: dict[str, Any] | None = None,
    *,
    entities: bool = False,
) -> list[Any]:
    """The rows of ``query()`` (given ``params``) whose integer ``column`` is one of ``ids``,
    as :func:`among` selects them, each form of the statement built once per process under
    ``key`` (which names the query and its column). ``entities``: ``query`` selects mapped
    objects, read through the session (plain rows are read on its connection, skipping the
    ORM)."""
    values = dict(params or {})
    runs: list[dict[str, Any]] = []
    if isinstance(ids, IdsOf):
        statement = kept((key, "of", ids.query), lambda: query().where(column.in_(ids.query)))
        runs.append({**values, "of": ids.of})
    elif not ids:
        return []
    elif session.get_bind().dialect.name == "postgresql":
        statement = kept(
            (key, "array"),
            lambda: query().where(column == any_(bindparam("ids", type_=ARRAY(Integer)))),
        )
        runs.append({**values, "ids": list(ids)})
    else:
        statement = kept(
            (key, "in"), lambda: query().where(column.in_(bindparam("ids", expanding=True)))
        )
        runs += [{**values, "ids": chunk} for chunk in chunks(list(ids))]
    found: list[Any] = []
    if not entities:
        session.flush()  # as the session would before a query of its own (rows added to it)
    for run in runs:
        if entities:
            found += session.scalars(statement, run)
        else:
            found += session.connection().execute(statement, run).all()
    return found
