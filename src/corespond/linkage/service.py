"""Batch linkage: every person record in the store → persons, with stable ids and a review queue.

One run is one transaction (the caller's ``unit_of_work``): read the records, train the model
(or reuse the latest), score the blocked pairs, cluster them under the stewards' pinned
decisions, keep person ids stable, and write persons, links, events and review pairs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from corespond import models
from corespond.audit import chain as audit
from corespond.config import get_settings
from corespond.linkage import repository
from corespond.linkage.cluster import Clusters, Link, cluster, collapse, named_together
from corespond.linkage.features import Features, features
from corespond.linkage.matcher import term_frequencies
from corespond.linkage.model import Backend, LinkageModel, prior_from, to_table
from corespond.linkage.online import Scorer, match_keys
from corespond.linkage.schemas import LinkageSummary
from corespond.linkage.stable import Assignment, assign
from corespond.models.base import utcnow

Progress = Callable[[str], None]
"""Told the name of each step as it starts."""
MIN_TRAINING_RECORDS = 50
WRITE_CHUNK = 20_000


class LinkageError(Exception):
    """Linkage cannot run as asked (too few records to train, say); the message says why."""


def run(
    session: Session,
    *,
    retrain: bool = False,
    progress: Progress | None = None,
    link_threshold: float | None = None,
    review_threshold: float | None = None,
    backend: Backend = "duckdb",
) -> LinkageSummary:
    """Link every person record in the store, in ``session``'s transaction (``backend``:
    where Splink scores the pairs; clustering and writing are the same either way)."""
    started = time.perf_counter()
    settings = get_settings()
    link_at = link_threshold if link_threshold is not None else settings.link_threshold
    review_at = review_threshold if review_threshold is not None else settings.review_threshold
    if not 0 < review_at < link_at < 1:
        raise LinkageError(
            f"thresholds must satisfy 0 < review ({review_at}) < link ({link_at}) < 1"
        )
    step = progress or (lambda _name: None)
    ledger = models.LinkageRun(link_threshold=link_at, review_threshold=review_at)
    session.add(ledger)
    session.flush()

    step("reading person records")
    records = [features(identity) for identity in repository.identities(session)]
    linkable = [record for record in records if record.unlinkable is None]

    clusters = Clusters(of={})
    pairs_scored = 0
    decisions = repository.decisions(session)
    ruled = {record for a, b, _ in decisions for record in (a, b)}
    representatives, duplicates = collapse(linkable, keep=ruled)
    if linkable:
        model, ledger.model_version = _model(
            session, representatives, retrain=retrain, run_id=ledger.id, step=step,
            backend=backend, prior=prior_from(linkable),
        )  # fmt: skip
        step("scoring pairs")
        pairs = model.predict(review_at)
        scorer = Scorer(model.to_json(), term_frequencies(representatives))
        model.close()
        pairs_scored = len(pairs)
        step("clustering")
        together = _named_together(session, linkable, duplicates, scorer)
        clusters = cluster(
            representatives,
            pairs,
            link_threshold=link_at,
            review_threshold=review_at,
            same=[(a, b) for a, b, decision in decisions if decision == "same"],
            different=[(a, b) for a, b, decision in decisions if decision == "different"],
            decided=repository.decided_review_pairs(session)
            | {(min(a, b), max(a, b)) for a, b, _ in decisions},
            together=together,
        )
        clusters.add_duplicates(duplicates)
    step("indexing for real-time matching")
    repository.replace_name_frequencies(session, term_frequencies(representatives))
    # Only representatives: an exact duplicate scores as its representative does and is
    # always in its person, so the online matcher need not fetch hundreds of identical records.
    repository.replace_match_keys(
        session,
        ((record.unique_id, key) for record in representatives for key in match_keys(record)),
    )
    step("writing persons")
    groups = clusters.members()
    for record in records:
        if record.unlinkable is not None:
            groups[record.unique_id] = [record.unique_id]
    authored = set(repository.authored_record_ids(session))
    current = {r: p for r, p in repository.current_links(session).items() if r not in authored}
    assignment = assign(groups, current)
    person_of = _write_persons(session, assignment, ledger.id)
    _follow_merges(session, authored, assignment, person_of)
    _write_links(session, records, groups, clusters, person_of, ledger.id)
    repository.clear_open_reviews(session)
    if clusters.review:
        session.execute(
            insert(models.MatchReview),
            [
                {
                    "record_a_id": item.pair.a,
                    "record_b_id": item.pair.b,
                    "match_probability": item.pair.probability,
                    "reason": item.reason,
                    "explanation": json.dumps({"records": [item.pair.a, item.pair.b]}),
                    "linkage_run_id": ledger.id,
                }
                for item in clusters.review
            ],
        )
    ledger.status = "completed"
    ledger.records = len(records)
    ledger.unlinkable = len(records) - len(linkable)
    ledger.pairs_scored = pairs_scored
    ledger.persons = len(groups)
    ledger.review_pairs = len(clusters.review)
    ledger.finished_at = utcnow()
    ledger.seconds = round(time.perf_counter() - started, 3)
    audit.record(
        session, action="linkage.run",
        detail={"run": ledger.id, "model": ledger.model_version, "records": ledger.records,
                "persons": ledger.persons, "review": ledger.review_pairs},
    )  # fmt: skip
    return LinkageSummary(
        run_id=ledger.id,
        model_version=ledger.model_version,
        records=ledger.records,
        unlinkable=ledger.unlinkable,
        pairs_scored=pairs_scored,
        persons=ledger.persons,
        review_pairs=ledger.review_pairs,
        new_persons=len(assignment.new) - len(assignment.split_from),
        split_persons=len(assignment.split_from),
        merged_persons=len(assignment.merged_into),
        seconds=ledger.seconds,
    )


def _named_together(
    session: Session,
    linkable: list[Features],
    duplicates: dict[int, list[int]],
    scorer: Scorer,
) -> list[Link]:
    """Representatives that one call names with the same name (``cluster.named_together``),
    with their score, strongest first."""
    representative = {other: rep for rep, others in duplicates.items() for other in others}
    records = {record.unique_id: record for record in linkable}
    found: dict[tuple[int, int], int] = {}
    for (a, b), call in named_together(records, repository.records_named_on_calls(session)).items():
        x, y = sorted((representative.get(a, a), representative.get(b, b)))
        if x != y:
            found.setdefault((x, y), call)
    links = [
        Link(x, y, scorer.probability(records[x], records[y]), f"named alike on call {call}")
        for (x, y), call in found.items()
    ]
    return sorted(links, key=lambda link: (-link.probability, link.a, link.b))


def _model(
    session: Session,
    linkable: list[Features],
    *,
    retrain: bool,
    run_id: int,
    step: Progress,
    backend: Backend,
    prior: float,
) -> tuple[LinkageModel, int]:
    """The latest stored model over these records, or a newly trained (and stored) one."""
    table = to_table(linkable)
    stored = None if retrain else repository.latest_model(session)
    if stored is not None:
        return LinkageModel(
            table, json.loads(stored.settings_json), backend=backend
        ), stored.version
    if len(linkable) < MIN_TRAINING_RECORDS:
        raise LinkageError(
            f"{len(linkable)} linkable person records are too few to train a linkage model "
            f"(at least {MIN_TRAINING_RECORDS}); import more records first"
        )
    step("training the model")
    model = LinkageModel(table, backend=backend)
    model.train(prior=prior or None)
    version = repository.next_model_version(session)
    session.add(
        models.LinkageModel(
            version=version,
            trained_by_run_id=run_id,
            records=len(linkable),
            settings_json=json.dumps(model.to_json(), sort_keys=True),
        )
    )
    return model, version


def _write_persons(session: Session, assignment: Assignment, run_id: int) -> dict[int, int]:
    """Create the new persons, retire the merged ones, record events; cluster → person id."""
    person_of = dict(assignment.person_of)
    now = utcnow()
    if assignment.new:
        ids = session.scalars(
            insert(models.Person).returning(models.Person.id, sort_by_parameter_order=True),
            [{"status": "active", "created_at": now, "updated_at": now} for _ in assignment.new],
        ).all()
        person_of.update(zip(assignment.new, ids, strict=True))
    events = [
        {
            "linkage_run_id": run_id,
            "kind": "split" if name in assignment.split_from else "created",
            "person_id": person_of[name],
            "other_person_id": assignment.split_from.get(name),
            "created_at": now,
        }
        for name in assignment.new
    ]
    for person, home in assignment.merged_into.items():
        session.execute(
            update(models.Person)
            .where(models.Person.id == person)
            .values(status="merged", merged_into_id=person_of[home], updated_at=now)
        )
        events.append(
            {
                "linkage_run_id": run_id,
                "kind": "merged",
                "person_id": person,
                "other_person_id": person_of[home],
                "created_at": now,
            }
        )
    if events:
        session.execute(insert(models.PersonEvent), events)
    return person_of


def _follow_merges(
    session: Session, authored: set[int], assignment: Assignment, person_of: dict[int, int]
) -> None:
    """Authored records stay with their person; if it was merged, they follow it."""
    if not authored:
        return
    for person, home in assignment.merged_into.items():
        session.execute(
            update(models.PersonLink)
            .where(
                models.PersonLink.person_id == person,
                models.PersonLink.person_record_id.in_(authored),
            )
            .values(person_id=person_of[home])
        )


def _write_links(
    session: Session,
    records: list[Features],
    groups: dict[int, list[int]],
    clusters: Clusters,
    person_of: dict[int, int],
    run_id: int,
) -> None:
    """Replace every link. A batch link keeps the record it was linked through; its waterfall
    is computed when someone looks (``matcher.explain``), not stored a million times."""
    unlinkable = {record.unique_id: record.unlinkable for record in records if record.unlinkable}
    now = utcnow()
    authored = repository.authored_source_id(session)
    stale = delete(models.PersonLink)
    if authored is not None:  # authored records' links are not this run's to replace
        stale = stale.where(
            models.PersonLink.person_record_id.not_in(
                select(models.PersonRecord.id).where(
                    models.PersonRecord.source_system_id == authored
                )
            )
        )
    session.execute(stale)
    rows: list[dict[str, object]] = []
    for name, members in groups.items():
        for record in members:
            pair = clusters.link_pair.get(record)
            if record in unlinkable:
                method, explanation = "unlinkable", json.dumps({"unlinkable": unlinkable[record]})
            elif pair is None:
                method, explanation = "singleton", None
            else:
                found = {"records": [pair.a, pair.b]}
                method, explanation = (
                    "batch",
                    json.dumps(found | {"reason": pair.reason} if pair.reason else found),
                )
            rows.append(
                {
                    "person_record_id": record,
                    "person_id": person_of[name],
                    "match_probability": pair.probability if pair else None,
                    "method": method,
                    "linkage_run_id": run_id,
                    "explanation": explanation,
                    "linked_at": now,
                }
            )
            if len(rows) >= WRITE_CHUNK:
                session.execute(insert(models.PersonLink), rows)
                rows = []
    if rows:
        session.execute(insert(models.PersonLink), rows)
