"""Database engines: SQLite with WAL and foreign keys, or PostgreSQL with a pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from corespond.config import Settings, get_settings

SQLITE_POOL = 40
"""anyio's worker threads, which run the app's synchronous endpoints."""


SQLITE_STATEMENTS = 1024
"""Prepared statements each connection keeps (the driver's default, 128, is fewer than one
intake and its brief use, so each would be parsed and planned again)."""


def _prepare_sqlite(url: str, busy_timeout_ms: int) -> dict[str, Any]:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The driver's own transaction handling is turned off so that BEGIN is ours (see below).
    return {
        "timeout": busy_timeout_ms / 1000,
        "isolation_level": None,
        "cached_statements": SQLITE_STATEMENTS,
    }


def create_db_engine(settings: Settings | None = None, url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the configured database)."""
    settings = settings or get_settings()
    url = url or settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        # A connection for each of the server's worker threads (40), so that none waits for
        # one: SQLite connections are cheap, and readers never wait on the writer (WAL).
        engine = create_engine(
            url,
            connect_args=_prepare_sqlite(url, settings.sqlite_busy_timeout_ms),
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
            pool_use_lifo=True,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A writer takes the lock up front (BEGIN IMMEDIATE), so two writers queue on the
            # busy timeout instead of one failing mid-transaction with "database is locked".
            # Readers begin deferred and never wait on writers (WAL).
            if connection.get_execution_options().get("write", False):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("BEGIN")

        return engine
    # Prepared statements, but always planned for their actual values: PostgreSQL would
    # otherwise keep a generic plan made while a table was still small (a sequential scan),
    # and each key lookup of a long import would be slower than the last.
    # Parallel workers cost milliseconds to start: at the default setup cost PostgreSQL starts
    # them for a person's few hundred rows (10 ms for 3 ms of work on a frequent utilizer's
    # records); at ten times it, only scans big enough to repay them (the outcome facts) get
    # them.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={
            "options": "-c plan_cache_mode=force_custom_plan -c parallel_setup_cost=10000"
        },
    )


_engine: Engine | None = None
_sessions: sessionmaker[Session] | None = None
_write_sessions: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = create_db_engine()
    return _engine


def session_factory(*, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reading, or (``write=True``) for a unit of work that writes."""
    global _sessions, _write_sessions
    if _sessions is None or _write_sessions is None:
        engine = get_engine()
        _sessions = sessionmaker(engine, expire_on_commit=False)
        _write_sessions = sessionmaker(engine.execution_options(write=True), expire_on_commit=False)
    return _write_sessions if write else _sessions


def reset_engine() -> None:
    """Forget the cached engine (tests and the CLI's ``--database`` switch use it)."""
    global _engine, _sessions, _write_sessions
    if _engine is not None:
        _engine.dispose()
    _engine = _sessions = _write_sessions = None


@contextmanager
def unit_of_work(sessions: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One writing transaction: commit when the block ends, roll back if it raises.

    Services never commit; the request or the CLI command that owns the work uses this.
    """
    session = (sessions or session_factory(write=True))()
    bind = session.get_bind()
    serial = (
        _sqlite_writers
        if bind.dialect.name == "sqlite" and bind.get_execution_options().get("write", False)
        else nullcontext()
    )
    with serial:
        try:
            with session.begin():
                yield session
        finally:
            session.close()


@contextmanager
def kept_plans(session: Session, *, fresh: bool = False) -> Iterator[None]:
    """Within this block (in ``session``'s transaction), PostgreSQL may keep a plan for each
    prepared statement instead of planning it for its values every time.

    The engine plans every statement for its own values (``force_custom_plan``, above): a long
    import must never keep a plan made while a table was small. Short reads of a settled store
    gain from kept plans: a person page runs forty statements, a dozen of them with an array of
    hundreds of record ids that takes a millisecond to plan each time. ``fresh``: drop the plans
    kept so far first (a bulk write whose checks look up rows it has just written). A block
    inside another changes nothing (intake assembles a brief inside its own block); at the
    outermost block's end the setting returns to the session's default (the engine's). An
    error inside leaves the setting to the transaction's rollback. SQLite: nothing to do.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    depth = session.info.get(KEPT_PLANS, 0)
    if fresh:
        connection.exec_driver_sql("DISCARD PLANS")
    if not depth:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode TO auto")
    session.info[KEPT_PLANS] = depth + 1
    try:
        yield
    finally:
        session.info[KEPT_PLANS] = depth
    if not depth:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode TO DEFAULT")


KEPT_PLANS = "corespond.db.kept_plans"
"""How many ``kept_plans`` blocks a session is in."""


_sqlite_writers = threading.RLock()
"""SQLite takes one writer at a time: this process's writers queue here, in order, rather than
on SQLite's busy handler, which polls with growing sleeps (up to 100 ms each) and, with many
threads waiting, lets one wait far longer than the rest."""
