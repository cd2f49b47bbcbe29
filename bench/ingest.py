"""Ingest speed and memory against raw bulk load of the same rows.

Imports the CAD calls CSV of a synthetic city (default: the 100,000-person, 3-year city, built
if missing) into SQLite and into PostgreSQL through the real importer, each in a fresh process
so that peak memory is its own; and in the same run loads the same rows raw (SQLite
``executemany`` in one transaction; PostgreSQL ``COPY``). Memory flatness: the importer is also
run on the first half of the file, and both peaks are printed.

    .venv/bin/python bench/ingest.py [--city var/bench-city] [--no-postgres]
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


def run_importer(csv_path: Path, url: str) -> dict[str, float]:
    """Import in a child process; it reports its own time and peak RSS."""
    code = f"""
import json, resource, time
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
print(json.dumps({{"rows": summary.read, "seconds": seconds,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    env = {**os.environ, "CORESPOND_DATABASE_URL": url}
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


def fresh_postgres(name: str) -> str:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, default=Path("var/bench-city"))
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()

    calls = ensure_city(args.city, args.people, args.years)
    size_mb = calls.stat().st_size / 1e6
    print(f"CAD calls CSV: {calls} ({size_mb:,.0f} MB)\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        half = head(calls, 0.5, folder / "half.csv")
        if not args.no_sqlite:
            sqlite_import = run_importer(calls, f"sqlite:///{folder / 'import.db'}")
            sqlite_half = run_importer(half, f"sqlite:///{folder / 'half.db'}")
            sqlite_raw = raw_sqlite(calls, folder / "raw.db")
            report("SQLite  importer (whole file)", sqlite_import)
            report("SQLite  importer (first half)", sqlite_half)
            report("SQLite  raw executemany, one transaction", sqlite_raw)
            ratio = sqlite_import["seconds"] / sqlite_raw["seconds"]
            print(f"SQLite  importer / raw time: {ratio:.2f}x")
        if not args.no_postgres:
            pg_import = run_importer(calls, fresh_postgres("corespond_bench_import"))
            pg_half = run_importer(half, fresh_postgres("corespond_bench_half"))
            pg_raw = raw_postgres(
                calls, fresh_postgres("corespond_bench_raw").replace("+psycopg", "")
            )
            report("PostgreSQL importer (whole file)", pg_import)
            report("PostgreSQL importer (first half)", pg_half)
            report("PostgreSQL raw COPY", pg_raw)
            print(
                f"PostgreSQL importer / raw time: {pg_import['seconds'] / pg_raw['seconds']:.2f}x"
            )
    print(
        "\nbench process peak RSS:",
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
    )


if __name__ == "__main__":
    main()
