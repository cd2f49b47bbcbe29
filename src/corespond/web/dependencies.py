"""Request-scoped dependencies, named as nouns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from corespond.db.engine import session_factory


def _read_session() -> Iterator[Session]:
    with session_factory()() as session:
        yield session


DbSession = Annotated[Session, Depends(_read_session)]
