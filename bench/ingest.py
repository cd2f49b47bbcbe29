"""Ingest speed and memory against raw bulk load of the same rows.

Imports the CAD calls CSV of a synthetic city (default: the 100,000-person, 3-year city, built
if missing) into SQLite and into PostgreSQL through the real importer, each in a fresh process
so that peak memory is its own; and in the same run loads the same rows raw (SQLite
``executemany`` in one transaction; PostgreSQL ``COPY``) twice: into one flat table of text
columns with no index, the floor of the database itself; and into the store's own call and unit
tables with their indexes and foreign keys, the floor of any importer into this store. Memory
flatness: the importer is also run on the first half of the file, and both peaks are printed
(``--no-half`` skips it).

    .venv/bin/python bench/ingest.py [--city var/bench-city] [--no-postgres]
        [--database-prefix corespond_bench] [--no-half]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def ensure_city(city: Path, people: int, years: int) -> Path:
    calls = city / "cad" / "calls.csv"
    if not calls.exists():
        print(f"building the {people:,}-person, {years}-year city in {city} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "corespond",
                "demo",
                "city",
                "--people",
                str(people),
                "--years",
                str(years),
                "--out",
                str(city),
            ],
            check=True,
        )
    return calls


def head(path: Path, fraction: float, out: Path) -> Path:
    lines = sum(1 for _ in path.open("rb")) - 1
    keep = int(lines * fraction)
    with path.open("rb") as source, out.open("wb") as target:
        for index, line in enumerate(source):
            if index > keep:
                break
            target.write(line)
    return out


def run_importer(csv_path: Path, url: str, *, set_lane: bool = True) -> dict[str, float]:
    """Import in a child process; it reports its own time and peak RSS.

    ``set_lane=False`` reads every row through the row path (``CORESPOND_INGEST_SET_LANE``).
    """
    code = f"""
import json, time
from pathlib import Path
from corespond.db import migrate
from corespond.db.engine import get_engine, unit_of_work
from corespond.ingest import service
from corespond.sources.plan import plan_exports
migrate.upgrade(get_engine())
started = time.perf_counter()
[task] = plan_exports(
    [Path({str(csv_path)!r})], format="cad-csv", source="bench CAD",
    default_timezone="America/Los_Angeles",
)
with unit_of_work() as session:
    summary = service.run(session, task)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
status = open("/proc/self/status").read().splitlines()
peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({{"rows": summary.read, "seconds": seconds, "peak_mb": peak_kb / 1024}}))
"""
    env = {
        **os.environ,
        "CORESPOND_DATABASE_URL": url,
        "CORESPOND_INGEST_SET_LANE": "true" if set_lane else "false",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def raw_sqlite(csv_path: Path, db: Path) -> dict[str, float]:
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        connection = sqlite3.connect(db)
        connection.execute("PRAGMA journal_mode=WAL")
        columns = ", ".join(f'"c{i}" TEXT' for i in range(len(header)))
        connection.execute(f"CREATE TABLE raw ({columns})")
        marks = ", ".join("?" for _ in header)
        with connection:
            connection.executemany(f"INSERT INTO raw VALUES ({marks})", reader)
        rows = connection.execute("SELECT count(*) FROM raw").fetchone()[0]
        connection.close()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def raw_postgres(csv_path: Path, url: str) -> dict[str, float]:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        with csv_path.open("rb") as handle:
            header = next(csv.reader([handle.readline().decode("utf-8-sig")]))
        columns = ", ".join(f'"c{i}" TEXT' for i in range(len(header)))
        connection.execute(f"CREATE TABLE raw ({columns})")
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        rows = connection.execute("SELECT count(*) FROM raw").fetchone()[0]
    return {"rows": rows, "seconds": time.perf_counter() - started}


CALL_COLUMNS = (
    "source_key", "call_source", "priority", "initial_call_type", "final_call_type",
    "disposition", "received_at", "queued_at", "dispatched_at", "first_arrival_at", "cleared_at",
)  # fmt: skip
CALL_FIELDS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
UNIT_COLUMNS = (
    "source_key", "call_key", "call_sign", "responder_type",
    "dispatched_at", "en_route_at", "at_scene_at", "in_service_at",
)  # fmt: skip
PROVENANCE = ("source_system_id", "ingest_run_id", "content_hash", "data_category", "updated_at")


def store_rows(csv_path: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The CSV's rows as the store's call and unit rows, their text as the CSV has it.

    One call row per event (its first row), one unit row per CSV row: no parsing and no checks;
    only the call source and responder type go through the adapter's code tables, since the
    store's columns hold our codes and PostgreSQL refuses the longer source text.
    """
    from corespond.sources.cad_csv import CALL_SOURCES, RESPONDER_TYPES

    calls, units = [], []
    last_event = None
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            if row[0] != last_event:
                last_event = row[0]
                call = [row[i] or None for i in CALL_FIELDS]
                call[1] = CALL_SOURCES.get(row[1].upper())
                calls.append((*call, *_provenance("call")))
            key = f"{row[0]}/{row[18]}/{row[20]}"
            responder = RESPONDER_TYPES.get(row[19].upper(), "other")
            times = (value or None for value in row[20:24])
            units.append((key, row[0], row[18], responder, *times, *_provenance("call")))
    return calls, units


def _provenance(category: str) -> tuple[object, ...]:
    return (1, 1, "0" * 64, category, "2026-01-01 00:00:00")


