"""Real-time matching: one incoming record against everyone linked so far, in milliseconds.

A 911 call cannot wait for a batch run. The online scorer applies the trained model's own
parameters (m, u, term frequencies, prior) to the same comparisons the batch run makes, written
here in Python, so that it decides what a batch run would: candidates come from the same
blocking keys, indexed in ``person_match_key``; the same thresholds decide linked, needs
review or new person; the same contradiction guard holds apart what batch would hold apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from corespond.linkage.cluster import dobs_compatible
from corespond.linkage.comparisons import COMPARISONS, Columns, Values
from corespond.linkage.features import Features
from corespond.linkage.model import FIELDS, Pair, with_floors

Decision = Literal["linked", "review", "new", "unlinkable"]


def match_keys(record: Features) -> list[str]:
    """The blocking keys of ``record``: two records that share one are compared.

    Mirrors ``model.blocking_rules`` (a test checks that they find the same pairs).
    """
    keys = []
    if record.ssn:
        keys.append(f"ssn:{record.ssn}")
    if record.dob:
        keys.append(f"dob:{record.dob}")
    if record.phone:
        keys.append(f"phone:{record.phone}")
    if record.last_sound:
        keys.extend(f"fn:{name}|{record.last_sound}" for name in record.first_names)
    if record.birth_year:
        keys.extend(f"ln:{name}|{record.birth_year}" for name in record.last_names)
    if record.street and record.zip and record.first_name:
        keys.append(f"addr:{record.street}|{record.zip}|{record.first_name[0]}")
    return [key[:200] for key in dict.fromkeys(keys)]


@dataclass
class _Level:
    label: str
    weight: float
    """log2(m / u)."""
    tf_log2_u: float | None = None
    """For a term-frequency adjusted level, log2 of the exact level's u."""


@dataclass
class Candidate:
    person_id: int
    record_id: int
    probability: float
    explanation: dict[str, Any]


@dataclass
class MatchResult:
    decision: Decision
    person_id: int | None
    """The person the record is linked to (``linked``) or most likely belongs to (``review``)."""
    probability: float | None
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""


class Scorer:
    """The trained model's parameters, applied to one pair, or to a block of candidates."""

    def __init__(self, model: dict[str, Any], frequencies: dict[str, dict[str, float]]) -> None:
        model = with_floors(model)
        probability = model["probability_two_random_records_match"]
        self.prior = math.log2(probability / (1 - probability))
        self.frequencies = frequencies
        self.levels: dict[str, list[_Level]] = {}
        for comparison in model["comparisons"]:
            name = comparison["output_column_name"]
            levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
            if len(levels) != COMPARISONS[name].levels:
                raise ValueError(f"model comparison {name!r} does not have the expected levels")
            exact_u = levels[0].get("u_probability") or 1e-9
            self.levels[name] = [
                _Level(
                    label=level.get("label_for_charts", ""),
                    weight=math.log2(
                        (level.get("m_probability") or 1e-9) / (level.get("u_probability") or 1e-9)
                    ),
                    tf_log2_u=math.log2(exact_u) if level.get("tf_adjustment_column") else None,
                )
                for level in levels
            ]
            if COMPARISONS[name].block and any(lv.tf_log2_u for lv in self.levels[name]):
                raise ValueError(f"model comparison {name!r} has term frequencies")
        self._level_weights = {
            name: np.array([level.weight for level in levels] + [0.0])
            for name, levels in self.levels.items()
        }
        """Each level's weight, and 0 for a missing value (level -1)."""

    def _weigh(self, name: str, a: Values, b: Values) -> tuple[_Level | None, float]:
        """The level two values reach in comparison ``name`` and its match weight, including
        the term-frequency adjustment (None and 0 when one is missing)."""
        index = COMPARISONS[name].level(a, b)
        if index is None:
            return None, 0.0
        level = self.levels[name][index]
        weight = level.weight
        if level.tf_log2_u is not None:  # names: the compared name is the first value read
            table = self.frequencies.get(name, {})
            frequency = max(table.get(a[0], 0.0), table.get(b[0], 0.0))
            if frequency > 0:
                weight += level.tf_log2_u - math.log2(frequency)
        return level, weight

    def probability(self, a: Features, b: Features) -> float:
        """The match probability alone: what ranking candidates needs, without the waterfall."""
        total = self.prior
        for name in FIELDS:
            comparison = COMPARISONS[name]
            total += self._weigh(name, comparison.values(a), comparison.values(b))[1]
        return 1 / (1 + 2 ** (-total)) if total > -1000 else 0.0

    def probabilities(self, query: Features, block: Columns) -> np.ndarray:
        """``probability(query, record)`` for every record of ``block``, each comparison made
        once per distinct value the block holds, or for the whole block at once."""
        total = np.full(len(block), self.prior)
        for name in FIELDS:
            comparison = COMPARISONS[name]
            mine = comparison.values(query)
            values = block.values[name]
            distinct, inverse = np.unique(block.codes[name], return_inverse=True)
            if comparison.block is None:
                weights = np.array([self._weigh(name, mine, values[c])[1] for c in distinct])
            else:
                levels = comparison.block[1](mine, values, distinct, block.summaries[name])
                weights = self._level_weights[name][levels]  # MISSING (-1) is the last: 0
            total += weights[inverse]
        with np.errstate(over="ignore"):
            return np.where(total > -1000, 1 / (1 + np.exp2(-total)), 0.0)

    def score(self, a: Features, b: Features) -> Pair:
        """The pair's probability and its waterfall: the prior and each field's weight."""
        total = self.prior
        fields: dict[str, dict[str, Any]] = {}
        for name in FIELDS:
            comparison = COMPARISONS[name]
            level, weight = self._weigh(name, comparison.values(a), comparison.values(b))
            total += weight
            label = level.label if level else "missing"
            fields[name] = {"weight": round(weight, 2), "level": label}
        probability = 1 / (1 + 2 ** (-total)) if total > -1000 else 0.0
        return Pair(
            a.unique_id, b.unique_id, probability, {"prior": round(self.prior, 2), "fields": fields}
        )


