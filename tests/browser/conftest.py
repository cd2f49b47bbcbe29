"""A live corespond on a small demo city, and Debian's Chromium driven by Playwright.

The server runs in a thread of the test process on the suite's store (SQLite, or PostgreSQL
through ``CORESPOND_TEST_DATABASE_URL``), with the city imported, linked and its demo users
made the way ``make demo`` does. Playwright only drives the browser: it never downloads one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import Engine
from typer.testing import CliRunner

from conftest import empty_store
from corespond.cli.main import app
from corespond.config import get_settings
from corespond.demo.city import CityParams, build_city
from corespond.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CITY = CityParams(people=200, years=1, seed=5)
"""Small enough to build, import and link in seconds; every page still has rows to show."""
VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class LiveServer:
    url: str
    """Where the app answers, e.g. ``http://127.0.0.1:41234`` (pages' ``base_url``)."""
    city: Path
    """The demo city's exports, with its ground truth under ``truth/``."""


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; without it the browser tests skip, except on CI where they fail."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright(chromium: Path) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    """Headless Chromium, shared by every test (each test gets its own context)."""
    launched = playwright.chromium.launch(
        executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def live_server(
    chromium: Path, migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app on a free port, serving a freshly imported and linked demo city.

    Package-scoped: the store is emptied when the browser tests are done, so the tests after
    them find it as the ``store`` fixture leaves it.
    """
    empty_store(migrated_engine)
    city = tmp_path_factory.mktemp("browser-city")
    build_city(CITY, city)
    run_cli("ingest", str(city))
    run_cli("link", "run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORESPOND_MODE", "demo")  # demo users exist only in demo mode
        get_settings.cache_clear()
        run_cli("demo", "users")
    get_settings.cache_clear()

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    host, port = listening.getsockname()
    config = uvicorn.Config(
        create_app(), log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the live server stopped while starting"
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://{host}:{port}", city=city)
    finally:
        server.should_exit = True
        thread.join()
        listening.close()
        empty_store(migrated_engine)


def run_cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh tab with no cookies, whose relative ``goto`` paths go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