def raw_store(csv_path: Path, url: str) -> dict[str, float]:
    """Raw bulk load of the same rows into the store's own tables, indexes and all."""
    subprocess.run(
        [sys.executable, "-c", "from corespond.db import migrate; from corespond.db.engine "
         "import get_engine; migrate.upgrade(get_engine())"],
        env={**os.environ, "CORESPOND_DATABASE_URL": url}, check=True,
    )  # fmt: skip
    started = time.perf_counter()
    calls, units = store_rows(csv_path)
    setup = (
        "INSERT INTO source_system (id, name, created_at) VALUES (1, 'raw', '2026-01-01');"
        "INSERT INTO ingest_run (id, source_system_id, format, status, started_at, read, stored,"
        " unchanged, quarantined) VALUES (1, 1, 'cad-csv', 'running', '2026-01-01', 0, 0, 0, 0)"
    )
    call_names = ", ".join((*CALL_COLUMNS, *PROVENANCE))
    unit_names = ", ".join((*UNIT_COLUMNS, *PROVENANCE))
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        with connection:
            connection.executescript(f"BEGIN; {setup}; COMMIT;")
        with connection:
            for table, names, rows in (
                ("call_for_service", call_names, calls),
                ("unit_response", unit_names, units),
            ):
                marks = ", ".join("?" for _ in rows[0])
                connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        connection.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", "")) as connection:
            connection.execute("SET DateStyle = 'ISO, MDY'")
            for statement in setup.split(";"):
                connection.execute(statement)
            with connection.cursor() as cursor:
                for table, names, rows in (
                    ("call_for_service", call_names, calls),
                    ("unit_response", unit_names, units),
                ):
                    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
    return {"rows": len(units), "seconds": time.perf_counter() - started}


def fresh_postgres(name: str) -> str:
    """An empty database ``name`` (dropped first if it exists), as a URL."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def report(label: str, result: dict[str, float]) -> None:
    rate = result["rows"] / result["seconds"] if result["seconds"] else 0
    memory = f"  peak {result['peak_mb']:,.0f} MB" if "peak_mb" in result else ""
    print(
        f"{label:<44} {result['rows']:>10,.0f} rows {result['seconds']:>8.1f} s "
        f"{rate:>10,.0f} rows/s{memory}",
        flush=True,
    )


def ratios(label: str, importer: dict[str, float], *raws: dict[str, float]) -> None:
    flat, store = (importer["seconds"] / raw["seconds"] for raw in raws)
    print(f"{label} importer / raw time: {flat:.2f}x flat table, {store:.2f}x the store's tables")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, default=Path("var/bench-city"))
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--database-prefix",
        default="corespond_bench",
        help="PostgreSQL databases made (and dropped) are named <prefix>_import and so on, "
        "so that two people can benchmark on one server",
    )
    parser.add_argument(
        "--no-half", action="store_true", help="skip the first-half import (memory flatness)"
    )
    parser.add_argument(
        "--row-path", action="store_true", help="also time the row path alone (no DuckDB lane)"
    )
    args = parser.parse_args()
    prefix = args.database_prefix

    calls = ensure_city(args.city, args.people, args.years)
    size_mb = calls.stat().st_size / 1e6
    print(f"CAD calls CSV: {calls} ({size_mb:,.0f} MB)\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        half = head(calls, 0.5, folder / "half.csv")
        if not args.no_sqlite:
            sqlite_import = run_importer(calls, f"sqlite:///{folder / 'import.db'}")
            sqlite_raw = raw_sqlite(calls, folder / "raw.db")
            sqlite_store = raw_store(calls, f"sqlite:///{folder / 'raw-store.db'}")
            report("SQLite  importer (whole file)", sqlite_import)
            if not args.no_half:
                sqlite_half = run_importer(half, f"sqlite:///{folder / 'half.db'}")
                report("SQLite  importer (first half)", sqlite_half)
            if args.row_path:
                rows_only = run_importer(calls, f"sqlite:///{folder / 'rows.db'}", set_lane=False)
                report("SQLite  importer, row path only", rows_only)
            report("SQLite  raw executemany, one flat table", sqlite_raw)
            report("SQLite  raw executemany, the store's tables", sqlite_store)
            ratios("SQLite", sqlite_import, sqlite_raw, sqlite_store)
        if not args.no_postgres:
            pg_import = run_importer(calls, fresh_postgres(f"{prefix}_import"))
            pg_raw = raw_postgres(calls, fresh_postgres(f"{prefix}_raw").replace("+psycopg", ""))
            pg_store = raw_store(calls, fresh_postgres(f"{prefix}_raw_store"))
            report("PostgreSQL importer (whole file)", pg_import)
            if not args.no_half:
                pg_half = run_importer(half, fresh_postgres(f"{prefix}_half"))
                report("PostgreSQL importer (first half)", pg_half)
            if args.row_path:
                rows_only = run_importer(calls, fresh_postgres(f"{prefix}_rows"), set_lane=False)
                report("PostgreSQL importer, row path only", rows_only)
            report("PostgreSQL raw COPY, one flat table", pg_raw)
            report("PostgreSQL raw COPY, the store's tables", pg_store)
            ratios("PostgreSQL", pg_import, pg_raw, pg_store)
    print(
        "\nbench process peak RSS:",
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
    )


if __name__ == "__main__":
    main()
