"""Linkage quality on the synthetic city's ground truth, against two baselines in the same run.

Pairwise precision, recall and F1 of the final clusters (every pair of records put in one person
is a predicted match; every pair of records of one true person is a true match), and the
precision of the pairs sent to review. Baselines on the same records:

  (a) Splink with a default-style configuration: the library's stock name, date-of-birth and
      exact comparisons, blocking on name and on date of birth, connected components at 0.5;
  (b) the common exact rule: two records match when two of SSN, normalised full name and date
      of birth agree (clustered transitively).

    .venv/bin/python bench/linkage_quality.py [--city var/bench-city] [--database URL]
        [--misses] [--name-only]

``--misses``: also where the true pairs corespond missed are, by the source and the fields of
the records split off from each true person's largest cluster (pairs lost to that cluster).

``--name-only``: also how far recall could go by placing each cluster of records that hold only a
name (with the namesake most likely to be on its calls, by how often each namesake is on calls
within 90 days of them and on calls of the same type) at any confidence threshold, with the best
recall any threshold reaches at precision >= 0.995: the bound docs/linkage.md discusses.

The store must hold the city's import (``corespond ingest CITY``); with no --database, the
city is imported into var/bench-link.db first if that file does not exist.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_DATABASE = Path("var/bench-link.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, default=Path("var/bench-city"))
    parser.add_argument("--database", help="SQLAlchemy URL of a store holding the city")
    parser.add_argument("--misses", action="store_true", help="where the missed pairs are")
    parser.add_argument(
        "--name-only", action="store_true", help="how far placing name-only records could go"
    )
    args = parser.parse_args()
    url = args.database or f"sqlite:///{DEFAULT_DATABASE}"
    if not args.database and not DEFAULT_DATABASE.exists():
        print(f"importing {args.city} into {DEFAULT_DATABASE} ...", flush=True)
        env = {**os.environ, "CORESPOND_DATABASE_URL": url}
        for command in (["db", "upgrade"], ["ingest", str(args.city)]):
            subprocess.run([sys.executable, "-m", "corespond", *command], env=env, check=True)
    os.environ["CORESPOND_DATABASE_URL"] = url

    from sqlalchemy import select

    from corespond import models
    from corespond.config import get_settings
    from corespond.db.engine import session_factory, unit_of_work
    from corespond.linkage import repository, service
    from corespond.linkage.features import features

    truth = truth_of_records(args.city, session_factory)
    with session_factory()() as session:
        identities = list(repository.identities(session))
    print(f"{len(identities):,} person records, {len(set(truth.values())):,} true persons\n")

    started = time.perf_counter()
    with unit_of_work() as session:
        summary = service.run(session, retrain=True)
    seconds = time.perf_counter() - started
    with session_factory()() as session:
        ours = repository.current_links(session)
        reviews = review_pairs(session)
    report("corespond (Splink + guards)", ours, truth, seconds)
    true_reviews = sum(truth[a] == truth[b] for a, b in reviews)
    print(
        f"{'':<34} review queue: {len(reviews):,} pairs, "
        f"{true_reviews / max(1, len(reviews)):.3f} of them true matches "
        f"(link threshold {get_settings().link_threshold}, model v{summary.model_version})"
    )

    if args.misses:
        with session_factory()() as session:
            names = select(models.SourceSystem.id, models.SourceSystem.name)
            sources = {system: name for system, name in session.execute(names)}
        compared = {identity.record_id: features(identity) for identity in identities}
        print_misses(ours, truth, compared, sources)
    if args.name_only:
        with session_factory()() as session:
            name_only_bound(session, ours, truth, identities)

    started = time.perf_counter()
    default_style = splink_default([features(identity) for identity in identities])
    report("(a) Splink, default-style", default_style, truth, time.perf_counter() - started)

    started = time.perf_counter()
    exact = two_of_three([features(identity) for identity in identities])
    report("(b) two of SSN, name, DOB", exact, truth, time.perf_counter() - started)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def truth_of_records(city: Path, session_factory) -> dict[int, str]:  # type: ignore[no-untyped-def]
    from corespond.demo.truth import true_person_of_records

    with session_factory()() as session:
        return true_person_of_records(city, session)


def review_pairs(session) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from corespond import models

    review = models.MatchReview
    return [tuple(row) for row in session.execute(select(review.record_a_id, review.record_b_id))]  # type: ignore[misc]


def pair_count(groups: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in groups)


def report(
    label: str, predicted: Mapping[int, int | str], truth: dict[int, str], seconds: float
) -> None:
    predicted = {record: predicted.get(record, f"alone-{record}") for record in truth}
    both = pair_count(Counter((predicted[r], truth[r]) for r in truth).values())
    made = pair_count(Counter(predicted.values()).values())
    real = pair_count(Counter(truth.values()).values())
    precision, recall = both / max(1, made), both / max(1, real)
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    persons = len(set(predicted.values()))
    print(
        f"{label:<34} precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}  "
        f"persons {persons:,}  {seconds:,.1f} s",
        flush=True,
    )


def print_misses(
    predicted: dict[int, int],
    truth: dict[int, str],
    records: dict[int, Any],
    sources: dict[int, str],
) -> None:
    """The missed true pairs between each true person's largest cluster and the records split
    off from it, by the split-off records' source and the fields they hold."""
    clusters: dict[str, dict[object, list[int]]] = defaultdict(lambda: defaultdict(list))
    for record, person in truth.items():
        clusters[person][predicted.get(record, f"alone-{record}")].append(record)
    lost: Counter[tuple[str, str]] = Counter()
    for groups in clusters.values():
        if len(groups) < 2:
            continue
        largest, *others = sorted(groups.values(), key=len, reverse=True)
        for group in others:
            kinds = Counter(
                (sources.get(records[r].source, "?"), _fields(records[r])) for r in group
            )
            lost[kinds.most_common(1)[0][0]] += len(group) * len(largest)
    real = pair_count(Counter(truth.values()).values())
    print(f"\nmissed pairs (split-off records × their person's largest cluster), of {real:,}:")
    for (source, fields), pairs in lost.most_common(12):
        print(f"  {pairs:>9,}  {pairs / real:.4f}  {source}: {fields}")


