"""Latency of matching one new record against 1,000,000 linked records, and top-1 accuracy.

Builds a store (SQLite, in a temporary folder, or ``--folder`` to keep it and reuse it) holding
the linked records: synthetic person records (``linkage_data``) are inserted and linked by a
batch run. Then held-out records of the same synthetic people are matched one at a time, as a
911 call or a shelter intake would be, each in a fresh process:

- *in-memory index*: the process starts as a server does, warming the online matcher's index
  (``matcher.warm``) before its first lookup; we report that start-up, the first lookup, every
  lookup once ("cold": the index is warm, but the process has not seen these queries or their
  candidates before, and SQLite's page cache starts empty in it), and the same lookups again;
- *from the store*: the same, with candidates read from the store on every lookup
  (``in_memory=False``, as incremental linking does), for comparison.

In the same run, Splink's own ``predict_between`` scores the same queries against the same
records with the same trained model.

Top-1 accuracy: among queries whose true person already has records in the store, the share
whose best candidate person holds a record of that true person.

    .venv/bin/python bench/linkage_realtime.py [--records 1000000] [--queries 300] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--folder", type=Path, help="keep the store here (reused if present)")
    parser.add_argument("--lookups", choices=["in-memory", "store"], help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookups:
        lookups(args.folder, in_memory=args.lookups == "in-memory", spawned=args.spawned)
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="corespond-realtime-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["CORESPOND_DATABASE_URL"] = f"sqlite:///{folder / 'store.db'}"

    from linkage_data import records

    data = list(records(args.records + args.queries))
    stored, queries = data[: args.records], data[args.records :]
    if not (folder / "linked").exists():
        link(stored)
        (folder / "linked").touch()
    with open(folder / "queries.pickle", "wb") as out:
        pickle.dump([identity for identity, _ in queries], out)

    from corespond.db.engine import session_factory
    from corespond.linkage import repository

    truth = {identity.record_id: person for identity, person in stored}
    with session_factory()() as session:
        persons_of_truth: dict[int, set[int]] = {}
        for record, person in repository.current_links(session).items():
            persons_of_truth.setdefault(truth[record], set()).add(person)
    for mode in ("in-memory", "store"):
        began = time.perf_counter()
        child = subprocess.run(
            [sys.executable, __file__, "--folder", str(folder), "--lookups", mode,
             "--spawned", str(time.time())],
            check=True, capture_output=True, text=True, env=os.environ,
        )  # fmt: skip
        figures = json.loads(child.stdout)
        where = "in memory" if mode == "in-memory" else "read from the store"
        print(f"\nonline matcher, candidates {where}")
        print(
            f"  process start to ready         {figures['ready']:7.2f} s  (of which imports "
            f"{figures['imports']:.2f} s, warming the index {figures['index']:.2f} s)"
        )
        if mode == "in-memory":
            sizes = ("arrays", "held", "before", "after", "peak")
            mb = {name: figures[name] / 2**20 for name in sizes}
            print(
                f"  index of {figures['indexed']:,} records: {mb['held']:,.0f} MB (arrays "
                f"{mb['arrays']:,.0f} MB, the rest the distinct values they code for); "
                f"process memory {mb['before']:,.0f} MB before warming, {mb['after']:,.0f} MB "
                f"after (+{mb['after'] - mb['before']:,.0f} MB), peak {mb['peak']:,.0f} MB"
            )
        print(f"  first lookup after start-up    {1000 * figures['cold'][0]:7.2f} ms")
        report("  cold (each query once)", figures["cold"])
        report("  the same queries again", figures["again"])
        hits = answerable = 0
        for (_identity, person), top in zip(queries, figures["top"], strict=True):
            if person in persons_of_truth:
                answerable += 1
                hits += top in persons_of_truth[person]
        print(
            f"  top-1 accuracy {hits / max(1, answerable):.3f} ({answerable} queries whose "
            f"person is known); the process ran {time.perf_counter() - began:.0f} s"
        )
    splink_between(queries, stored)


def link(stored: list) -> None:  # type: ignore[type-arg]
    from sqlalchemy import insert

    from corespond import models
    from corespond.db import migrate
    from corespond.db.engine import get_engine, unit_of_work
    from corespond.linkage import service

    migrate.upgrade(get_engine())
    started = time.perf_counter()
    with unit_of_work() as session:
        source = models.SourceSystem(name="bench")
        session.add(source)
        session.flush()
        for start in range(0, len(stored), 20_000):
            session.execute(
                insert(models.PersonRecord),
                [_row(identity, source.id) for identity, _ in stored[start : start + 20_000]],
            )
    print(f"stored {len(stored):,} records in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    with unit_of_work() as session:
        summary = service.run(session)
    print(f"batch linkage: {summary.persons:,} persons in {time.perf_counter() - started:.0f} s")


def lookups(folder: Path, *, in_memory: bool, spawned: float) -> None:
    """In a fresh process: start as a server would, then match each query (JSON to stdout)."""
    began = time.perf_counter()
    interpreter = time.time() - spawned
    from corespond.db.engine import session_factory
    from corespond.linkage.matcher import OnlineMatcher, warm

    imported = time.perf_counter()
    with open(folder / "queries.pickle", "rb") as source:
        queries = pickle.load(source)
    before = _memory("VmRSS")
    with session_factory()() as session:
        index = warm(session) if in_memory else None
    warmed = time.perf_counter()
    after = _memory("VmRSS")
    with session_factory()() as session:
        matcher = OnlineMatcher(session, in_memory=in_memory)
        assert (matcher.index is not None) is in_memory
        cold, top = [], []
        for identity in queries:
            start = time.perf_counter()
            result = matcher.match(session, identity)
            cold.append(time.perf_counter() - start)
            top.append(result.candidates[0].person_id if result.candidates else None)
        again = []
        for identity in queries:
            start = time.perf_counter()
            matcher.match(session, identity)
            again.append(time.perf_counter() - start)
    figures = {
        "imports": imported - began,
        "index": warmed - imported,
        "ready": interpreter + warmed - began,
        "cold": cold,
        "again": again,
        "top": top,
        "indexed": index.records if index else 0,
        "arrays": index.nbytes() if index else 0,
        "held": _held_by(index) if index else 0,
        "before": before,
        "after": after,
        "peak": _memory("VmHWM"),
    }
    json.dump(figures, sys.stdout)


def _held_by(index) -> int:  # type: ignore[no-untyped-def]
    """Bytes the index holds: its arrays and the distinct values they code for."""
    seen: set[int] = set()

    def size(value: object) -> int:
        if id(value) in seen:
            return 0
        seen.add(id(value))
        inner = sum(size(item) for item in value) if isinstance(value, tuple) else 0
        return sys.getsizeof(value) + inner

    total = index.nbytes()
    for segment in index.segments:
        columns = segment.columns
        total += sum(summary.nbytes for summary in columns.summaries.values())
        for values in columns.values.values():
            total += sys.getsizeof(values) + sum(size(value) for value in values)
    return total


def _memory(field: str) -> int:
    """This process's memory figure ``field`` (VmRSS, VmHWM) from /proc, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def splink_between(queries: list, stored: list) -> None:  # type: ignore[type-arg]
    """Splink's predict_between for each query against the stored records, same model."""
    from splink import Linker

    from corespond.db.engine import session_factory
    from corespond.linkage import repository
    from corespond.linkage.features import features
    from corespond.linkage.model import LinkageModel, to_table

    with session_factory()() as session:
        model_json = json.loads(repository.latest_model(session).settings_json)  # type: ignore[union-attr]
    linkable = [f for f in (features(i) for i, _ in stored) if f.unlinkable is None]
    model = LinkageModel(to_table(linkable), model_json)
    linker: Linker = model.linker
    for column in ("first_name", "last_name"):
        linker.table_management.compute_tf_table(column)
    latencies = []
    for number, (identity, _) in enumerate(queries):
        query = features(identity)
        frame = model.db_api.register(to_table([query]), table_name=f"query_{number}")
        began = time.perf_counter()
        result = linker.inference.predict_between(
            frame, model.frame, threshold_match_probability=0.2
        )
        result.as_record_list()
        latencies.append(time.perf_counter() - began)
    print()
    report("Splink predict_between", latencies)
    model.close()


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"{label:<30} median {1000 * statistics.median(ordered):7.2f} ms  "
        f"p95 {1000 * p95:7.2f} ms  max {1000 * ordered[-1]:7.2f} ms  ({len(ordered)} queries)",
        flush=True,
    )


def _row(identity, source_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "id": identity.record_id,
        "source_system_id": source_id,
        "source_key": str(identity.record_id),
        "content_hash": "bench",
        "data_category": "identity",
        "first_name": identity.first_name,
        "middle_name": identity.middle_name,
        "last_name": identity.last_name,
        "dob": identity.dob,
        "sex": identity.sex,
        "ssn_blind_index": identity.ssn_index,
        "phone": identity.phone,
        "street": identity.street,
        "zip": identity.zip,
    }


if __name__ == "__main__":
    main()
