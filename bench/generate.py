"""Benchmark: time and peak memory to generate the synthetic city (100,000 people, 3 years).

Usage:
    .venv/bin/python bench/generate.py [--people 100000] [--years 3] [--seed 7] [--out DIR] [--keep]

Prints wall time, CPU time, peak RSS of the process, and per-folder file counts and sizes.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from corespond.demo.city import build_city
from corespond.demo.params import CityParams


def _megabytes(size: float) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _folder_sizes(root: Path) -> list[tuple[str, int, int]]:
    rows = []
    for folder in sorted(p for p in root.iterdir()):
        files = [folder] if folder.is_file() else [p for p in folder.rglob("*") if p.is_file()]
        rows.append((folder.name, len(files), sum(p.stat().st_size for p in files)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    params = CityParams(people=args.people, years=args.years, seed=args.seed)
    out = args.out or Path(tempfile.mkdtemp(prefix="corespond-city-"))
    try:
        measure(params, out)
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def measure(params: CityParams, out: Path) -> None:
    """Build the city into ``out`` and print the figures."""
    last_report = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last_report[0] > 15 or done == total:
            last_report[0] = now
            print(f"  {stage}: {done}/{total} days, {now - started:,.0f} s", file=sys.stderr)

    started = time.perf_counter()
    cpu_started = time.process_time()
    summary = build_city(params, out, progress=progress)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"city: {params.people:,} people, {params.years} years, seed {params.seed} -> {out}")
    print(f"wall time: {wall:,.1f} s   cpu time: {cpu:,.1f} s   peak RSS: {peak_mb:,.0f} MB")
    print(f"calls: {summary.calls:,}")
    for source, kinds in summary.records.items():
        listed = ", ".join(f"{kind} {count:,}" for kind, count in kinds.items())
        print(f"  {source:<11} {sum(kinds.values()):>10,} records ({listed})")
    total_files = total_bytes = 0
    print("files:")
    for name, count, size in _folder_sizes(out):
        total_files, total_bytes = total_files + count, total_bytes + size
        print(f"  {name:<18} {count:>7,} files {_megabytes(size):>12}")
    print(f"  {'total':<18} {total_files:>7,} files {_megabytes(total_bytes):>12}")


if __name__ == "__main__":
    main()
