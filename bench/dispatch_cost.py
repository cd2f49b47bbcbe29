"""What one live incident costs the app: intake and the board's brief, one at a time.

``bench/dispatch.py`` measures latency under load, where queueing and the machine's other work
(the bench's own client, PostgreSQL) blur what one incident costs. This runs the same incidents
(the city's EIDO calls that name people, each under a new incident id) through the app's intake
and brief, one after another, in this thread, on the same store: each incident's intake (what
``POST /api/v1/dispatch/incidents`` runs once the caller is known) and then its brief (what
``GET .../brief`` runs for the same dispatcher). Printed per step: the median and p95 wall time,
the CPU time (this thread's) and the SQL statements. HTTP, the token check and the event
stream come on top (``bench/dispatch.py`` includes them). CPU time per incident bounds the rate
one app process sustains: 1 s / (intake + brief + HTTP).

To see where the time goes, run it under a profiler: ``py-spy record --format raw -o
stacks.txt -- .venv/bin/python bench/dispatch_cost.py``, or cProfile (one thread).

    .venv/bin/python bench/dispatch_cost.py [--city var/bench-city]
        [--database URL | --postgres] [--incidents 300]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dispatch import _dispatcher_token, _templates  # noqa: E402
from person_page import StatementCounter, ready_store, store_arguments  # noqa: E402

WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(parser)
    parser.add_argument("--incidents", type=int, default=300, help="timed incidents")
    args = parser.parse_args()
    url = ready_store(args)
    _dispatcher_token()  # the bench's dispatcher, made if missing
    templates = _templates(args.city)

    from sqlalchemy import select

    from corespond import models
    from corespond.db.engine import get_engine, session_factory
    from corespond.dispatch import endpoints
    from corespond.linkage.matcher import warm

    with session_factory()() as session:
        user = session.scalar(select(models.User.id).where(models.User.username == "bench-cad"))
        warm(session)  # the matcher's index, as the app builds it at start-up
    assert user is not None
    dispatcher = SimpleNamespace(user_id=user)
    statements = StatementCounter(get_engine())
    tag = uuid.uuid4().hex[:8]
    steps = ("intake", "brief")
    wall: dict[str, list[float]] = {step: [] for step in steps}
    cpu = dict.fromkeys(steps, 0.0)
    sql = dict.fromkeys(steps, 0)

    def timed(step: str, count: bool, run: Callable[..., Any], *given: Any) -> Any:
        counted, started, own = statements.count, time.perf_counter(), time.thread_time()
        found = run(*given)
        if count:
            wall[step].append((time.perf_counter() - started) * 1000)
            cpu[step] += (time.thread_time() - own) * 1000
            sql[step] += statements.count - counted
        return found

    for index in range(WARM_UP + args.incidents):
        document = copy.deepcopy(templates[index % len(templates)])
        incident = document.get("incidentComponent")
        if isinstance(incident, list):
            incident = incident[0]
        incident["internalIncidentId"] = f"COST-{tag}-{index}"
        count = index >= WARM_UP
        received = timed("intake", count, endpoints._receive, user, document, "eido")
        timed("brief", count, endpoints.get_brief, received[3], dispatcher)
    number = args.incidents
    print(f"\nstore {url}: {number} incidents after {WARM_UP} to warm up, one at a time")
    print(f"{'step':<8} {'median':>9} {'p95':>9} {'CPU':>9} {'SQL':>6}")
    for step in steps:
        p95 = statistics.quantiles(wall[step], n=100, method="inclusive")[94]
        print(
            f"{step:<8} {statistics.median(wall[step]):>7.1f}ms {p95:>7.1f}ms "
            f"{cpu[step] / number:>7.1f}ms {sql[step] / number:>6.1f}"
        )
    per_incident = sum(cpu.values()) / number
    print(
        f"\nCPU per incident (intake + brief, without HTTP): {per_incident:.1f} ms; "
        f"{sum(sql.values()) / number:.1f} statements"
    )


if __name__ == "__main__":
    main()
