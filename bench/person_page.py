"""Server time of the person page and the timeline API for a frequent utilizer.

In a store holding a synthetic city (default: the 100,000-person, 3-year city in
var/bench-city), imported and linked once, the person with the most touchpoints a care-team
clinician may see (a frequent utilizer: hundreds of events) is read N times over each of
``GET /people/{id}`` (the page, signed in) and ``GET /api/v1/people/{id}/timeline`` (a Bearer
token, the first 500 items), by a clinician of the care team and an officer of the police, with
the demo city's agreements (dispatch shares calls with those it dispatches; the co-response
partners share the minimal view). Requests run in-process (FastAPI's TestClient); the time is
the server's, measured around the ASGI app. Printed: median and p95 per page and user, the
person's events (all, and those the user may see), and the audit rows (access decisions and
others) each request writes. Target: p95 under 150 ms.

    .venv/bin/python bench/person_page.py [--city var/bench-city]
        [--database URL | --postgres] [--requests 200] [--person ID]

The store (default sqlite:///var/bench-people.db; ``--postgres``:
postgresql+psycopg://postgres@127.0.0.1:5432/corespond_bench_people, created if missing) is
imported (``corespond ingest``) and linked (``corespond link run``) on first use and reused
after: the 100,000-person city takes several minutes to import and more to link, per database.
Bench users, their token and the agreements are added to it (idempotent).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_DATABASE = "sqlite:///var/bench-people.db"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/corespond_bench_people"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_P95_MS = 150
WARM_UP = 5
CANDIDATES = 10
"""People with the most facts on their records, among whom the one the clinician sees most of
is chosen (deciding what a user may see of every person would take longer than the bench)."""
USERS = {"bench-clinician": ("care_team", "clinician"), "bench-officer": ("police", "officer")}
"""Username → (agency kind, role)."""
PASSWORD = "a long synthetic benchmark passphrase"
PARTNER_KINDS = ("police", "fire", "ems", "care_team", "homeless_services", "behavioral_health")
DISPATCHED_KINDS = ("police", "fire", "ems", "care_team")
AGREEMENTS_START = date(2020, 1, 1)


def store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--city``, and ``--database URL`` or ``--postgres``: the store a bench reads."""
    parser.add_argument("--city", type=Path, default=Path("var/bench-city"))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", help=f"SQLAlchemy URL (default {DEFAULT_DATABASE})")
    where.add_argument("--postgres", action="store_true", help=f"the store at {POSTGRES}")


def ready_store(args: argparse.Namespace) -> str:
    """The URL of the store ``store_arguments`` chose, set for corespond (before it reads its
    settings), created if on PostgreSQL, and imported and linked once."""
    url: str = POSTGRES if args.postgres else args.database or DEFAULT_DATABASE
    os.environ["CORESPOND_DATABASE_URL"] = url
    if url.startswith("postgresql"):
        ensure_postgres(url)
    print(f"load average {os.getloadavg()[0]:.2f}; store {url}; city {args.city}", flush=True)
    ensure_linked(url, args.city)
    return url


