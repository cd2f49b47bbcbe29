"""The in-memory index finds the records sharing a key, however its segments were built."""

from __future__ import annotations

from datetime import date

from corespond.linkage.comparisons import Columns
from corespond.linkage.features import Identity, features
from corespond.linkage.index import FeatureIndex, Segment
from corespond.linkage.online import match_keys

PEOPLE = [
    Identity(1, first_name="Ana", last_name="Reyes", dob=date(1980, 5, 3), sex="F"),
    Identity(2, first_name="Anna", last_name="Reyes", dob=date(1980, 5, 3), phone="2065550123"),
    Identity(3, first_name="Bob", last_name="Smith", dob=date(1975, 2, 9), zip="98101"),
    Identity(4, first_name="Robert", last_name="Smith", street="1 Main St", zip="98101"),
    Identity(5, first_name="Ana", last_name="Reyes", sex="F"),
    Identity(6, first_name="Rob", last_name="Smyth", dob=date(1975, 9, 2), phone="2065550123"),
]


def segment(identities: list[Identity]) -> Segment:
    return Segment.of(features(identity) for identity in identities)


def found(index: FeatureIndex, identity: Identity, exclude: int | None = None) -> set[int]:
    blocks = index.candidates(match_keys(features(identity)), exclude=exclude)
    return {int(record_id) for block in blocks for record_id in block.record_ids}


def test_segments_split_or_merged_find_the_same_records_with_the_same_features() -> None:
    whole = FeatureIndex(("v",), 6, (segment(PEOPLE),))
    parts = [segment(PEOPLE[i : i + 2]) for i in range(0, 6, 2)]
    split = FeatureIndex(("v",), 6, tuple(parts))
    merged = FeatureIndex(("v",), 6, (Segment.merged(parts),))

    for identity in PEOPLE:
        expected = {
            other.record_id
            for other in PEOPLE
            if set(match_keys(features(other))) & set(match_keys(features(identity)))
        }
        assert found(whole, identity) == found(split, identity) == found(merged, identity)
        assert found(merged, identity) == expected
        assert found(merged, identity, exclude=identity.record_id) == expected - {
            identity.record_id
        }
    columns = merged.segments[0].columns
    assert [columns.features(i) for i in range(len(columns))] == [
        Columns.of([features(p)]).features(0) for p in PEOPLE
    ]
    assert merged.records == 6 and merged.nbytes() > 0
