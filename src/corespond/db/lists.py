"""Filtering on a list of ids, the way each database takes it best.

``column IN (:a, :b, ...)`` with hundreds of ids is hundreds of parameters: SQLAlchemy renders the
list into the statement on every execution, and the driver parses a new statement text each time
(on a frequent utilizer's page, a dozen such queries cost more than running them). PostgreSQL
takes the whole list as one array parameter (``column = ANY(:ids)``), so the statement text and
its compiled form stay the same whatever the list; SQLite has no arrays, so the list is split
into chunks small enough for its bound-parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

Records = list[int] | Select[Any]
"""Person records: their ids, or a query of them (one person's: a cached statement with one
parameter, where a list of hundreds of ids is hundreds of parameters)."""

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
    if isinstance(ids, Select):
        yield column.in_(ids)
        return
    wanted = list(ids)
    if not wanted:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, wanted, type_=ARRAY(Integer)))
        return
    for chunk in chunks(wanted):
        yield column.in_(chunk)