NAMESAKE_DAYS = 90
THRESHOLDS = (0.99, 0.95, 0.9, 0.75, 0.5)


def name_only_bound(session: Any, predicted: dict[int, int], truth: dict[int, str],
                    identities: list) -> None:  # type: ignore[type-arg]  # fmt: skip
    """Place each cluster of name-only records with its likeliest namesake, most confident
    first, and print precision and recall along the way (see the module docstring).

    The confidence is a posterior over the clusters holding a record of the same first and
    last name (and no other sex): for each call of the cluster, the namesake's calls within
    ``NAMESAKE_DAYS`` of it (plus 0.05) times the share of the namesake's calls of its type
    (smoothed), normalised over the namesakes.
    """
    import math
    from datetime import timedelta

    from sqlalchemy import select

    from corespond import models
    from corespond.linkage import repository
    from corespond.linkage.features import features

    records = {identity.record_id: features(identity) for identity in identities}
    call = models.CallForService
    calls = {i: (at, kind) for i, at, kind in session.execute(
        select(call.id, call.received_at, call.final_call_type))}  # fmt: skip
    calls_of: dict[int, list[int]] = defaultdict(list)
    for call_id, record in repository.records_named_on_calls(session):
        if call_id in calls:
            calls_of[record].append(call_id)
    members: dict[int, list[int]] = defaultdict(list)
    for record, person in predicted.items():
        members[person].append(record)
    by_name: dict[tuple[str, str], set[int]] = defaultdict(set)
    for person, ids in members.items():
        for r in ids:
            if records[r].first_name and records[r].last_name:
                by_name[(records[r].first_name, records[r].last_name)].add(person)  # type: ignore[index]

    def name_only(r: int) -> bool:
        f = records[r]
        return bool(f.first_name and f.last_name and not f.unlinkable
                    and not (f.ssn or f.dob or f.phone or f.street))  # fmt: skip

    def sexes(person: int) -> set[str]:
        return {records[r].sex for r in members[person] if records[r].sex}  # type: ignore[misc]

    kinds = len({kind for _, kind in calls.values()})
    window = timedelta(days=NAMESAKE_DAYS)
    placed: list[tuple[float, int, int]] = []  # (confidence, cluster, namesake)
    for person, ids in members.items():
        if not all(name_only(r) for r in ids):
            continue
        first = records[ids[0]]
        mine = [c for r in ids for c in calls_of[r]]
        sex = sexes(person)
        namesakes = [p for p in by_name[(first.first_name, first.last_name)]  # type: ignore[index]
                     if p != person and not (sex and sexes(p) and sexes(p) != sex)]  # fmt: skip
        if not mine or not namesakes:
            continue
        scores = []
        for p in namesakes:
            theirs = [calls[c] for r in members[p] for c in calls_of[r]]
            types = Counter(kind for _, kind in theirs)
            score = 0.0
            for c in mine:
                at, kind = calls[c]
                near = sum(1 for when, _ in theirs if abs(when - at) <= window)
                score += math.log(near + 0.05)
                score += math.log((types[kind] + 1 / kinds) / (len(theirs) + 1))
            scores.append((score, p))
        top, best = max(scores)
        confidence = 1 / sum(math.exp(score - top) for score, _ in scores)
        placed.append((confidence, person, best))
    placed.sort(reverse=True)

    # Move clusters in that order, keeping the pair counts exact as clusters grow.
    held = {person: Counter(truth[r] for r in ids) for person, ids in members.items()}
    real = pair_count(Counter(truth.values()).values())
    both = sum(pair_count(counts.values()) for counts in held.values())
    made = pair_count(len(ids) for ids in members.values())
    into: dict[int, int] = {}
    print(f"\nplacing {len(placed):,} clusters of name-only records with their likeliest namesake "
          f"(calls within {NAMESAKE_DAYS} days, call types), most confident first:")  # fmt: skip
    thresholds = list(THRESHOLDS)
    best_recall, best_at = both / real, None
    for confidence, person, namesake in placed:
        while thresholds and confidence < thresholds[0]:
            print(f"  confidence >= {thresholds.pop(0)}: precision {both / made:.4f}, "
                  f"recall {both / real:.4f}")  # fmt: skip
        target = namesake
        while target in into:
            target = into[target]
        if target == person:  # its namesake was placed with it already
            continue
        moving, there = held.pop(person), held[target]
        both += sum(count * there[t] for t, count in moving.items())
        made += sum(moving.values()) * sum(there.values())
        there.update(moving)
        into[person] = target
        if both / made >= 0.995 and both / real > best_recall:
            best_recall, best_at = both / real, confidence
    for threshold in thresholds:
        print(f"  confidence >= {threshold}: precision {both / made:.4f}, recall {both / real:.4f}")
    print(f"  best recall at precision >= 0.995, at any threshold: {best_recall:.4f}"
          + (f" (confidence >= {best_at:.3f})" if best_at is not None else ""))  # fmt: skip


