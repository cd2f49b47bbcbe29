"""The online matcher over the store, and incremental linking of newly imported records."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, event, insert
from sqlalchemy.orm import Session, SessionTransaction

from corespond import models
from corespond.config import get_settings
from corespond.linkage import index, repository
from corespond.linkage.cluster import same_name
from corespond.linkage.comparisons import Columns, Values, compared
from corespond.linkage.features import Features, Identity, features
from corespond.linkage.index import FeatureIndex
from corespond.linkage.online import Candidate, MatchResult, Scorer, conflict, decide, match_keys
from corespond.models.base import utcnow

logger = logging.getLogger(__name__)

CACHED_CANDIDATES = 200_000
"""Most candidates a matcher reading from the store keeps (what the comparisons read of
them) between matches."""
TOP = 5
"""Candidate persons a match returns."""
PERSONS_READ = 32
"""Candidates whose persons are read at a time, strongest first, until ``TOP`` are found."""


class NoModel(Exception):
    """No linkage model has been trained yet: run ``corespond link run`` first."""


def term_frequencies(records: list[Features]) -> dict[str, dict[str, float]]:
    """Share of linkable records with each first and last name (as Splink computes them)."""
    frequencies: dict[str, dict[str, float]] = {}
    for name in ("first_name", "last_name"):
        counts = Counter(value for record in records if (value := getattr(record, name)))
        total = sum(counts.values())
        frequencies[name] = {value: count / total for value, count in counts.items()}
    return frequencies


_scorers: dict[tuple[object, ...], Scorer] = {}


def load_scorer(session: Session, key: tuple[object, ...] | None = None) -> Scorer:
    """The latest model's scorer, with the name frequencies of the last run.

    Built once per model and run (a page or a 911 lookup must not reload the model and every
    name frequency), and rebuilt when either changes. ``key``: the store's
    ``repository.scorer_key``, when the caller has just read it.
    """
    key = key or repository.scorer_key(session)
    if key is None:
        raise NoModel("no linkage model yet: run `corespond link run` first")
    scorer = _scorers.get(key)
    if scorer is None:
        stored = repository.latest_model(session)
        assert stored is not None
        scorer = Scorer(json.loads(stored.settings_json), repository.name_frequencies(session))
        _scorers.clear()
        _scorers[key] = scorer
    return scorer


_index: FeatureIndex | None = None
_index_lock = threading.Lock()
"""Held while the index is built or refreshed: one at a time."""


def warm(session: Session) -> FeatureIndex:
    """Build this process's in-memory index of the linked records, or bring it up to date.

    A server calls it at start-up, so that its first lookup finds the index ready. After that
    a lookup that finds the index behind the store (a new run, or records linked since) has it
    refreshed in the background and reads its candidates from the store meanwhile.
    """
    with _index_lock:
        return _refresh(session.get_bind())


def _refresh(bind: Engine | Connection) -> FeatureIndex:
    """The index of what is committed (read in a transaction of its own, one snapshot)."""
    global _index
    reading = bind.execution_options(write=False)
    if reading.dialect.name == "postgresql":
        reading = reading.execution_options(isolation_level="REPEATABLE READ")
    with Session(reading) as reader:
        version = repository.scorer_key(reader)
        if version is None:
            raise NoModel("no linkage model yet: run `corespond link run` first")
        watermark = repository.match_key_watermark(reader)
        current = _index
        if current is None or current.version != version or watermark < current.watermark:
            _index = None  # let the old index go before the new one is built
            current = index.build(reader, version)
        elif watermark > current.watermark:
            current = index.extended(current, reader)
        _index = current
        return current


def _refresh_in_background(bind: Engine | Connection) -> None:
    try:
        _refresh(bind)
    except Exception:  # the next lookup tries again; meanwhile lookups read the store
        logger.exception("refreshing the online matcher's index failed")
    finally:
        _index_lock.release()


def indexed() -> bool:
    """Whether this process holds an index of the linked records (``warm``): until it does,
    lookups read their candidates from the store."""
    return _index is not None


def settled(timeout: float = 60.0) -> bool:
    """Wait (up to ``timeout`` seconds) until no index build or refresh runs, as one started
    in the background may be reading the store: whoever is about to empty or drop the store
    waits for it first. False if one still runs."""
    if not _index_lock.acquire(timeout=timeout):
        return False
    _index_lock.release()
    return True


CATCH_UP_SECONDS = 1.0
"""An index that lacks only the newest keys is brought up to date at most this often: live
intake links records every few milliseconds, and each refresh reads and indexes them anew.
Meanwhile matches read those records from the store (and keep what they read: ``_tail``)."""
_caught_up_at = 0.0


def ready_index(
    session: Session, version: tuple[object, ...], *, behind: bool = False
) -> FeatureIndex | None:
    """This process's index if it holds what ``session`` sees of the store (model, run and
    the newest key); otherwise None, and a thread brings it up to date.

    ``behind``: an index of the same model and run that lacks only the newest keys will do
    (its caller reads the keys added since from the store): with records linked every second,
    as live intake links them, the index is never quite up to date.
    """
    global _caught_up_at
    current = _index
    if current is not None and current.version == version:
        newest = repository.match_key_watermark(session)
        if current.watermark == newest:
            return current
        if behind and current.watermark < newest:
            if time.monotonic() - _caught_up_at >= CATCH_UP_SECONDS:
                _caught_up_at = time.monotonic()
                _refresh_soon(session)
            return current
    _refresh_soon(session)
    return None


def _refresh_soon(session: Session) -> None:
    if _index_lock.acquire(blocking=False):
        bind = session.get_bind()
        threading.Thread(target=_refresh_in_background, args=(bind,), daemon=True).start()


_tail: dict[int, tuple[Values, ...]] = {}
"""What the comparisons read of candidates read from the store (keyed since the index was
built), kept between matches for the model and run of ``_tail_version``: during live intake
the same recent records are candidates again and again until the index takes them in."""
_tail_version: tuple[object, ...] | None = None


def _tail_of(version: tuple[object, ...] | None) -> dict[int, tuple[Values, ...]]:
    global _tail, _tail_version
    if version != _tail_version:
        _tail, _tail_version = {}, version
    return _tail


FILLED_TAIL = "corespond.linkage.filled_tail"
"""Set on a session whose transaction has put records in ``_tail``: it may have read its own
uncommitted records (``link_new`` matches each against the ones before it)."""


@event.listens_for(Session, "after_commit")
def _tail_committed(session: Session) -> None:
    session.info.pop(FILLED_TAIL, None)


@event.listens_for(Session, "after_transaction_end")
def _tail_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that filled the tail ended without a commit: what it read of its own
    records is gone, and their ids may be given to other records (SQLite reuses them), so
    the tail is dropped (it is refilled from the store as needed)."""
    if transaction.parent is None and session.info.pop(FILLED_TAIL, None):
        _tail.clear()