def decide(
    query: Features,
    scored: Iterable[tuple[float, int, int | None]],
    members: Callable[[int], list[Features]],
    explain: Callable[[int], dict[str, Any]],
    *,
    link_threshold: float,
    review_threshold: float,
    top: int = 5,
) -> MatchResult:
    """Linked, needs review or new person, from ``query``'s scored candidates.

    ``scored`` holds (probability, candidate record id, its person); ``members(person)`` gives
    a person's identifiers, for the same contradiction guard the batch clustering applies;
    ``explain(record id)`` the waterfall, computed only for the candidates returned.
    """
    if query.unlinkable:
        return MatchResult("unlinkable", None, None, reason=query.unlinkable)
    scored = list(scored)
    best_by_person: dict[int, tuple[float, int]] = {}
    for probability, record, person in scored:
        if person is None:  # a record not linked yet (later in the same import) decides nothing
            continue
        held = best_by_person.get(person)
        if held is None or probability > held[0]:
            best_by_person[person] = (probability, record)
    ranked = sorted(best_by_person.items(), key=lambda item: (-item[1][0], item[0]))
    candidates = [
        Candidate(person, record, probability, explain(record))
        for person, (probability, record) in ranked[:top]
    ]
    if not ranked or ranked[0][1][0] < review_threshold:
        return MatchResult("new", None, None, candidates, "no candidate scores high enough")
    person, (best, _record) = ranked[0]
    if best < link_threshold:
        return MatchResult("review", person, best, candidates, "below the link threshold")
    matched = {record for p, record, _ in scored if p >= link_threshold}
    reason = conflict(query, members(person), matched)
    if reason:
        return MatchResult("review", person, best, candidates, f"held apart: {reason}")
    return MatchResult("linked", person, best, candidates, "")


def conflict(query: Features, members: list[Features], matched: set[int]) -> str | None:
    """Why ``query`` cannot be the person of ``members`` (a different SSN, or a date of birth
    no typo explains, on a record it did not itself match), or None."""
    for member in members:
        if member.unique_id in matched:
            continue
        if query.ssn and member.ssn and query.ssn != member.ssn:
            return f"record {member.unique_id} of that person has a different SSN"
        if query.dob and member.dob and not dobs_compatible(query.dob, member.dob):
            return f"record {member.unique_id} of that person has a different date of birth"
    return None
