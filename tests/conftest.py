"""Shared fixtures: a migrated store on SQLite (default) or PostgreSQL.

Set ``CORESPOND_TEST_DATABASE_URL`` to run the same tests on PostgreSQL; when it is set and the
server is not there, the tests that need the store fail rather than skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from corespond.audit import immutability
from corespond.config import get_settings
from corespond.db import migrate
from corespond.db.engine import get_engine, reset_engine
from corespond.linkage import matcher
from corespond.models import Base


def _shared_reference() -> Path:
    """The workplace's reference folder (official samples and schemas, never copied here):
    ``CORESPOND_SHARED_REFERENCE``, else ``../shared/reference`` beside the checkout, else the
    workplace's own ``/work/shared/reference`` (a clean clone elsewhere, as CI makes)."""
    configured = os.environ.get("CORESPOND_SHARED_REFERENCE")
    if configured:
        return Path(configured)
    beside = Path(__file__).resolve().parents[2] / "shared" / "reference"
    return beside if beside.is_dir() else Path("/work/shared/reference")


SHARED_REFERENCE = _shared_reference()

# Tests make many apps on stores they empty between tests: no app warms the matcher's index in
# the background (tests that need it warm it themselves).
os.environ.setdefault("CORESPOND_WARM_MATCHER", "false")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CORESPOND_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'test.db'}"
    return url


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    os.environ["CORESPOND_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    reset_engine()
    engine = get_engine()
    if make_url(database_url).get_backend_name() == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    yield engine
    reset_engine()


@pytest.fixture
def store(migrated_engine: Engine) -> Iterator[Engine]:
    """A migrated, empty store; emptied again after the test."""
    yield migrated_engine
    empty_store(migrated_engine)


@pytest.fixture
def clear_store(store: Engine) -> Callable[[], None]:
    """Empties the store on demand (for tests that run many examples on one store)."""
    return lambda: empty_store(store)


def empty_store(engine: Engine) -> None:
    """Delete every row (TRUNCATE on PostgreSQL, where row-by-row deletes are slow).

    The audit tables refuse deletes by trigger: the fixture sets the triggers aside, as only a
    database owner could, and puts them back. A matcher index a test left refreshing in the
    background is waited for first: its reads and the TRUNCATE would deadlock.
    """
    assert matcher.settled(), "the online matcher's index is still being built"
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        for statement in immutability.drop_statements("sqlite"):
            connection.execute(text(statement))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        for statement in immutability.create_statements("sqlite"):
            connection.execute(text(statement))
