"""Stable person ids: a new run's clusters take the ids of the persons they overlap most.

Each existing person id goes to at most one new cluster, the one holding most of its records
(ties to the lower cluster name, so the result does not depend on order). A cluster that gets no
id is a new person; if it took records from an existing person, that person was *split*. An
existing person whose id no cluster took had all its records absorbed elsewhere: it was *merged*
into the cluster that took most of them. Facts hang on records, never on persons, so they follow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Assignment:
    person_of: dict[int, int] = field(default_factory=dict)
    """cluster → the existing person id it keeps."""
    new: list[int] = field(default_factory=list)
    """clusters that become new persons."""
    split_from: dict[int, int] = field(default_factory=dict)
    """new cluster → the existing person it took (most of its) records from."""
    merged_into: dict[int, int] = field(default_factory=dict)
    """existing person → the cluster that absorbed (most of) its records."""


def assign(clusters: dict[int, list[int]], current: dict[int, int]) -> Assignment:
    """Match ``clusters`` (name → record ids) to the persons of ``current`` (record → person)."""
    overlaps: Counter[tuple[int, int]] = Counter()
    for name, records in clusters.items():
        for record in records:
            person = current.get(record)
            if person is not None:
                overlaps[(name, person)] += 1
    result = Assignment()
    taken: set[int] = set()
    for (name, person), _count in sorted(
        overlaps.items(), key=lambda item: (-item[1], item[0][1], item[0][0])
    ):
        if name in result.person_of or person in taken:
            continue
        result.person_of[name] = person
        taken.add(person)
    best_source: dict[int, tuple[int, int]] = {}
    best_home: dict[int, tuple[int, int]] = {}
    for (name, person), count in overlaps.items():
        if name not in result.person_of and count > best_source.get(name, (0, 0))[0]:
            best_source[name] = (count, person)
        if person not in taken and count > best_home.get(person, (0, 0))[0]:
            best_home[person] = (count, name)
    for name in sorted(clusters):
        if name not in result.person_of:
            result.new.append(name)
            if name in best_source:
                result.split_from[name] = best_source[name][1]
    result.merged_into = {person: home for person, (_count, home) in best_home.items()}
    return result
