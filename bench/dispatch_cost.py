"""What one live incident costs the server: intake and the board's brief, one at a time.

``bench/dispatch.py`` measures latency under load, where queueing and the machine's other work
(the bench's own client, PostgreSQL) blur what one incident costs. This runs the same incidents
(the city's EIDO calls that name people, each under a new incident id) through the app
in-process (FastAPI's TestClient), one after another, on the same store: each incident's intake
(``POST /api/v1/dispatch/incidents``) and then its brief as the board fetches it
(``GET .../brief``). Printed per request kind: the server's median and p95 wall time, its CPU
time per request (the whole process's, which is all the app's here) and the SQL statements per
request. CPU time per incident bounds the rate one app process sustains: 1 s / (intake + brief).

To see where the time goes, run it under a sampling profiler (the app runs in other threads
than this one): ``py-spy record --format raw -o stacks.txt -- .venv/bin/python
bench/dispatch_cost.py``.

    .venv/bin/python bench/dispatch_cost.py [--city var/bench-city]
        [--database URL | --postgres] [--incidents 300]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dispatch import _dispatcher_token, _templates  # noqa: E402
from person_page import (  # noqa: E402
    ServerTimer,
    StatementCounter,
    ready_store,
    store_arguments,
)

WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(parser)
    parser.add_argument("--incidents", type=int, default=300, help="timed incidents")
    args = parser.parse_args()
    url = ready_store(args)
    token = _dispatcher_token()
    templates = _templates(args.city)

    from fastapi.testclient import TestClient

    from corespond.db.engine import get_engine
    from corespond.linkage import matcher
    from corespond.web.app import create_app

    timer = ServerTimer(create_app())
    statements = StatementCounter(get_engine())
    headers = {"Authorization": f"Bearer {token}"}
    tag = uuid.uuid4().hex[:8]
    kinds = ("intake", "brief")
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu = dict.fromkeys(kinds, 0.0)
    sql = dict.fromkeys(kinds, 0)
    with TestClient(timer) as client:  # type: ignore[arg-type]
        for thread in threading.enumerate():
            if thread.name == "warm-matcher":
                thread.join()
        while not matcher.indexed():
            time.sleep(0.5)
        print(f"store {url}; load average {os.getloadavg()[0]:.2f}", flush=True)
        for index in range(WARM_UP + args.incidents):
            timed = index >= WARM_UP
            document = copy.deepcopy(templates[index % len(templates)])
            incident = document.get("incidentComponent")
            if isinstance(incident, list):
                incident = incident[0]
            incident["internalIncidentId"] = f"COST-{tag}-{index}"
            answer, created = None, 0
            for kind in kinds:
                counted, started = statements.count, time.process_time()
                if kind == "intake":
                    answer = client.post(
                        "/api/v1/dispatch/incidents", json=document, headers=headers
                    )
                else:
                    answer = client.get(
                        f"/api/v1/dispatch/incidents/{created}/brief", headers=headers
                    )
                spent = time.process_time() - started
                answer.raise_for_status()
                if kind == "intake":
                    created = answer.json()["incident"]["id"]
                if timed:
                    wall[kind].append(timer.last * 1000)
                    cpu[kind] += spent * 1000
                    sql[kind] += statements.count - counted
    count = args.incidents
    print(f"\n{count} incidents after {WARM_UP} to warm up, one at a time")
    print(f"{'request':<8} {'median':>9} {'p95':>9} {'CPU/req':>9} {'SQL/req':>8}")
    for kind in kinds:
        p95 = statistics.quantiles(wall[kind], n=100, method="inclusive")[94]
        print(
            f"{kind:<8} {statistics.median(wall[kind]):>7.1f}ms {p95:>7.1f}ms "
            f"{cpu[kind] / count:>7.1f}ms {sql[kind] / count:>8.1f}"
        )
    per_incident = sum(cpu.values()) / count
    print(
        f"\nCPU per incident (intake + brief): {per_incident:.1f} ms, so one app process "
        f"sustains at most {1000 / per_incident:.0f} incidents per second; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
