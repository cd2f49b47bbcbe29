"""Scored pairs → clusters of records, guarded against chaining strangers together.

Plain connected components at a threshold lets a cluster grow through a chain of links: A looks
like B, B like C, and soon A and C (born years apart, with different SSNs) are one person. Here
links are taken strongest first, and two clusters join only if no record of one contradicts a
record of the other (different SSNs, dates of birth that no typo or day/month swap explains, or a
steward's "different people"), unless those two records were themselves compared and matched.
A link refused that way goes to review with the reason; so does a pair scored in the band below
the threshold. Stewards' decisions are pinned: "same" joins first, "different" is never undone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from corespond.linkage.features import Features
from corespond.linkage.model import Scored


@dataclass(frozen=True)
class Link:
    """A scored pair of records (a < b)."""

    a: int
    b: int
    probability: float


@dataclass
class Review:
    pair: Link
    reason: str


@dataclass
class Clusters:
    """Which cluster each record is in (a cluster is named by one of its records)."""

    of: dict[int, int]
    link_pair: dict[int, Link] = field(default_factory=dict)
    """For each linked record, the strongest accepted link it has to its cluster."""
    review: list[Review] = field(default_factory=list)

    def members(self) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for record, root in self.of.items():
            groups[root].append(record)
        return groups


def dobs_compatible(a: str, b: str) -> bool:
    """Equal, day and month swapped, or one character apart (one mistyped digit)."""
    if a == b:
        return True
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


class _Guard:
    """Union-find whose unions refuse contradictions between records not directly matched."""

    def __init__(
        self,
        records: Iterable[Features],
        matched: set[tuple[int, int]],
        different: Iterable[tuple[int, int]],
    ) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}
        self.ssn: dict[int, str] = {}
        self.dob: dict[int, str] = {}
        for record in records:
            rid = record.unique_id
            self.parent[rid] = rid
            self.members[rid] = [rid]
            if record.ssn:
                self.ssn[rid] = record.ssn
            if record.dob:
                self.dob[rid] = record.dob
        self.matched = matched
        self.apart: dict[int, set[int]] = defaultdict(set)
        for a, b in different:
            self.apart[a].add(b)
            self.apart[b].add(a)

    def find(self, record: int) -> int:
        root = record
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[record] != root:
            self.parent[record], record = root, self.parent[record]
        return root

    def conflict(self, a: int, b: int) -> str | None:
        """Why the clusters of ``a`` and ``b`` may not join, or None."""
        left, right = self.members[self.find(a)], self.members[self.find(b)]
        if len(left) > len(right):
            left, right = right, left
        right_set = set(right)
        for x in left:
            if self.apart.get(x, set()) & right_set:
                return "a steward decided these are different people"
        for x in left:
            for y in right:
                pair = (x, y) if x < y else (y, x)
                if pair in self.matched:
                    continue
                ssn_x, ssn_y = self.ssn.get(x), self.ssn.get(y)
                if ssn_x and ssn_y and ssn_x != ssn_y:
                    return f"record {x} on one side and record {y} on the other have different SSNs"
                dob_x, dob_y = self.dob.get(x), self.dob.get(y)
                if dob_x and dob_y and not dobs_compatible(dob_x, dob_y):
                    return (
                        f"record {x} on one side and record {y} on the other have different "
                        "dates of birth"
                    )
        return None

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if len(self.members[root_a]) < len(self.members[root_b]):
            root_a, root_b = root_b, root_a
        self.parent[root_b] = root_a
        self.members[root_a].extend(self.members.pop(root_b))


def cluster(
    records: list[Features],
    pairs: Scored,
    *,
    link_threshold: float,
    review_threshold: float,
    same: Iterable[tuple[int, int]] = (),
    different: Iterable[tuple[int, int]] = (),
    decided: set[tuple[int, int]] | None = None,
) -> Clusters:
    """Cluster ``records`` from their scored ``pairs`` (strongest first).

    Args:
        records: every linkable record (unlinkable ones are not clustered).
        pairs: scored pairs at or above ``review_threshold``, strongest first.
        link_threshold: pairs at or above it link, unless a contradiction forbids it.
        review_threshold: pairs between it and ``link_threshold`` go to review.
        same: pairs a steward decided are one person (joined first, whatever they score).
        different: pairs a steward decided are different people (never joined).
        decided: pairs already decided, which are not sent to review again.
    """
    decided = decided or set()
    ids = {record.unique_id for record in records}
    strong = int(np.searchsorted(-pairs.p, -link_threshold, side="right"))
    a_list, b_list, p_list = pairs.a.tolist(), pairs.b.tolist(), pairs.p.tolist()
    matched = set(zip(a_list[:strong], b_list[:strong], strict=True))
    guard = _Guard(records, matched, different)
    ambiguous = _ambiguous(guard, a_list[:strong], b_list[:strong])
    result = Clusters(of={})
    held: list[Review] = []
    for a, b in same:
        if a in ids and b in ids:
            guard.union(a, b)
    for a, b, probability in zip(a_list[:strong], b_list[:strong], p_list[:strong], strict=True):
        if guard.find(a) == guard.find(b):
            _remember(result, Link(a, b, probability))
            continue
        reason = ambiguous.get(a) or ambiguous.get(b) or guard.conflict(a, b)
        if reason is None:
            guard.union(a, b)
            _remember(result, Link(a, b, probability))
        elif (a, b) not in decided:
            held.append(
                Review(Link(a, b, probability), f"linked by score but held apart: {reason}")
            )
    for a, b, probability in zip(a_list[strong:], b_list[strong:], p_list[strong:], strict=True):
        if probability < review_threshold:
            break
        if (a, b) not in decided and guard.find(a) != guard.find(b):
            held.append(Review(Link(a, b, probability), "below the link threshold"))
    result.review = _one_per_pair_of_persons(held, guard)
    result.of = {record: guard.find(record) for record in ids}
    return result


def _ambiguous(guard: _Guard, a_list: list[int], b_list: list[int]) -> dict[int, str]:
    """Records that match two people who cannot be one: why, by record.

    A CAD record with only "Nicole Zellett" matches both the Nicole Zellett born in 1977 and
    the one born in 1983. Joining it to whichever comes first would be a guess: it stays a
    person of its own, and its links go to review.
    """
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in zip(a_list, b_list, strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    found = {}
    for record, others in neighbours.items():
        if len(others) < 2 or (record in guard.ssn and record in guard.dob):
            continue
        ssns = {guard.ssn[o] for o in others if o in guard.ssn}
        if record not in guard.ssn and len(ssns) > 1:
            found[record] = f"record {record} matches people with different SSNs"
            continue
        if record not in guard.dob:
            dobs = sorted({guard.dob[o] for o in others if o in guard.dob})
            if any(not dobs_compatible(x, y) for x in dobs for y in dobs if x < y):
                found[record] = f"record {record} matches people born on different dates"
    return found


def _one_per_pair_of_persons(held: list[Review], guard: _Guard) -> list[Review]:
    """The strongest uncertain pair between any two persons: one question per two persons."""
    best: dict[tuple[int, int], Review] = {}
    for item in held:
        x, y = guard.find(item.pair.a), guard.find(item.pair.b)
        key = (x, y) if x < y else (y, x)
        if key not in best or item.pair.probability > best[key].pair.probability:
            best[key] = item
    return sorted(best.values(), key=lambda item: (-item.pair.probability, item.pair.a))


def _remember(result: Clusters, pair: Link) -> None:
    for record in (pair.a, pair.b):
        best = result.link_pair.get(record)
        if best is None or pair.probability > best.probability:
            result.link_pair[record] = pair
