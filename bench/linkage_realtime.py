"""Latency of matching one new record against 1,000,000 linked records, and top-1 accuracy.

Builds a store (SQLite, in a temporary folder) holding the linked records: synthetic person
records (``linkage_data``) are inserted and linked by a batch run; then held-out records of the
same synthetic people are matched one at a time by the online matcher, as a 911 call or a
shelter intake would be. In the same run, Splink's own ``predict_between`` scores the same
queries against the same records with the same trained model.

Top-1 accuracy: among queries whose true person already has records in the store, the share
whose best candidate person holds a record of that true person.

    .venv/bin/python bench/linkage_realtime.py [--records 1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="corespond-realtime-"))
    os.environ["CORESPOND_DATABASE_URL"] = f"sqlite:///{folder / 'store.db'}"

    from sqlalchemy import insert

    from corespond import models
    from corespond.db import migrate
    from corespond.db.engine import get_engine, session_factory, unit_of_work
    from corespond.linkage import repository, service
    from corespond.linkage.matcher import OnlineMatcher
    from linkage_data import records

    data = list(records(args.records + args.queries))
    stored, queries = data[: args.records], data[args.records :]
    truth = {identity.record_id: person for identity, person in stored}
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

    with session_factory()() as session:
        links = repository.current_links(session)
        persons_of_truth: dict[int, set[int]] = {}
        for record, person in links.items():
            persons_of_truth.setdefault(truth[record], set()).add(person)
        matcher = OnlineMatcher(session)
        latencies, hits, answerable = [], 0, 0
        for identity, person in queries:
            began = time.perf_counter()
            result = matcher.match(session, identity)
            latencies.append(time.perf_counter() - began)
            if person in persons_of_truth:
                answerable += 1
                top = result.candidates[0].person_id if result.candidates else None
                hits += top in persons_of_truth[person]
        warm = []
        for identity, _person in queries:  # again: candidates' features now cached, as in a
            began = time.perf_counter()  # long-running server that has seen these people
            matcher.match(session, identity)
            warm.append(time.perf_counter() - began)
    report("corespond online matcher", latencies)
    report("  the same queries again", warm)
    print(
        f"{'':<28} top-1 accuracy {hits / max(1, answerable):.3f} "
        f"({answerable} queries whose person is known)"
    )
    splink_between(queries, stored)


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
    report("Splink predict_between", latencies)
    model.close()


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"{label:<28} median {1000 * statistics.median(ordered):7.2f} ms  "
        f"p95 {1000 * p95:7.2f} ms  ({len(ordered)} queries)",
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
