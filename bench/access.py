"""The cost of an access decision and of an audited read; audit append throughput.

1. A policy decision (Cedar) alone: median and p95 over a mix of requests.
2. A read of one person's records, plain and then with a decision per category plus an audit
   event in the same transaction: median and p95 of each, and what the decision adds.
3. Audit appends from several concurrent writers, on SQLite and PostgreSQL: appends per second,
   and a check that the chain is still one unbroken chain.

    .venv/bin/python bench/access.py [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DECISIONS = 5_000
READS = 1_000
WRITERS = 4
APPENDS_PER_WRITER = 250


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def bench_decisions() -> None:
    from corespond.access.decisions import Fact, Grounds, Subject, decide
    from corespond.access.roles import Purpose, Role
    from corespond.sources.records import DataCategory

    subject = Subject(1, 1, "Riverbend PD", "police", True, frozenset({Role.OFFICER}))
    categories = [c.value for c in DataCategory]
    times = []
    for n in range(DECISIONS):
        fact = Fact(categories[n % len(categories)], 1 + n % 3, "Owner", "behavioral_health")
        grounds = Grounds(Purpose.EMERGENCY_RESPONSE, agreement_id=4 if n % 2 else None)
        began = time.perf_counter()
        decide(subject, fact, grounds)
        times.append(time.perf_counter() - began)
    median, p95 = percentiles(times)
    print(f"policy decision              median {median * 1e6:7.0f} µs  p95 {p95 * 1e6:7.0f} µs")


def bench_reads(url: str, label: str) -> None:
    os.environ["CORESPOND_DATABASE_URL"] = url
    from sqlalchemy import select

    from corespond import models
    from corespond.access.decisions import Fact, Grounds, Subject, decide
    from corespond.access.roles import Purpose, Role
    from corespond.audit.chain import record
    from corespond.config import get_settings
    from corespond.db import migrate
    from corespond.db.engine import get_engine, reset_engine, unit_of_work

    get_settings.cache_clear()
    reset_engine()
    migrate.upgrade(get_engine())
    with unit_of_work() as session:
        system = models.SourceSystem(name=f"bench {label}")
        session.add(system)
        session.flush()
        session.add_all(
            models.PersonRecord(
                source_system_id=system.id,
                source_key=str(n),
                first_name="Ana",
                last_name=f"Reyes{n % 500}",
                content_hash="x",
                data_category="identity",
            )
            for n in range(5_000)
        )
    subject = Subject(1, 1, "Care team", "care_team", False, frozenset({Role.CLINICIAN}))
    categories = ("identity", "safety", "health", "behavioral_health", "housing")

    def read(n: int, *, decided: bool, audited: bool = True) -> float:
        began = time.perf_counter()
        with unit_of_work() as session:
            rows = session.scalars(
                select(models.PersonRecord).where(
                    models.PersonRecord.last_name == f"Reyes{n % 500}"
                )
            ).all()
            if decided:
                allowed = []
                for category in categories:
                    decision = decide(
                        subject, Fact(category, 2, "BH", "behavioral_health"),
                        Grounds(Purpose.CARE_COORDINATION, consent_id=12 if n % 2 else None),
                    )  # fmt: skip
                    if decision.allowed:
                        allowed.append(category)
                if audited:
                    record(
                        session, action="person.read", actor="user:1", person_id=n,
                        categories=allowed, purpose="care_coordination", legal_basis="consent:12",
                    )  # fmt: skip
            assert rows
        return time.perf_counter() - began

    runs = {
        "read, plain": [read(n, decided=False) for n in range(READS)],
        "read + 5 decisions": [read(n, decided=True, audited=False) for n in range(READS)],
        "read + 5 decisions + audit event": [read(n, decided=True) for n in range(READS)],
    }
    base = percentiles(runs["read, plain"])[1]
    for name, times in runs.items():
        median, p95 = percentiles(times)
        added = f"  (adds {(p95 - base) * 1e3:.2f} ms at p95)" if name != "read, plain" else ""
        print(
            f"{label:<10} {name:<33} median {median * 1e3:6.2f} ms  p95 {p95 * 1e3:6.2f} ms{added}"
        )


def bench_appends(url: str, label: str) -> None:
    os.environ["CORESPOND_DATABASE_URL"] = url
    from corespond.audit import chain
    from corespond.config import get_settings
    from corespond.db import migrate
    from corespond.db.engine import get_engine, reset_engine, session_factory, unit_of_work

    get_settings.cache_clear()
    reset_engine()
    migrate.upgrade(get_engine())
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for n in range(APPENDS_PER_WRITER):
                with unit_of_work() as session:
                    chain.record(
                        session, action="bench.append", actor=f"user:{number}", person_id=n
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    with session_factory()() as session:
        result = chain.verify(session)
    total = WRITERS * APPENDS_PER_WRITER
    print(
        f"{label:<10} audit appends, {WRITERS} writers   {total / seconds:7.0f} per second "
        f"({total:,} in {seconds:.1f} s); chain intact: {result.ok} ({result.events:,} events); "
        f"errors: {len(errors)}"
    )


def fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    bench_decisions()
    with tempfile.TemporaryDirectory() as folder:
        bench_reads(f"sqlite:///{folder}/reads.db", "SQLite")
        bench_appends(f"sqlite:///{folder}/appends.db", "SQLite")
    if not args.no_postgres:
        bench_reads(fresh_postgres("corespond_bench_reads"), "PostgreSQL")
        bench_appends(fresh_postgres("corespond_bench_appends"), "PostgreSQL")


if __name__ == "__main__":
    main()
