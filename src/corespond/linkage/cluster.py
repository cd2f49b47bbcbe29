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

from corespond.linkage.features import Features, compared_fields
from corespond.linkage.model import Scored


@dataclass(frozen=True)
class Link:
    """A scored pair of records (a < b)."""

    a: int
    b: int
    probability: float
    reason: str = ""
    """Why the pair links when its score alone would not (``named_together``)."""


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

    def add_duplicates(self, duplicates: dict[int, list[int]]) -> None:
        """Put each exact duplicate (see ``collapse``) in its representative's cluster."""
        for representative, others in duplicates.items():
            for other in others:
                self.of[other] = self.of[representative]
                pair = Link(min(representative, other), max(representative, other), 1.0)
                self.link_pair[other] = pair
                self.link_pair.setdefault(representative, pair)


def collapse(
    records: list[Features], keep: Iterable[int] = ()
) -> tuple[list[Features], dict[int, list[int]]]:
    """One representative for records identical in every compared field.

    A frequent utilizer can have hundreds of identical records (same name, date of birth,
    phone); scoring every pair of them is most of the work at a million records and tells
    nothing. Records holding nothing beyond a name are never collapsed: two "John Smith"s are
    not the same person for being spelled alike; nor are the records in ``keep`` (those a
    steward has ruled on). Returns the representatives and, for each, the ids of the records
    it stands for.
    """
    kept = set(keep)
    first_of: dict[tuple[object, ...], int] = {}
    representatives: list[Features] = []
    duplicates: dict[int, list[int]] = defaultdict(list)
    for record in records:
        if not (record.ssn or record.dob or record.phone) or record.unique_id in kept:
            representatives.append(record)
            continue
        key = compared_fields(record)
        representative = first_of.setdefault(key, record.unique_id)
        if representative == record.unique_id:
            representatives.append(record)
        else:
            duplicates[representative].append(record.unique_id)
    return representatives, dict(duplicates)


def dobs_compatible(a: str, b: str) -> bool:
    """Equal, day and month swapped, or one character apart (one mistyped digit)."""
    if a == b:
        return True
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def same_name(a: Features, b: Features) -> bool:
    """Two records naming a person alike: first names and last names equal, or sharing a
    nickname or alias form, and nothing that says they are two people (sex, SSN, date of
    birth)."""
    if not (a.first_name and b.first_name and a.last_name and b.last_name):
        return False
    if set(a.first_names).isdisjoint(b.first_names) or set(a.last_names).isdisjoint(b.last_names):
        return False
    if (a.sex and b.sex and a.sex != b.sex) or (a.ssn and b.ssn and a.ssn != b.ssn):
        return False
    return not (a.dob and b.dob and not dobs_compatible(a.dob, b.dob))


def named_together(
    records: dict[int, Features], named: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """The pairs of records one call names with the same name (``same_name``), each with a
    call that names them both.

    A CAD's name record often holds nothing but a name; the EMS run or the arrest of the same
    call names the same person with a date of birth and more. Two people with one name on
    one call are rare; a common name on its own is not evidence enough, on the same call it is.
    ``named``: (call, record) pairs, as ``repository.records_named_on_calls`` gives them.
    """
    by_call: dict[int, list[int]] = defaultdict(list)
    for call, record in named:
        if record in records:
            by_call[call].append(record)
    found: dict[tuple[int, int], int] = {}
    for call, members in by_call.items():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a != b and same_name(records[a], records[b]):
                    found.setdefault((min(a, b), max(a, b)), call)
    return found


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
    together: Iterable[Link] = (),
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
        together: pairs that link whatever they score (named on one call with one name,
            ``named_together``), after the pairs that link by score; the same guard applies.
    """
    decided = decided or set()
    ids = {record.unique_id for record in records}
    strong = int(np.searchsorted(-pairs.p, -link_threshold, side="right"))
    a_list, b_list, p_list = pairs.a.tolist(), pairs.b.tolist(), pairs.p.tolist()
    matched = set(zip(a_list[:strong], b_list[:strong], strict=True))
    guard = _Guard(records, matched, different)
    result = Clusters(of={})
    held: list[Review] = []
    for a, b in same:
        if a in ids and b in ids:
            guard.union(a, b)
    for a, b, probability in zip(a_list[:strong], b_list[:strong], p_list[:strong], strict=True):
        if guard.find(a) == guard.find(b):
            _remember(result, Link(a, b, probability))
            continue
        reason = guard.conflict(a, b)
        if reason is None:
            guard.union(a, b)
            _remember(result, Link(a, b, probability))
        elif (a, b) not in decided:
            held.append(
                Review(Link(a, b, probability), f"linked by score but held apart: {reason}")
            )
    for link in together:
        if link.a not in ids or link.b not in ids or guard.find(link.a) == guard.find(link.b):
            continue
        if guard.conflict(link.a, link.b) is None:
            guard.union(link.a, link.b)
            _remember(result, link)
    for a, b, probability in zip(a_list[strong:], b_list[strong:], p_list[strong:], strict=True):
        if probability < review_threshold:
            break
        if (a, b) not in decided and guard.find(a) != guard.find(b):
            held.append(Review(Link(a, b, probability), "below the link threshold"))
    thin = {r.unique_id for r in records if not (r.dob or r.ssn or r.phone or r.street)}
    result.review = _one_per_pair_of_persons(
        [item for item in held if item.pair.a not in thin and item.pair.b not in thin], guard
    )
    result.of = {record: guard.find(record) for record in ids}
    return result


def _one_per_pair_of_persons(held: list[Review], guard: _Guard) -> list[Review]:
    """The strongest uncertain pair between any two persons: one question per two persons.

    Pairs where a record holds nothing but a name (and sex) are not asked: a steward has
    nothing more to go on than the model had.
    """
    best: dict[tuple[int, int], Review] = {}
    for item in held:
        x, y = guard.find(item.pair.a), guard.find(item.pair.b)
        if x == y:  # joined since (by a call that names them alike)
            continue
        key = (x, y) if x < y else (y, x)
        if key not in best or item.pair.probability > best[key].pair.probability:
            best[key] = item
    return sorted(best.values(), key=lambda item: (-item.pair.probability, item.pair.a))


def _remember(result: Clusters, pair: Link) -> None:
    for record in (pair.a, pair.b):
        best = result.link_pair.get(record)
        if best is None or pair.probability > best.probability:
            result.link_pair[record] = pair
