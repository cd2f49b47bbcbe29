"""Telling live boards that an incident changed, after the change is committed.

Each app process keeps its boards' subscriptions (one queue per open server-sent-events
stream). On PostgreSQL a change is announced with ``NOTIFY`` and every process (this one
included) hears it on a ``LISTEN`` connection, so a board on any process sees an incident that
arrived on any other; on SQLite (one process) it goes straight to this process's boards.

An event says which incident changed and how, never what it holds: each board fetches the
incident as its own user may see it (the brief is decided per reader, and audited).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

from corespond.db.engine import get_engine

logger = logging.getLogger(__name__)

CHANNEL = "corespond_dispatch"
HEARTBEAT_SECONDS = 15.0
"""A comment line this often keeps proxies from closing a quiet stream."""
QUEUE_SIZE = 1000
"""Events a slow board may fall behind by before it is told to reload."""


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )


class Broker:
    """This process's boards."""

    def __init__(self) -> None:
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()

    def subscribe(self) -> _Subscriber:
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        self._listen_if_postgres()
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def deliver(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to every board of this process (from any thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber.loop.call_soon_threadsafe(_put, subscriber.queue, event)
            except RuntimeError:  # the board's loop has closed
                self.unsubscribe(subscriber)

    def wait_until_listening(self, timeout: float) -> bool:
        """True once this process hears every process's events (at once on SQLite, where
        there is no other process; on PostgreSQL once its LISTEN is in place)."""
        if get_engine().dialect.name != "postgresql":
            return True
        return self._listening.wait(timeout)

    def _listen_if_postgres(self) -> None:
        if get_engine().dialect.name != "postgresql":
            return
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            self._listener = threading.Thread(
                target=self._listen, name="dispatch-listen", daemon=True
            )
            self._listener.start()

    def _listen(self) -> None:
        import psycopg

        url = make_url(get_engine().url).set(drivername="postgresql")
        while True:
            try:
                dsn = url.render_as_string(hide_password=False)
                with psycopg.connect(dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    for notice in connection.notifies():
                        self.deliver(json.loads(notice.payload))
            except Exception:  # the server restarted, the network dropped: listen again
                self._listening.clear()
                logger.exception("listening for dispatch events failed; retrying")
                time.sleep(1.0)


def _put(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if queue.full():  # a board that stopped reading: tell it to reload when it resumes
        while not queue.empty():
            queue.get_nowait()
        event = {"kind": "reload"}
    queue.put_nowait(event)


broker = Broker()


def publish(incident_id: int, kind: str) -> None:
    """Announce a committed change to every board (call after the commit)."""
    event = {"incident": incident_id, "kind": kind, "at": time.time()}
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_notify(%(channel)s, %(payload)s)",
                {"channel": CHANNEL, "payload": json.dumps(event)},
            )
            connection.commit()
        return
    broker.deliver(event)


async def stream(heartbeat: float = HEARTBEAT_SECONDS) -> AsyncIterator[str]:
    """Server-sent events for one board: ``event: incident`` lines, and heartbeats."""
    subscriber = broker.subscribe()
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield ": still here\n\n"
                continue
            name = "reload" if event.get("kind") == "reload" else "incident"
            yield f"event: {name}\ndata: {json.dumps(event)}\n\n"
    finally:
        broker.unsubscribe(subscriber)
