"""A run killed mid-way leaves the store as it was; running it again completes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import URL, make_url

from corespond import models
from corespond.db.engine import session_factory

HEADER = (
    "CAD Event Number,Call Type,Priority,Initial Call Type,Final Call Type,"
    "CAD Event Clearance Description,CAD Event Original Time Queued,CAD Event Arrived Time,"
    "Dispatch Beat,Dispatch Address,Call Sign Dispatch ID,Call Sign Type,Call Sign Dispatch Time"
)
ROWS = 150_000


def write_big_cad(path: Path) -> None:
    with path.open("w") as out:
        out.write(HEADER + "\n")
        for n in range(ROWS):
            minute = n % 60
            out.write(
                f"K-{n:07d},911,{1 + n % 4},WELFARE CHECK,WELFARE CHECK,REPORT,"
                f"2025-03-01T10:{minute:02d}:00,2025-03-01T10:{minute:02d}:40,"
                f"B{n % 40},{n % 900}XX BLOCK OF ASH ST,U{n % 70},POLICE,"
                f"2025-03-01T10:{minute:02d}:10\n"
            )


def ingest_command(path: Path, database_url: str) -> list[str]:
    return [sys.executable, "-m", "corespond", "ingest", str(path), "--source", "Big CAD", "--json"]


def wait_until_writing(database_url: str, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the import holds its write transaction and has worked in it for a while
    (1.5 s of CPU): killed then, it is mid-run with rows written but not committed."""
    url = make_url(database_url)
    child = psutil.Process(process.pid)
    for _ in range(1200):  # a bound on waiting for the condition, not a speed check
        if process.poll() is not None:
            return False
        if _holds_write_transaction(url):
            started = sum(child.cpu_times()[:2])
            while process.poll() is None and sum(child.cpu_times()[:2]) - started < 1.5:
                time.sleep(0.05)
            return process.poll() is None
        time.sleep(0.05)
    return False


def _holds_write_transaction(url: URL) -> bool:
    if url.get_backend_name() == "sqlite":
        probe = sqlite3.connect(str(url.database), timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return False
        except sqlite3.OperationalError:
            return True  # locked: the import's writing transaction is open
        finally:
            probe.close()
    with session_factory()() as session:
        writers = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "AND pid <> pg_backend_pid() AND datname = current_database()"
            )
        )
    return bool(writers)


def counts() -> tuple[int, int, int]:
    with session_factory()() as session:
        return (
            session.scalar(select(func.count()).select_from(models.CallForService)) or 0,
            session.scalar(select(func.count()).select_from(models.UnitResponse)) or 0,
            session.scalar(select(func.count()).select_from(models.IngestRun)) or 0,
        )


@pytest.mark.slow
def test_killed_run_leaves_no_trace_and_rerun_completes(
    store: Engine, database_url: str, tmp_path: Path
) -> None:
    cad = tmp_path / "big.csv"
    write_big_cad(cad)
    env = {**os.environ, "CORESPOND_DATABASE_URL": database_url}

    process = subprocess.Popen(
        ingest_command(cad, database_url), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    writing = wait_until_writing(database_url, process)
    still_running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert writing, "the import never started writing"
    assert still_running, "the import finished before it could be killed; make the file larger"
    assert counts() == (0, 0, 0)

    finished = subprocess.run(
        ingest_command(cad, database_url), env=env, capture_output=True, text=True, check=True
    )
    summary = json.loads(finished.stdout)
    assert summary["read"] == ROWS
    assert summary["stored"] == ROWS
    assert counts() == (ROWS, ROWS, 1)