def _fields(record: Any) -> str:
    if record.unlinkable:
        return "unlinkable"
    held = [name for name in ("ssn", "dob", "phone", "street", "first_name", "last_name")
            if getattr(record, name)]  # fmt: skip
    return "+".join(held) or "nothing"


def splink_default(records: list) -> dict[int, int]:  # type: ignore[type-arg]
    """Splink as its tutorials configure it, on the same normalised fields."""
    import duckdb
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    from corespond.linkage.model import to_table

    logging.getLogger("splink").setLevel(logging.ERROR)
    connection = duckdb.connect()
    connection.register("records_arrow", to_table(r for r in records if r.unlinkable is None))
    connection.execute("CREATE TABLE records AS SELECT * FROM records_arrow")
    db_api = DuckDBAPI(connection)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("ssn"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("zip"),
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"),
            block_on("dob"),
            block_on("ssn"),
        ],
    )
    linker = Linker(db_api.register("records"), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5)
    rows = connection.sql(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall()
    return {int(record): hash(cluster) for record, cluster in rows}


def two_of_three(records: list) -> dict[int, int]:  # type: ignore[type-arg]
    """Link two records when two of SSN, full name and DOB agree exactly; cluster transitively."""
    parent = {record.unique_id: record.unique_id for record in records}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keyed: dict[tuple[str, ...], list[int]] = {}
    for record in records:
        name = (
            f"{record.first_name} {record.last_name}"
            if record.first_name and record.last_name
            else None
        )
        values = {"ssn": record.ssn, "name": name, "dob": record.dob}
        for a, b in (("ssn", "name"), ("ssn", "dob"), ("name", "dob")):
            if values[a] and values[b]:
                keyed.setdefault((a, b, values[a], values[b]), []).append(record.unique_id)
    for members in keyed.values():
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    return {record: find(record) for record in parent}


if __name__ == "__main__":
    main()