def explain(session: Session, scorer: Scorer, a: int, b: int) -> dict[str, Any]:
    """The waterfall of two stored records: prior, and each field's level and match weight.

    Computed on demand with the same parameters the run scored them with (the online scorer
    reproduces Splink's scores exactly), rather than stored for every link.
    """
    found = {i.record_id: features(i) for i in repository.identities_for(session, [a, b])}
    if a not in found or b not in found:
        return {}
    pair = scorer.score(found[a], found[b])
    return {"records": [a, b], "probability": pair.probability, **pair.explanation}


class OnlineMatcher:
    """Matches one identity at a time against everyone linked in the store.

    Candidates come from this process's in-memory index (``warm``) of the model and run in
    force, plus the store's records keyed since the index was built (read in the caller's
    transaction, so ``link_new`` finds the records it has just keyed in its own, uncommitted,
    transaction); with no such index, or ``in_memory=False``, all from the store. Either way
    they are the records sharing a blocking key with the identity in ``person_match_key``.
    """

    def __init__(
        self, session: Session, *, link_threshold: float | None = None,
        review_threshold: float | None = None, in_memory: bool = True,
    ) -> None:  # fmt: skip
        settings = get_settings()
        version = repository.scorer_key(session)
        self.scorer = load_scorer(session, version)
        self.link_threshold = link_threshold or settings.link_threshold
        self.review_threshold = review_threshold or settings.review_threshold
        self.index = ready_index(session, version, behind=True) if in_memory and version else None
        """None: candidates are read from the store (see ``ready_index``); else they come from
        the index, and from the store for the records keyed since it was built."""
        self._compared = _tail_of(version)
        """What the comparisons read of candidates read from the store (kept for the process:
        records rarely change between matches, and a run that changes them makes a new
        version)."""

    def _stored(
        self, session: Session, keys: list[str], exclude: int | None, after: int = 0
    ) -> Columns:
        ids = [r for r in repository.records_with_keys(session, keys, after=after) if r != exclude]
        missing = [i for i in ids if i not in self._compared]
        if len(self._compared) + len(missing) > CACHED_CANDIDATES:
            self._compared.clear()
        if missing:
            session.info[FILLED_TAIL] = True
        for identity in repository.identities_for(session, missing):
            self._compared[identity.record_id] = compared(features(identity))
        return Columns.of_compared(
            (i, self._compared[i]) for i in sorted(ids) if i in self._compared
        )

    def match(
        self,
        session: Session,
        identity: Identity,
        *,
        exclude: int | None = None,
        calls: Sequence[int] = (),
    ) -> MatchResult:
        """Linked, needs review or new person for ``identity`` (``exclude``: a record to ignore,
        such as the query's own record when it is already in the store; ``calls``: the calls
        for service that name it, when it is a stored record)."""
        query = features(identity)
        if query.unlinkable:
            return decide(
                query, [], lambda _p: [], lambda _r: {}, link_threshold=1, review_threshold=1
            )
        keys = match_keys(query)
        if self.index is not None:
            blocks = self.index.candidates(keys, exclude=exclude)
            blocks.append(self._stored(session, keys, exclude, after=self.index.watermark))
        else:
            blocks = [self._stored(session, keys, exclude)]
        blocks = [block for block in blocks if len(block)]
        ids = np.concatenate([block.record_ids for block in blocks] or [np.zeros(0, np.int64)])
        probabilities = np.concatenate(
            [self.scorer.probabilities(query, block) for block in blocks] or [np.zeros(0)]
        )

        def members(person: int) -> list[Features]:
            return repository.identifiers_of_person(session, person, exclude=exclude)

        def explain(record_id: int) -> dict[str, Any]:
            at = int(np.flatnonzero(ids == record_id)[0])
            for block in blocks:  # the record's block, and its place in it
                if at < len(block):
                    return self.scorer.score(query, block.features(at)).explanation
                at -= len(block)
            raise LookupError(record_id)

        result = decide(
            query,
            self._ranked(session, ids, probabilities),
            members,
            explain,
            link_threshold=self.link_threshold,
            review_threshold=self.review_threshold,
            top=TOP,
        )
        if result.decision == "linked" or not calls:
            return result
        return self._named_alike(session, query, calls, members, exclude) or result

    def _named_alike(
        self,
        session: Session,
        query: Features,
        calls: Sequence[int],
        members: Callable[[int], list[Features]],
        exclude: int | None,
    ) -> MatchResult | None:
        """Linked to the person of a record that one of ``calls`` names with the same name,
        as the batch run links them (``cluster.named_together``); None if there is none."""
        call_of = {r: call for call, r in repository.named_on(session, calls) if r != exclude}
        records = [features(i) for i in repository.identities_for(session, call_of)]
        alike = [r for r in records if r.unique_id != query.unique_id and same_name(query, r)]
        person_of = repository.persons_of(session, [r.unique_id for r in alike])
        ranked = sorted(
            (-self.scorer.probability(query, r), person_of[r.unique_id], r)
            for r in alike
            if r.unique_id in person_of
        )
        for minus_probability, person, record in ranked:
            if conflict(query, members(person), set()) is None:
                found = self.scorer.score(query, record)
                return MatchResult(
                    "linked", person, -minus_probability,
                    [Candidate(person, record.unique_id, found.probability, found.explanation)],
                    f"named alike on call {call_of[record.unique_id]}",
                )  # fmt: skip
        return None

    def _ranked(
        self, session: Session, ids: np.ndarray, probabilities: np.ndarray
    ) -> list[tuple[float, int, int | None]]:
        """The candidates ``decide`` needs, strongest first, with their persons: every one at
        or above the link threshold (the contradiction guard reads them), then on down to
        the ``TOP``th person, with any that tie the last one taken.

        Persons are read from the store for these few candidates only, so that a steward's
        merge or split counts at once.
        """
        order = np.lexsort((ids, -probabilities))
        needed = int(np.count_nonzero(probabilities >= self.link_threshold))
        person_of: dict[int, int] = {}
        taken = 0
        while taken < len(order) and (taken < needed or len(set(person_of.values())) < TOP):
            end = min(len(order), max(needed, taken + PERSONS_READ))
            while end < len(order) and probabilities[order[end]] == probabilities[order[end - 1]]:
                end += 1
            person_of.update(repository.persons_of(session, ids[order[taken:end]].tolist()))
            taken = end
        return [
            (probability, record, person_of.get(record))
            for probability, record in zip(
                probabilities[order[:taken]].tolist(), ids[order[:taken]].tolist(), strict=True
            )
        ]


