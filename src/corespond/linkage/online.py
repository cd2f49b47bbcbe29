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

import jellyfish

from corespond.linkage.cluster import dobs_compatible
from corespond.linkage.features import Features
from corespond.linkage.model import FIELDS, Pair, with_floors

Decision = Literal["linked", "review", "new", "unlinkable"]
Level = Callable[[Features, Features], bool]


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


def _both(name: str) -> Callable[[Features, Features], bool]:
    return lambda a, b: getattr(a, name) is not None and getattr(b, name) is not None


def _equal(name: str) -> Level:
    return lambda a, b: getattr(a, name) == getattr(b, name)


def _jaro(name: str, at: float) -> Level:
    return lambda a, b: jellyfish.jaro_winkler_similarity(getattr(a, name), getattr(b, name)) >= at


def _share(name: str) -> Level:
    return lambda a, b: bool(set(getattr(a, name)) & set(getattr(b, name)))


def _dob_swapped(a: Features, b: Features) -> bool:
    x, y = a.dob or "", b.dob or ""
    return x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]


def _dob_near(a: Features, b: Features) -> bool:
    return jellyfish.damerau_levenshtein_distance(a.dob or "", b.dob or "") <= 1


def _same_street(a: Features, b: Features) -> bool:
    return a.street is not None and a.street == b.street and a.zip == b.zip


ALWAYS: Level = lambda a, b: True  # noqa: E731


def _name(column: str, other_names: str) -> tuple[Level, list[Level]]:
    """As ``model._name``: exact, in the other-names list, Jaro-Winkler 0.92, 0.80, other."""
    return (
        _both(column),
        [_equal(column), _share(other_names), _jaro(column, 0.92), _jaro(column, 0.80), ALWAYS],
    )


# Each comparison: when it is not null, then its non-null levels in the model's order.
COMPARISONS: dict[str, tuple[Level, list[Level]]] = {
    "first_name": _name("first_name", "first_names"),
    "last_name": _name("last_name", "last_names"),
    "dob": (_both("dob"), [_equal("dob"), _dob_swapped, _dob_near, ALWAYS]),
    "ssn": (_both("ssn"), [_equal("ssn"), ALWAYS]),
    "phone": (_both("phone"), [_equal("phone"), ALWAYS]),
    "address": (_both("zip"), [_same_street, _equal("zip"), ALWAYS]),
    "sex": (_both("sex"), [_equal("sex"), ALWAYS]),
}  # fmt: skip


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
    """The trained model's parameters, applied to one pair at a time."""

    def __init__(self, model: dict[str, Any], frequencies: dict[str, dict[str, float]]) -> None:
        model = with_floors(model)
        probability = model["probability_two_random_records_match"]
        self.prior = math.log2(probability / (1 - probability))
        self.frequencies = frequencies
        self.levels: dict[str, list[_Level]] = {}
        for comparison in model["comparisons"]:
            name = comparison["output_column_name"]
            levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
            if len(levels) != len(COMPARISONS[name][1]):
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

    def probability(self, a: Features, b: Features) -> float:
        """The match probability alone: what ranking candidates needs, without the waterfall."""
        total = self.prior
        for name in FIELDS:
            not_null, predicates = COMPARISONS[name]
            if not not_null(a, b):
                continue
            level = self.levels[name][next(i for i, test in enumerate(predicates) if test(a, b))]
            total += level.weight
            if level.tf_log2_u is not None:
                table = self.frequencies.get(name, {})
                frequency = max(table.get(getattr(a, name), 0.0), table.get(getattr(b, name), 0.0))
                if frequency > 0:
                    total += level.tf_log2_u - math.log2(frequency)
        return 1 / (1 + 2 ** (-total)) if total > -1000 else 0.0

    def score(self, a: Features, b: Features) -> Pair:
        total = self.prior
        fields: dict[str, dict[str, Any]] = {}
        for name in FIELDS:
            not_null, predicates = COMPARISONS[name]
            if not not_null(a, b):
                fields[name] = {"weight": 0.0, "level": "missing"}
                continue
            index = next(i for i, matches in enumerate(predicates) if matches(a, b))
            level = self.levels[name][index]
            weight = level.weight
            if level.tf_log2_u is not None:
                table = self.frequencies.get(name, {})  # term frequencies are by column name
                frequency = max(table.get(getattr(a, name), 0.0), table.get(getattr(b, name), 0.0))
                if frequency > 0:
                    weight += level.tf_log2_u - math.log2(frequency)
            total += weight
            fields[name] = {"weight": round(weight, 2), "level": level.label}
        probability = 1 / (1 + 2 ** (-total)) if total > -1000 else 0.0
        return Pair(
            a.unique_id, b.unique_id, probability, {"prior": round(self.prior, 2), "fields": fields}
        )


def decide(
    query: Features,
    scored: Iterable[tuple[float, Features, int | None]],
    members: Callable[[int], list[Features]],
    explain: Callable[[Features], dict[str, Any]],
    *,
    link_threshold: float,
    review_threshold: float,
    top: int = 5,
) -> MatchResult:
    """Linked, needs review or new person, from ``query``'s scored candidates.

    ``scored`` holds (probability, candidate record, its person); ``members(person)`` gives a
    person's identifiers, for the same contradiction guard the batch clustering applies;
    ``explain(record)`` the waterfall, computed only for the candidates returned.
    """
    if query.unlinkable:
        return MatchResult("unlinkable", None, None, reason=query.unlinkable)
    scored = list(scored)
    best_by_person: dict[int, tuple[float, Features]] = {}
    for probability, record, person in scored:
        if person is None:  # a record not linked yet (later in the same import) decides nothing
            continue
        held = best_by_person.get(person)
        if held is None or probability > held[0]:
            best_by_person[person] = (probability, record)
    ranked = sorted(best_by_person.items(), key=lambda item: (-item[1][0], item[0]))
    candidates = [
        Candidate(person, record.unique_id, probability, explain(record))
        for person, (probability, record) in ranked[:top]
    ]
    if not ranked or ranked[0][1][0] < review_threshold:
        return MatchResult("new", None, None, candidates, "no candidate scores high enough")
    person, (best, _record) = ranked[0]
    if best < link_threshold:
        return MatchResult("review", person, best, candidates, "below the link threshold")
    matched = {r.unique_id for p, r, _ in scored if p >= link_threshold}
    conflict = _conflict(query, members(person), matched)
    if conflict:
        return MatchResult("review", person, best, candidates, f"held apart: {conflict}")
    return MatchResult("linked", person, best, candidates, "")


def _conflict(query: Features, members: list[Features], matched: set[int]) -> str | None:
    for member in members:
        if member.unique_id in matched:
            continue
        if query.ssn and member.ssn and query.ssn != member.ssn:
            return f"record {member.unique_id} of that person has a different SSN"
        if query.dob and member.dob and not dobs_compatible(query.dob, member.dob):
            return f"record {member.unique_id} of that person has a different date of birth"
    return None
