"""The online matcher over the store, and incremental linking of newly imported records."""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from corespond import models
from corespond.config import get_settings
from corespond.linkage import repository
from corespond.linkage.features import Features, Identity, compared_fields, features
from corespond.linkage.online import MatchResult, Scorer, decide, match_keys
from corespond.models.base import utcnow

FEATURE_CACHE = 200_000


class NoModel(Exception):
    """No linkage model has been trained yet: run ``corespond link run`` first."""


def term_frequencies(records: list[Features]) -> dict[str, dict[str, float]]:
    """Share of linkable records with each first and last name (as Splink computes them)."""
    frequencies: dict[str, dict[str, float]] = {}
    for field in ("first_name", "last_name"):
        counts = Counter(value for record in records if (value := getattr(record, field)))
        total = sum(counts.values())
        frequencies[field] = {value: count / total for value, count in counts.items()}
    return frequencies


_scorers: dict[tuple[object, ...], Scorer] = {}


def load_scorer(session: Session) -> Scorer:
    """The latest model's scorer, with the name frequencies of the last run.

    Built once per model and run (a page or a 911 lookup must not reload the model and every
    name frequency), and rebuilt when either changes.
    """
    key = repository.scorer_key(session)
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
    """Matches one identity at a time against everyone linked in the store."""

    def __init__(
        self, session: Session, *, link_threshold: float | None = None,
        review_threshold: float | None = None,
    ) -> None:  # fmt: skip
        settings = get_settings()
        self.scorer = load_scorer(session)
        self.link_threshold = link_threshold or settings.link_threshold
        self.review_threshold = review_threshold or settings.review_threshold
        self._features: OrderedDict[int, Features] = OrderedDict()
        """Recently seen candidates' features (records rarely change between matches)."""

    def _candidates(self, session: Session, ids: list[int]) -> list[Features]:
        missing = [i for i in ids if i not in self._features]
        for identity in repository.identities_for(session, missing):
            self._features[identity.record_id] = features(identity)
        found = []
        for record_id in ids:
            cached = self._features.get(record_id)
            if cached is not None:
                self._features.move_to_end(record_id)
                found.append(cached)
        while len(self._features) > FEATURE_CACHE:
            self._features.popitem(last=False)
        return found

    def match(
        self, session: Session, identity: Identity, *, exclude: int | None = None
    ) -> MatchResult:
        """Linked, needs review or new person for ``identity`` (``exclude``: a record to ignore,
        such as the query's own record when it is already in the store)."""
        query = features(identity)
        if query.unlinkable:
            return decide(
                query, [], lambda _p: [], lambda _r: {}, link_threshold=1, review_threshold=1
            )
        found = [
            r for r in repository.records_with_keys(session, match_keys(query)) if r != exclude
        ]
        candidates = self._candidates(session, found)
        person_of = repository.persons_of(session, found)
        # Identical candidates (a frequent utilizer's repeated records) score identically.
        scores: dict[tuple[object, ...], float] = {}
        scored = []
        for candidate in candidates:
            key = compared_fields(candidate)
            probability = scores.get(key)
            if probability is None:
                probability = scores[key] = self.scorer.probability(query, candidate)
            scored.append((probability, candidate, person_of.get(candidate.unique_id)))

        def members(person: int) -> list[Features]:
            return repository.identifiers_of_person(session, person, exclude=exclude)

        return decide(
            query,
            scored,
            members,
            lambda record: self.scorer.score(query, record).explanation,
            link_threshold=self.link_threshold,
            review_threshold=self.review_threshold,
        )


@dataclass
class IncrementalSummary:
    records: int = 0
    linked: int = 0
    new_persons: int = 0
    review: int = 0


def link_new(session: Session) -> IncrementalSummary:
    """Link the person records no person holds yet (imported since the last run), one by one
    with the online matcher: each joins the person it matches or becomes a new person, and
    is indexed so that the next record can match it."""
    summary = IncrementalSummary()
    unlinked = repository.unlinked_record_ids(session)
    if not unlinked:
        return summary
    matcher = OnlineMatcher(session)
    for identity in repository.identities_for(session, unlinked):
        result = matcher.match(session, identity, exclude=identity.record_id)
        summary.records += 1
        person = result.person_id if result.decision == "linked" else None
        if person is None:
            person = session.scalars(
                insert(models.Person).returning(models.Person.id),
                [{"status": "active", "created_at": utcnow(), "updated_at": utcnow()}],
            ).one()
            summary.new_persons += 1
            session.add(models.PersonEvent(kind="created", person_id=person))
        else:
            summary.linked += 1
        if result.decision == "review":
            summary.review += 1
        best = result.candidates[0] if result.candidates and result.decision == "linked" else None
        explanation = (
            json.dumps({"records": sorted([identity.record_id, best.record_id])})
            if best
            else json.dumps({"decision": result.decision, "reason": result.reason})
        )
        session.add(
            models.PersonLink(
                person_record_id=identity.record_id,
                person_id=person,
                match_probability=result.probability if best else None,
                method="online" if result.decision != "unlinkable" else "unlinkable",
                explanation=explanation,
            )
        )
        query = features(identity)
        if not query.unlinkable:
            repository.add_match_keys(session, ((identity.record_id, k) for k in match_keys(query)))
        session.flush()
    return summary
