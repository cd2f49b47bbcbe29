"""The live board hears of an incident within a second of its intake, from any process on
PostgreSQL (LISTEN/NOTIFY) and from its own process on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine

from corespond.dispatch import live
from support.incidents import simple

T = TypeVar("T")


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run ``scenario`` on an event loop of its own thread: the browser tests' Playwright keeps
    one running in the main thread for the whole session."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, scenario).result()


async def _next_event(stream: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = await asyncio.wait_for(anext(stream), timeout)
        if chunk.startswith("event: incident"):
            return json.loads(chunk.split("data: ", 1)[1])
    raise AssertionError("no incident event")


def test_an_incident_reaches_the_board_after_its_commit(bare: Any) -> None:
    async def scenario() -> dict[str, Any]:
        stream = live.stream(heartbeat=0.2)
        assert await anext(stream) == "retry: 2000\n\n"  # subscribed
        live.broker.wait_until_listening(5.0)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, bare.send, simple("INC-LIVE-1"))
        assert answer.status_code == 201
        event = await _next_event(stream)
        await stream.aclose()
        return event | {"id": answer.json()["incident"]["id"]}

    event = run(scenario())
    assert event["incident"] == event["id"] and event["kind"] == "created"


def test_a_decision_is_announced_too(bare: Any) -> None:
    created = bare.send(simple("INC-LIVE-2")).json()["incident"]

    async def scenario() -> dict[str, Any]:
        stream = live.stream(heartbeat=0.2)
        await anext(stream)
        live.broker.wait_until_listening(5.0)
        loop = asyncio.get_running_loop()
        url = f"/api/v1/dispatch/incidents/{created['id']}/decision"
        await loop.run_in_executor(None, lambda: bare.cad.post(url, json={"action": "accept"}))
        event = await _next_event(stream)
        await stream.aclose()
        return event

    assert run(scenario())["kind"] == "decided"


def test_another_process_reaches_this_processs_boards_on_postgresql(store: Engine) -> None:
    if store.dialect.name != "postgresql":
        pytest.skip("SQLite runs one app process: its boards hear it directly (test above)")

    async def scenario() -> dict[str, Any]:
        stream = live.stream(heartbeat=0.2)
        await anext(stream)
        live.broker.wait_until_listening(5.0)
        program = "from corespond.dispatch import live; live.publish(424242, 'created')"
        env = {**os.environ, "CORESPOND_DATABASE_URL": str(store.url.render_as_string(False))}
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, lambda: subprocess.run([sys.executable, "-c", program], env=env, check=True)
        )
        event = await _next_event(stream)
        await stream.aclose()
        return event

    assert run(scenario())["incident"] == 424242
