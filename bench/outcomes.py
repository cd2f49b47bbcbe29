"""Server time of the outcomes dashboard and of an evaluation run, over the 100,000-person city.

In a store holding a synthetic city (default: the 3-year city in var/bench-city, about a million
calls), imported and linked once, the call facts are rebuilt in full (timed), then:

- the dashboard (``GET /outcomes``: every tile with its trend, the previous period, the responder
  table), a metric's drill-down (trend and six breakdowns) and a filtered dashboard are each
  requested N times by a program manager (signed in; FastAPI's TestClient, the time is the
  server's, measured around the ASGI app; each request also catches the facts up with any new
  ingest run, as the page always does);
- the evaluation (difference-in-differences with event studies and interrupted time series for
  four outcomes, TOST for priority-1 response time) is run M times, uncached.

Printed: median, p95 and max of each; the evaluation's findings beside the effects the generator
made (``demo.truth.expected_changes``: the same comparison on the generator's truth). Target:
the dashboard under 1 s.

    .venv/bin/python bench/outcomes.py [--city var/bench-city] [--database URL | --postgres]
        [--requests 30] [--evaluations 5] [--no-refresh]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time
from typing import Any

from corespond.demo.truth import expected_changes
from person_page import (
    PASSWORD,
    ServerTimer,
    ready_store,
    store_arguments,
)

TARGET_S = 1.0
WARM_UP = 2
USERNAME = "bench-program-manager"


def program_manager(session: Any) -> str:
    """The bench's program manager (at the care team's agency), and a fresh web session."""
    from sqlalchemy import select

    from corespond import models
    from corespond.access import sessions, users

    agency = session.scalars(
        select(models.Agency).where(models.Agency.kind == "care_team").order_by(models.Agency.id)
    ).first()
    if agency is None:
        raise SystemExit("the city has no care-team agency")
    user = session.scalar(select(models.User).where(models.User.username == USERNAME))
    if user is None:
        user = users.add_user(
            session, username=USERNAME, display_name="Bench Program Manager",
            roles="program_manager", password=PASSWORD, agency_id=agency.id, by="bench",
        ).user  # fmt: skip
    return sessions.start(session, user)


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{statistics.median(ordered) * 1000:>9,.0f} {p95 * 1000:>9,.0f} "
        f"{ordered[-1] * 1000:>9,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(parser)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--evaluations", type=int, default=5, help="timed evaluation runs")
    parser.add_argument("--no-refresh", action="store_true", help="skip the full rebuild")
    args = parser.parse_args()
    ready_store(args)

    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from corespond import models
    from corespond.access import sessions
    from corespond.db.engine import session_factory, unit_of_work
    from corespond.outcomes import service
    from corespond.web.app import create_app

    definitions = service.definitions()
    with unit_of_work(session_factory(write=True)) as session:
        started = time.perf_counter()
        done = service.refresh(session, definitions, full=not args.no_refresh)
        rebuilt = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with unit_of_work() as session:
        calls = session.scalar(select(func.count()).select_from(models.OutcomeCall))
        first, last = session.execute(
            select(func.min(models.OutcomeCall.day), func.max(models.OutcomeCall.day))
        ).one()
        beat = service.program(session).beats
    print(
        f"call facts: {calls:,} calls from {first} to {last}; rebuilt {done.calls:,} in "
        f"{rebuilt:,.1f} s ({done.calls / max(rebuilt, 1e-9):,.0f} calls/s), peak RSS "
        f"{peak:,.0f} MB",
        flush=True,
    )
    with unit_of_work() as session:
        cookie = program_manager(session)

    pages = (
        ("dashboard, last 365 days", "/outcomes"),
        ("dashboard, 3 years", f"/outcomes?from={first}&to={last}"),
        ("dashboard, program area, category", "/outcomes?area=inside&category=behavioral"),
        ("dashboard, one beat", f"/outcomes?beat={sorted(beat)[0]}"),
        ("metric drill-down (arrests, 6 breakdowns)", "/outcomes/metrics/arrests_eligible"),
    )
    timer = ServerTimer(create_app())
    print(f"\n{'server time (ms)':<44} {'median':>9} {'p95':>9} {'max':>9}")
    worst = 0.0
    with TestClient(timer) as client:  # type: ignore[arg-type]
        for thread in threading.enumerate():
            if thread.name == "warm-matcher":
                thread.join()  # time the pages, not the matcher's index being built beside them
        client.cookies.set(sessions.COOKIE, cookie)
        for label, path in pages:
            for _ in range(WARM_UP):
                client.get(path).raise_for_status()
            seconds = []
            for _ in range(args.requests):
                client.get(path).raise_for_status()
                seconds.append(timer.last)
            if label.startswith("dashboard"):
                worst = max(worst, sorted(seconds)[round(0.95 * (len(seconds) - 1))])
            print(f"{label:<44} {summary(seconds)}", flush=True)

    runs = []
    result = None
    for _ in range(args.evaluations):
        with unit_of_work() as session:
            started = time.perf_counter()
            result = service.evaluate(session, definitions)
            runs.append(time.perf_counter() - started)
    print(f"{'evaluation run (4 outcomes + P1 TOST)':<44} {summary(runs)}")
    verdict = "meets" if worst < TARGET_S else "misses"
    print(f"\ndashboard p95 {worst * 1000:,.0f} ms: {verdict} the target of {TARGET_S:.0f} s")

    assert result is not None
    expected = expected_changes(args.city) if (args.city / "truth").is_dir() else {}
    print(
        f"\nfindings (the care team attended {expected.get('share', 0):.0%} of in-scope calls; "
        "'truth': the same comparison on the generator's record of every call):"
    )
    for item in result.results:
        given = expected.get(item.metric.key)
        effect = item.did.effect if item.did else None
        within = ""
        if given is not None and effect is not None:
            inside = "inside" if effect.low <= given <= effect.high else "OUTSIDE"
            within = f"  [truth {given:+.0%}: {inside} the CI]"
        print(f"- {item.finding}{within}")
    print(f"- {result.p1_finding}")


if __name__ == "__main__":
    main()
