"""Person ids survive re-linking; merges and splits are named."""

from __future__ import annotations

from corespond.linkage.stable import assign


def test_unchanged_clusters_keep_their_ids() -> None:
    result = assign({10: [1, 2], 20: [3]}, {1: 100, 2: 100, 3: 200})

    assert result.person_of == {10: 100, 20: 200}
    assert result.new == [] and result.merged_into == {}


def test_a_merge_keeps_the_larger_persons_id_and_retires_the_other() -> None:
    result = assign({10: [1, 2, 3]}, {1: 100, 2: 100, 3: 200})

    assert result.person_of == {10: 100}
    assert result.merged_into == {200: 10}


def test_a_split_keeps_the_id_on_the_larger_part() -> None:
    result = assign({10: [1, 2], 20: [3], 30: [4]}, {1: 100, 2: 100, 3: 100})

    assert result.person_of == {10: 100}
    assert result.new == [20, 30]
    assert result.split_from == {20: 100}  # 30 holds only a new record: a new person