def ensure_postgres(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        print(f"creating the database {name} ...", flush=True)
        admin.execute(f'CREATE DATABASE "{name}"')


def corespond(url: str, *args: str) -> None:
    env = {**os.environ, "CORESPOND_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "corespond", *args], env=env, check=True)


def ensure_linked(url: str, city: Path) -> None:
    """Import and link the city unless the store already holds links (re-importing changes
    nothing, so an import cut short is finished by running it again)."""
    corespond(url, "db", "upgrade")
    from sqlalchemy import func, select

    from corespond import models
    from corespond.db.engine import create_db_engine

    engine = create_db_engine(url=url)
    with engine.connect() as connection:
        links = connection.scalar(select(func.count()).select_from(models.PersonLink))
    engine.dispose()
    if links:
        print(f"reusing the store: {links:,} records linked", flush=True)
        return
    for step in (["ingest", str(city)], ["link", "run"]):
        print(f"corespond {' '.join(step)} ...", flush=True)
        started = time.perf_counter()
        corespond(url, *step)
        print(f"  {time.perf_counter() - started:,.0f} s", flush=True)


def ensure_agreements(session: Any) -> None:
    """The demo city's agreements, as ``access.demo_users`` seeds them (in demo mode only)."""
    from sqlalchemy import select

    from corespond import models

    agency, agreement = models.Agency, models.SharingAgreement
    kinds = dict(session.execute(select(agency.id, agency.kind)).all())
    pairs = [
        ("dispatch", centre, other)
        for centre, kind in kinds.items() if kind == "dispatch"
        for other, other_kind in kinds.items() if other_kind in DISPATCHED_KINDS
    ]  # fmt: skip
    partners = sorted(a for a, kind in kinds.items() if kind in PARTNER_KINDS)
    pairs += [
        ("minimal_view", first, second)
        for index, first in enumerate(partners) for second in partners[index + 1 :]
    ]  # fmt: skip
    for kind, first, second in pairs:
        exists = session.scalar(
            select(agreement.id).where(
                agreement.kind == kind,
                agreement.agency_a_id == first,
                agreement.agency_b_id == second,
            )
        )
        if exists is None:
            session.add(agreement(
                name=f"bench {kind} {first}-{second}", kind=kind, agency_a_id=first,
                agency_b_id=second, starts_on=AGREEMENTS_START,
            ))  # fmt: skip


@dataclass
class BenchUser:
    username: str
    user_id: int
    agency: str
    cookie: str
    token: str


def bench_users(session: Any) -> list[BenchUser]:
    """The bench users (made on first use), each with a fresh web session and API token."""
    from sqlalchemy import select

    from corespond import models
    from corespond.access import sessions, tokens, users

    found = []
    for username, (kind, role) in USERS.items():
        agency = session.scalars(
            select(models.Agency).where(models.Agency.kind == kind).order_by(models.Agency.id)
        ).first()
        if agency is None:
            raise SystemExit(f"the city has no {kind} agency")
        user = session.scalar(select(models.User).where(models.User.username == username))
        if user is None:
            user = users.add_user(
                session, username=username, display_name=username.replace("-", " ").title(),
                roles=role, password=PASSWORD, agency_id=agency.id, by="bench",
            ).user  # fmt: skip
        token = tokens.issue(
            session, user, name="bench", scopes=["people:read"], days=1, by="bench"
        )
        found.append(
            BenchUser(username, user.id, agency.name, sessions.start(session, user), token)
        )
    return found


FACT_TABLES = (
    "CallPerson", "EmsRun", "HospitalEncounter", "TreatmentEncounter", "Arrest", "UseOfForce",
    "InvoluntaryHold", "Enrollment", "EnrollmentExit", "Service", "Referral", "CaseNote",
)  # fmt: skip
"""The tables whose rows are touchpoints on a person's timeline (``access.facts``)."""


def most_facts(session: Any, limit: int) -> list[tuple[int, int]]:
    """(person id, fact rows on their records), most first."""
    from sqlalchemy import func, select, union_all

    from corespond import models

    link = models.PersonLink
    rows = union_all(*(
        select(getattr(models, name).person_record_id.label("record_id"))
        for name in FACT_TABLES
    )).subquery()  # fmt: skip
    query = (
        select(link.person_id, func.count().label("facts"))
        .join(rows, rows.c.record_id == link.person_record_id)
        .group_by(link.person_id)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(person, facts) for person, facts in session.execute(query)]


def visible_events(session: Any, user_id: int, person_id: int) -> tuple[int, int, int]:
    """(events, events the user may see, events withheld) of the person (decisions are taken
    in a session that is rolled back, so the choice writes no audit rows)."""
    from corespond import models
    from corespond.access import facts
    from corespond.access.reads import Reader
    from corespond.access.roles import purposes_for
    from corespond.access.users import roles_of
    from corespond.people import profile

    purpose = purposes_for(roles_of(session.get(models.User, user_id)))[0]
    reader = Reader(session, user_id=user_id, purpose=purpose)
    items, restricted = profile.timeline(session, reader, person_id)
    total = len(facts.touches(session, facts.person_records(person_id)))
    return total, len(items), sum(group.count for group in restricted)


class ServerTimer:
    """Wraps an ASGI app: the time from a request's arrival to the end of its response."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


def audit_counts(session_factory: Any) -> Counter[str]:
    from sqlalchemy import func, select

    from corespond import models

    event = models.AuditEvent
    with session_factory()() as session:
        return Counter(dict(session.execute(
            select(event.action, func.count()).group_by(event.action)
        ).all()))  # fmt: skip


class StatementCounter:
    """Counts the SQL statements the engine runs (all of them, the audit's included)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *_: object) -> None:
        self.count += 1


@dataclass
class Series:
    seconds: list[float]
    statements: float
    """Per request."""


def time_requests(
    client: Any,
    timer: ServerTimer,
    statements: StatementCounter,
    path: str,
    headers: dict[str, str],
    count: int,
) -> Series:
    for _ in range(WARM_UP):
        client.get(path, headers=headers).raise_for_status()
    seconds = []
    counted = statements.count
    for _ in range(count):
        client.get(path, headers=headers).raise_for_status()
        seconds.append(timer.last)
    return Series(seconds, (statements.count - counted) / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per series")
    parser.add_argument("--person", type=int, help="this person, not the most-seen utilizer")
    args = parser.parse_args()
    ready_store(args)

    from fastapi.testclient import TestClient

    from corespond.access import sessions
    from corespond.db.engine import get_engine, session_factory, unit_of_work
    from corespond.web.app import create_app

    with unit_of_work() as session:
        ensure_agreements(session)
        users = bench_users(session)
    clinician = users[0]
    with session_factory()() as session:
        candidates = (
            [args.person] if args.person else [p for p, _ in most_facts(session, CANDIDATES)]
        )
        seen = {person: visible_events(session, clinician.user_id, person) for person in candidates}
        person = max(seen, key=lambda candidate: (seen[candidate][1], -candidate))
        events = {user.username: visible_events(session, user.user_id, person) for user in users}
        session.rollback()
    total = events[clinician.username][0]
    print(f"person {person}: {total:,} events (chosen among {len(candidates)})", flush=True)

    timer = ServerTimer(create_app())
    statements = StatementCounter(get_engine())
    print(
        f"\n{'series':<42} {'median':>8} {'p95':>8} {'max':>8} {'seen':>5} {'withheld':>8} "
        f"{'SQL/req':>7} {'decisions/req':>13} {'audit rows/req':>14}"
    )
    worst = 0.0
    with TestClient(timer) as client:  # type: ignore[arg-type]
        for thread in threading.enumerate():
            if thread.name == "warm-matcher":
                thread.join()  # time the pages, not the matcher's index being built beside them
        for user in users:
            client.cookies.set(sessions.COOKIE, user.cookie)
            token = {"Authorization": f"Bearer {user.token}"}
            _, shown, withheld = events[user.username]
            for label, path, headers in (
                ("page /people/{id}", f"/people/{person}", {}),
                ("API timeline (first 500)", f"/api/v1/people/{person}/timeline?limit=500", token),
            ):
                before = audit_counts(session_factory)
                series = time_requests(client, timer, statements, path, headers, args.requests)
                seconds = series.seconds
                after = audit_counts(session_factory)
                written = after - before
                requests = args.requests + WARM_UP
                median, p95 = (
                    statistics.median(seconds) * 1000,
                    statistics.quantiles(seconds, n=100, method="inclusive")[94] * 1000,
                )
                worst = max(worst, p95)
                print(
                    f"{user.username + ': ' + label:<42} {median:>6.1f}ms {p95:>6.1f}ms "
                    f"{max(seconds) * 1000:>6.1f}ms {shown:>5,} {withheld:>8,} "
                    f"{series.statements:>7.0f} "
                    f"{written['access.decision'] / requests:>13.1f} "
                    f"{sum(written.values()) / requests:>14.1f}",
                    flush=True,
                )
            client.cookies.clear()
    verdict = "meets" if worst < TARGET_P95_MS else "misses"
    print(
        f"\nworst p95 {worst:.1f} ms: {verdict} the target (p95 under {TARGET_P95_MS} ms); "
        f"{args.requests} timed requests per series after {WARM_UP} to warm up; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
