"""Clustering links strongest first and never chains strangers through contradicting records."""

from __future__ import annotations

import numpy as np

from corespond.linkage.cluster import Link, cluster, dobs_compatible, named_together
from corespond.linkage.features import Features
from corespond.linkage.model import Scored


def record(
    rid: int, *, dob: str | None = None, ssn: str | None = None, phone: str | None = "5035550199"
) -> Features:
    return Features(
        unique_id=rid, first_name="ANA", last_name="REYES", dob=dob, ssn=ssn, phone=phone
    )


def pair(a: int, b: int, probability: float) -> tuple[int, int, float]:
    return (a, b, probability)


def scored(*pairs: tuple[int, int, float]) -> Scored:
    ordered = sorted(pairs, key=lambda t: -t[2])
    return Scored(
        np.array([t[0] for t in ordered], np.int64),
        np.array([t[1] for t in ordered], np.int64),
        np.array([t[2] for t in ordered], np.float64),
    )


def test_a_chain_of_links_never_joins_different_birth_dates() -> None:
    # A (1980) - B - C - D (1995): each link is strong, but A and D cannot be one person.
    records = [record(1, dob="1980-04-02"), record(2), record(3), record(4, dob="1995-11-30")]
    result = cluster(
        records,
        scored(pair(1, 2, 0.98), pair(2, 3, 0.97), pair(3, 4, 0.96)),
        link_threshold=0.9,
        review_threshold=0.5,
    )

    assert result.of[1] == result.of[2] == result.of[3] != result.of[4]
    [held] = result.review
    assert (held.pair.a, held.pair.b) == (3, 4)
    assert "record 4 on one side and record 1 on the other have different dates of birth" in (
        held.reason
    )


def test_one_review_question_per_pair_of_persons() -> None:
    records = [record(1), record(2), record(3)]
    result = cluster(
        records,
        scored(pair(1, 2, 0.99), pair(1, 3, 0.7), pair(2, 3, 0.6)),
        link_threshold=0.9,
        review_threshold=0.5,
    )

    [question] = result.review
    assert (question.pair.a, question.pair.b, question.pair.probability) == (1, 3, 0.7)


def test_records_matched_directly_may_join_despite_a_difference() -> None:
    # A transposed SSN: the two records were compared and still matched strongly.
    records = [record(1, ssn="x"), record(2, ssn="y")]
    result = cluster(records, scored(pair(1, 2, 0.999)), link_threshold=0.9, review_threshold=0.5)

    assert result.of[1] == result.of[2]
    assert result.link_pair[1].probability == 0.999


def test_the_band_below_the_threshold_goes_to_review() -> None:
    result = cluster(
        [record(1), record(2)], scored(pair(1, 2, 0.7)), link_threshold=0.9, review_threshold=0.5
    )

    assert result.of[1] != result.of[2]
    assert [r.reason for r in result.review] == ["below the link threshold"]


def test_pairs_holding_only_a_name_are_not_asked() -> None:
    result = cluster(
        [record(1), record(2, phone=None)],
        scored(pair(1, 2, 0.7)),
        link_threshold=0.9,
        review_threshold=0.5,
    )

    assert result.of[1] != result.of[2]
    assert result.review == []


def test_steward_decisions_are_pinned() -> None:
    records = [record(1), record(2), record(3)]
    result = cluster(
        records,
        scored(pair(1, 2, 0.99), pair(2, 3, 0.3)),
        link_threshold=0.9,
        review_threshold=0.2,
        same=[(2, 3)],
        different=[(1, 2)],
        decided={(1, 2), (2, 3)},
    )

    assert result.of[2] == result.of[3] != result.of[1]
    assert result.review == []


def test_dob_compatibility() -> None:
    assert dobs_compatible("1980-04-02", "1980-02-04")  # day and month swapped
    assert dobs_compatible("1980-04-02", "1981-04-02")  # one digit
    assert not dobs_compatible("1980-04-02", "1991-04-02")


def test_a_call_that_names_two_records_alike_joins_them_whatever_they_score() -> None:
    name_only = Features(unique_id=1, first_name="ANA", last_name="REYES", sex="f")
    name_only.first_names, name_only.last_names = ["ANA"], ["REYES"]
    patient = record(2, dob="1980-04-02")
    patient.first_names, patient.last_names = ["ANA", "ANNA"], ["REYES"]
    other = record(3, dob="1991-07-15")  # the same name, born eleven years later
    other.first_names, other.last_names = ["ANA"], ["REYES"]
    stranger = Features(unique_id=4, first_name="LUIS", last_name="REYES")
    stranger.first_names, stranger.last_names = ["LUIS"], ["REYES"]
    records = {r.unique_id: r for r in (name_only, patient, other, stranger)}

    together = named_together(records, [(7, 1), (7, 2), (7, 4), (8, 2), (8, 3)])

    assert together == {(1, 2): 7}  # not 2-3 (born years apart), not the other name
    result = cluster(
        list(records.values()),
        scored(pair(1, 2, 0.3), pair(1, 3, 0.3)),
        link_threshold=0.5,
        review_threshold=0.2,
        together=[Link(1, 2, 0.3, "named alike on call 7")],
    )
    assert result.of[1] == result.of[2] != result.of[3]
    assert result.link_pair[1].reason == "named alike on call 7"
    assert not any({item.pair.a, item.pair.b} == {1, 2} for item in result.review)