@dataclass
class IncrementalSummary:
    records: int = 0
    linked: int = 0
    new_persons: int = 0
    review: int = 0
    results: dict[int, tuple[MatchResult, int]] = field(default_factory=dict)
    """Record id → what the matcher answered, and the person the record now belongs to."""


def link_new(
    session: Session,
    record_ids: Sequence[int] | None = None,
    *,
    matcher: OnlineMatcher | None = None,
    calls: Mapping[int, Sequence[int]] | None = None,
) -> IncrementalSummary:
    """Link the person records no person holds yet (imported since the last run, or those of
    ``record_ids`` that no person holds), one by one with the online matcher: each joins the
    person it matches or becomes a new person, and is indexed so that the next record can
    match it.

    ``calls``: the calls that name each record, when the caller knows them (live intake: an
    incident's people are named on its call alone); otherwise they are read from the store.
    """
    summary = IncrementalSummary()
    unlinked = repository.unlinked_record_ids(session, record_ids)
    if not unlinked:
        return summary
    matcher = matcher or OnlineMatcher(session)
    connection = session.connection()  # plain inserts: the session tracks none of these rows
    for identity in repository.identities_for(session, unlinked):
        named = (
            calls[identity.record_id]
            if calls is not None and identity.record_id in calls
            else repository.calls_of(session, identity.record_id)
        )
        result = matcher.match(session, identity, exclude=identity.record_id, calls=named)
        summary.records += 1
        person = result.person_id if result.decision == "linked" else None
        if person is None:
            person = session.scalars(
                insert(models.Person).returning(models.Person.id),
                [{"status": "active", "created_at": utcnow(), "updated_at": utcnow()}],
            ).one()
            summary.new_persons += 1
            connection.execute(_PERSON_EVENT, {"kind": "created", "person_id": person})
        else:
            summary.linked += 1
        if result.decision == "review":
            summary.review += 1
        summary.results[identity.record_id] = (result, person)
        best = result.candidates[0] if result.candidates and result.decision == "linked" else None
        explanation = (
            json.dumps({"records": sorted([identity.record_id, best.record_id])})
            if best
            else json.dumps({"decision": result.decision, "reason": result.reason})
        )
        connection.execute(
            _PERSON_LINK,
            {
                "person_record_id": identity.record_id,
                "person_id": person,
                "match_probability": result.probability if best else None,
                "method": "online" if result.decision != "unlinkable" else "unlinkable",
                "explanation": explanation,
            },
        )
        query = features(identity)
        if not query.unlinkable:
            repository.add_match_keys(session, ((identity.record_id, k) for k in match_keys(query)))
    return summary


_PERSON_EVENT = insert(models.PersonEvent)
_PERSON_LINK = insert(models.PersonLink)
