"""A block of candidates compared at once reaches the levels each of its pairs reaches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corespond.linkage.comparisons import COMPARISONS, MISSING, Values

EXAMPLES: dict[str, list[Values]] = {
    "dob": [
        (None,), ("1980-05-03",), ("1980-03-05",), ("1980-05-04",), ("1908-05-03",),
        ("1980-50-03",), ("1981-05-03",), ("1990-05-03",), ("1980-05-30",), ("1980-5-3",),
        ("",), ("19800503",),
    ],
    "ssn": [(None,), ("a1",), ("a2",), ("",)],
    "phone": [(None,), ("2065550123",), ("2065550124",)],
    "sex": [(None,), ("m",), ("f",)],
    "address": [
        (None, None), ("1 MAIN ST", "98101"), ("2 MAIN ST", "98101"), (None, "98101"),
        ("1 MAIN ST", "98102"), ("1 MAIN ST", None), (None, "98102"),
    ],
}  # fmt: skip


def block_levels(name: str, query: Values, values: list[Values]) -> list[int]:
    comparison = COMPARISONS[name]
    assert comparison.block is not None
    summarise, levels = comparison.block
    codes = np.arange(len(values))
    return levels(query, values, codes, summarise(values)).tolist()  # type: ignore[no-any-return]


def pair_levels(name: str, query: Values, values: list[Values]) -> list[int]:
    found = (COMPARISONS[name].level(query, value) for value in values)
    return [MISSING if level is None else level for level in found]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_block_reaches_each_pairs_level(name: str) -> None:
    values = EXAMPLES[name]
    for query in values:
        assert block_levels(name, query, values) == pair_levels(name, query, values), query


def test_names_are_compared_one_value_at_a_time() -> None:
    assert {name for name, c in COMPARISONS.items() if c.block is None} == {
        "first_name",
        "last_name",
    }


digits = st.text(alphabet="0123456789", min_size=10, max_size=10).map(
    lambda d: f"{d[:4]}-{d[4:6]}-{d[6:]}"
)


@given(st.lists(digits | st.none(), min_size=1, max_size=20), st.data())
def test_dates_of_birth_with_typos_reach_each_pairs_level(
    dates: list[str | None], data: st.DataObject
) -> None:
    query = data.draw(st.sampled_from(dates))
    if query is not None:  # near the query: one digit changed, or two adjacent swapped
        at = data.draw(st.integers(0, 8))
        dates.append(query[:at] + query[at + 1] + query[at] + query[at + 2 :])
        dates.append(query[:at] + data.draw(st.sampled_from("0123456789")) + query[at + 1 :])
    values = [(d,) for d in dates]
    assert block_levels("dob", (query,), values) == pair_levels("dob", (query,), values)
