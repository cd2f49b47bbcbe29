"""Intake-to-brief-published latency of live CAD incidents, at a sustained rate, and the highest
rate sustained without loss.

The app runs as a server (uvicorn, in a subprocess; ``--workers N`` processes on PostgreSQL,
one on SQLite) on a store holding the 100,000-person city, imported and linked once (the same
store as ``bench/person_page.py``). This process is the CAD and a dispatcher's board at once:
it sends EIDO incidents to ``POST /api/v1/dispatch/incidents`` on a fixed schedule (open loop:
a slow answer does not slow the sending) while one board listens on ``/dispatch/events``.
An incident's latency runs from just before its request is sent to the moment the board hears
it was created: intake, matching its people, the brief for the recommendation, the commit and
the publication. Every 50th incident is sent twice (a CAD retrying): it must stay one incident.

The incidents are the city's own EIDO calls that name people (``cad-eido/``), each sent under a
new incident id, so the matcher finds the city's people and the briefs carry their history.

Printed: for the sustained run (default 50 per second for 5 minutes) the median, p95 and p99
latency, incidents lost (sent and answered 2xx, but not stored or not published) and duplicated
(stored or published twice); then a ramp of rates, 20 s each, with the highest rate whose
incidents were all stored and published with p99 under a second. Target: p95 under 50 ms at
50 per second.

    .venv/bin/python bench/dispatch.py [--city var/bench-city] [--database URL | --postgres]
        [--rate 50] [--seconds 300] [--ramp 5,10,20,30,40,50,75,100] [--step-seconds 20]
        [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from person_page import (  # noqa: E402
    DEFAULT_DATABASE,
    POSTGRES,
    ensure_agreements,
    ensure_linked,
    ensure_postgres,
)

TARGET_P95_MS = 50
RETRY_EVERY = 50
TEMPLATES = 2000
SCOPES = ["dispatch:intake", "dispatch:read", "dispatch:decide"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, default=Path("var/bench-city"))
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--postgres", action="store_true", help=f"use {POSTGRES}")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--ramp", default="5,10,20,30,40,50,75,100")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="app processes on PostgreSQL")
    parser.add_argument(
        "--settle", type=float, default=5.0,
        help="seconds to wait once every app process has built its matcher index",
    )  # fmt: skip
    args = parser.parse_args()
    url = POSTGRES if args.postgres else args.database
    if url.startswith("postgresql"):
        ensure_postgres(url)
    os.environ["CORESPOND_DATABASE_URL"] = url
    ensure_linked(url, args.city)
    token = _dispatcher_token()
    templates = _templates(args.city)
    workers = args.workers if url.startswith("postgresql") else 1
    print(f"store {url}; {len(templates)} incident templates; {workers} app process(es)")
    with _server(url, workers) as server:
        base = server.base
        _wait_for_index(base, workers)
        time.sleep(args.settle)
        meter = _Cpu(server.process.pid)
        best = None
        for rate in [float(r) for r in args.ramp.split(",") if r]:
            step = asyncio.run(_run(base, token, templates, rate, args.step_seconds, meter))
            _report(f"ramp {rate:g}/s for {args.step_seconds:g} s", step)
            if step.sound and step.p99_ms < 1000:
                best = rate
            else:
                break
        print(f"\nhighest rate sustained without loss (p99 under 1 s): {best or 'none'} per second")
        sustained = asyncio.run(_run(base, token, templates, args.rate, args.seconds, meter))
        _report(f"sustained {args.rate:g}/s for {args.seconds:g} s", sustained, target=True)
    _check_store(url)


def _wait_for_index(base: str, workers: int) -> None:
    """Until every app process has built its online matcher's index (``/healthz`` says
    "indexed"): the app answers while it builds it, but slowly, and that is start-up, not
    the steady state measured here. Each process answers some of the polls."""
    import httpx2

    started = time.perf_counter()
    streak = 0
    while streak < 4 * workers:  # several answers in a row, so that every process has said it
        answer = httpx2.get(f"{base}/healthz", timeout=5.0).json()
        streak = streak + 1 if answer.get("matcher") == "indexed" else 0
        if time.perf_counter() - started > 900:
            raise SystemExit("the app did not build its matcher index in 15 minutes")
        time.sleep(0.5 if streak == 0 else 0.05)
    print(f"matcher index built in every app process after {time.perf_counter() - started:.0f} s")


def _dispatcher_token() -> str:
    from sqlalchemy import select

    from corespond import models
    from corespond.access import tokens, users
    from corespond.db.engine import unit_of_work

    with unit_of_work() as session:
        ensure_agreements(session)
        user = session.scalar(select(models.User).where(models.User.username == "bench-cad"))
        if user is None:
            dispatch = session.scalar(
                select(models.Agency.id).where(models.Agency.kind == "dispatch").limit(1)
            )
            user = users.add_user(
                session, username="bench-cad", display_name="Bench CAD interface",
                roles="dispatcher", password="a long synthetic benchmark passphrase",
                agency_id=dispatch, by="bench",
            ).user  # fmt: skip
        return tokens.issue(session, user, name="bench", scopes=SCOPES, days=1, by="bench")


def _templates(city: Path) -> list[dict[str, Any]]:
    """The city's EIDO calls that name people (the first ``TEMPLATES``)."""
    found = []
    for path in sorted((city / "cad-eido").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        if "personComponent" in text:
            found.append(json.loads(text))
            if len(found) >= TEMPLATES:
                break
    if not found:
        raise SystemExit(f"{city}/cad-eido holds no EIDO incidents naming people")
    return found


class _server:
    """uvicorn serving the app in a subprocess, on a free port."""

    def __init__(self, url: str, workers: int) -> None:
        self.url, self.workers = url, workers

    def __enter__(self) -> _server:
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        listening.close()
        env = {**os.environ, "CORESPOND_DATABASE_URL": self.url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "corespond.web.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers),
             "--log-level", "warning", "--no-access-log"],
            env=env,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        import httpx2

        for _ in range(600):
            try:
                if httpx2.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("the app server stopped while starting")
            time.sleep(0.1)
        raise SystemExit("the app server did not start")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(30)


class _Cpu:
    """CPU time used so far (Linux ``/proc``): by the app (its server process and its worker
    processes), by this bench (the CAD and the board), and by the rest of the machine
    (PostgreSQL, whose connections come and go, and the OS). Per incident, it says what each
    incident costs beyond queueing."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, app_pid: int) -> None:
        self.app_pid = app_pid

    def read(self) -> dict[str, float]:
        parents: dict[int, int] = {}
        used: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                text = (entry / "stat").read_text()
            except OSError:  # the process ended meanwhile
                continue
            fields = text[text.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = int(fields[11]) + int(fields[12])
        app = {self.app_pid}
        grew = True
        while grew:  # the server's descendants (uvicorn's worker processes)
            found = {pid for pid, parent in parents.items() if parent in app}
            grew = not found <= app
            app |= found
        machine = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        busy = sum(int(machine[at]) for at in _BUSY)
        found = {
            "app": sum(used.get(pid, 0) for pid in app) / self.TICK,
            "bench client": time.process_time(),
        }
        found["rest of the machine"] = busy / self.TICK - found["app"] - found["bench client"]
        return found


_BUSY = (0, 1, 2, 5, 6, 7)
"""user, nice, system, irq, softirq and steal among /proc/stat's ``cpu`` fields (not idle, not
iowait: waiting is not work)."""


@dataclass
class _Run:
    offered: float
    seconds: float
    sent: int = 0
    answered: dict[str, int] = field(default_factory=dict)
    """Status code (or the error, for a request not answered in time) → count."""
    latencies_ms: list[float] = field(default_factory=list)
    """From sending to the board hearing the incident was created."""
    brief_ms: list[float] = field(default_factory=list)
    """From sending to the board holding the incident's brief (fetched as the board does)."""
    lost: int = 0
    duplicated: int = 0
    repeats_created: int = 0
    """Retried messages that made a second incident (must be 0)."""
    finished: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU time used during the run, by whom (``_Cpu``)."""

    @property
    def sound(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.repeats_created == 0

    @property
    def p99_ms(self) -> float:
        return _percentile(self.latencies_ms, 99)


async def _run(
    base: str,
    token: str,
    templates: list[dict[str, Any]],
    rate: float,
    seconds: float,
    meter: _Cpu,
) -> _Run:
    import httpx2

    tag = uuid.uuid4().hex[:8]
    count = int(rate * seconds)
    result = _Run(rate, seconds)
    sent_at: dict[int, float] = {}
    incident_of: dict[int, int] = {}
    heard: dict[int, float] = {}
    briefed: dict[int, float] = {}
    heard_twice: set[int] = set()
    fetches: list[asyncio.Task[None]] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=60.0,
                                  limits=limits) as client:  # fmt: skip
        listening = asyncio.Event()

        async def board() -> None:
            try:
                await listen()
            except httpx2.HTTPError as exc:  # what it did not hear counts as lost
                result.answered[f"board {type(exc).__name__}"] = 1

        async def listen() -> None:
            async with client.stream("GET", "/dispatch/events", timeout=None) as stream:
                listening.set()
                event = ""
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "incident":
                        data = json.loads(line[6:])
                        if data.get("kind") == "created":
                            incident = int(data["incident"])
                            if incident in heard:
                                heard_twice.add(incident)
                                continue
                            heard[incident] = time.perf_counter()
                            fetches.append(asyncio.create_task(fetch_brief(incident)))

        async def fetch_brief(incident: int) -> None:
            try:
                answer = await client.get(f"/api/v1/dispatch/incidents/{incident}/brief")
            except httpx2.HTTPError:
                return
            if answer.status_code == 200:
                briefed[incident] = time.perf_counter()

        listener = asyncio.create_task(board())
        await asyncio.wait_for(listening.wait(), 30)
        await asyncio.sleep(1.0)  # every worker's LISTEN in place

        async def send(index: int) -> None:
            document = copy.deepcopy(templates[index % len(templates)])
            incident = document.get("incidentComponent")
            if isinstance(incident, list):
                incident = incident[0]
            incident["internalIncidentId"] = f"BENCH-{tag}-{index}"
            sent_at[index] = time.perf_counter()
            try:
                answer = await client.post("/api/v1/dispatch/incidents", json=document)
            except httpx2.HTTPError as exc:  # not answered in time: the CAD would retry
                name = type(exc).__name__
                result.answered[name] = result.answered.get(name, 0) + 1
                return
            status = str(answer.status_code)
            result.answered[status] = result.answered.get(status, 0) + 1
            if answer.status_code in (200, 201):
                incident_of[index] = answer.json()["incident"]["id"]
            if index % RETRY_EVERY == 0:  # the CAD retries: the same message again
                try:
                    again = await client.post("/api/v1/dispatch/incidents", json=document)
                except httpx2.HTTPError as exc:  # overloaded: counted, as the first send is
                    name = f"retry {type(exc).__name__}"
                    result.answered[name] = result.answered.get(name, 0) + 1
                    return
                if again.status_code == 201:
                    result.repeats_created += 1

        cpu_before = meter.read()
        started = time.perf_counter()
        tasks = []
        for index in range(count):
            due = started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index)))
            result.sent += 1
        await asyncio.gather(*tasks)
        result.finished = time.perf_counter() - started
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and not set(incident_of.values()) <= set(briefed):
            await asyncio.sleep(0.1)
        listener.cancel()
        for task in fetches:
            task.cancel()
        result.cpu_seconds = {name: used - cpu_before[name] for name, used in meter.read().items()}
    for index, incident in incident_of.items():
        if incident in heard:
            result.latencies_ms.append((heard[incident] - sent_at[index]) * 1000)
            if incident in briefed:
                result.brief_ms.append((briefed[incident] - sent_at[index]) * 1000)
        else:
            result.lost += 1
    result.lost += count - len(incident_of)
    result.duplicated = len(heard_twice) + (len(incident_of) - len(set(incident_of.values())))
    return result


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _report(title: str, run: _Run, *, target: bool = False) -> None:
    values = run.latencies_ms
    print(f"\n{title}: sent {run.sent} (+{run.sent // RETRY_EVERY + 1} retries) "
          f"in {run.finished:.1f} s ({run.sent / max(run.finished, 1e-9):.1f}/s achieved); "
          f"answers {dict(sorted(run.answered.items()))}")  # fmt: skip
    for name, found in (
        ("intake to published", values),
        ("intake to brief on the board", run.brief_ms),
    ):
        if found:
            print(f"  {name}: median {statistics.median(found):.1f} ms, "
                  f"p95 {_percentile(found, 95):.1f} ms, p99 {_percentile(found, 99):.1f} ms, "
                  f"max {max(found):.1f} ms ({len(found)} incidents)")  # fmt: skip
    if run.sent:
        shares = ", ".join(
            f"{name} {used * 1000 / run.sent:.1f} ms"
            for name, used in run.cpu_seconds.items()
            if used > 0
        )
        print(f"  CPU per incident (intake, publication and the board's brief): {shares}")
    print(f"  lost {run.lost}, duplicated {run.duplicated}, retries that made a second "
          f"incident {run.repeats_created}")  # fmt: skip
    if target and values:
        met = _percentile(values, 95) < TARGET_P95_MS
        print(f"  target p95 < {TARGET_P95_MS} ms: {'met' if met else 'NOT met'}")


def _check_store(url: str) -> None:
    """Every bench incident stored once (the store's own count, by incident key)."""
    from sqlalchemy import func, select

    from corespond import models
    from corespond.db.engine import create_db_engine

    engine = create_db_engine(url=url)
    with engine.connect() as connection:
        incident = models.Incident
        total, keys = connection.execute(
            select(func.count(), func.count(func.distinct(incident.incident_key))).where(
                incident.incident_key.like("BENCH-%")
            )
        ).one()
    engine.dispose()
    print(f"\nstore: {total:,} bench incidents, {keys:,} distinct incident ids "
          f"({'none' if total == keys else total - keys} stored twice)")  # fmt: skip


if __name__ == "__main__":
    main()
