"""The model's comparisons in Python, for one pair of records or for a block of candidates.

Each comparison reads a few features of both records and says which of its levels they reach
(``model.comparisons`` defines the same levels for Splink; a test checks that the scores agree).
A level depends only on the values read, so a block of candidates, held column-wise
(``Columns``), is compared once per distinct value it holds: names one value at a time, the
other fields all at once with numpy. A test checks that a block gets the levels and scores
that each of its pairs gets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np

from corespond.linkage.features import Features

Values = tuple[Any, ...]
"""What one comparison reads of a record."""
MISSING = -1
"""The level of a pair where either value is missing (Splink's null level)."""


def _name_level(a: Values, b: Values) -> int | None:
    """As ``model._name``: exact, in the other-names list, Jaro-Winkler 0.92, 0.80, other."""
    (name_a, others_a), (name_b, others_b) = a, b
    if name_a is None or name_b is None:
        return None
    if name_a == name_b:
        return 0
    if not set(others_a).isdisjoint(others_b):
        return 1
    similarity = jellyfish.jaro_winkler_similarity(name_a, name_b)
    return 2 if similarity >= 0.92 else 3 if similarity >= 0.80 else 4


def _dob_level(a: Values, b: Values) -> int | None:
    """Exact, day and month swapped, one character apart, other."""
    (x,), (y,) = a, b
    if x is None or y is None:
        return None
    if x == y:
        return 0
    if x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]:
        return 1
    return 2 if jellyfish.damerau_levenshtein_distance(x, y) <= 1 else 3


def _exact_level(a: Values, b: Values) -> int | None:
    (x,), (y,) = a, b
    if x is None or y is None:
        return None
    return 0 if x == y else 1


def _address_level(a: Values, b: Values) -> int | None:
    """Same street and ZIP, same ZIP, other (missing when either has no ZIP)."""
    (street_a, zip_a), (street_b, zip_b) = a, b
    if zip_a is None or zip_b is None:
        return None
    if street_a is not None and street_a == street_b and zip_a == zip_b:
        return 0
    return 1 if zip_a == zip_b else 2


BlockLevels = Callable[[Values, list[Values], np.ndarray, np.ndarray], np.ndarray]
"""(query's values, a block's distinct values, the codes to compare, the block's summary of
its values) → the level of each code, ``MISSING`` where either value is missing."""


def _hashes(values: list[Values]) -> np.ndarray:
    return np.array([hash(value) for value in values], np.int64)


def _exact_block(
    mine: Values, values: list[Values], codes: np.ndarray, hashes: np.ndarray
) -> np.ndarray:
    if mine[0] is None:
        return np.full(len(codes), MISSING, np.int8)
    levels = np.ones(len(codes), np.int8)  # other: unless equal to the query's or missing,
    found = hashes[codes]  # which only a value hashing like them can be (checked one by one)
    for i in np.flatnonzero((found == hash(mine)) | (found == hash((None,)))).tolist():
        level = _exact_level(mine, values[codes[i]])
        levels[i] = MISSING if level is None else level
    return levels


def _zip_hashes(values: list[Values]) -> np.ndarray:
    return np.array([hash(zip_code) for _street, zip_code in values], np.int64)


def _address_block(
    mine: Values, values: list[Values], codes: np.ndarray, zip_hashes: np.ndarray
) -> np.ndarray:
    if mine[1] is None:
        return np.full(len(codes), MISSING, np.int8)
    levels = np.full(len(codes), 2, np.int8)  # other: unless the ZIPs are equal or one missing,
    found = zip_hashes[codes]  # which only a ZIP hashing like them can be (checked one by one)
    alike = np.flatnonzero((found == hash(mine[1])) | (found == hash(None)))
    levels[alike] = _one_by_one(_address_level, mine, values, codes[alike])
    return levels


def _dob_characters(values: list[Values]) -> np.ndarray:
    """Each date of birth's ten ISO characters as a row of bytes; zeros for a missing one (or
    for anything not an ISO date, which is then compared on its own)."""
    rows = [
        dob.encode() if dob is not None and len(dob) == 10 and dob.isascii() else bytes(10)
        for (dob,) in values
    ]
    return np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), 10)


def _dob_block(
    mine: Values, values: list[Values], codes: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    (x,) = mine
    if x is None:
        return np.full(len(codes), MISSING, np.int8)
    if len(x) != 10 or not x.isascii():
        return _one_by_one(_dob_level, mine, values, codes)
    query = np.frombuffer(x.encode(), np.uint8)
    rows = rows[codes]
    differ = rows != query
    count = differ.sum(axis=1)
    swapped = (
        (rows[:, :4] == query[:4]).all(axis=1)
        & (rows[:, 5:7] == query[8:10]).all(axis=1)
        & (rows[:, 8:10] == query[5:7]).all(axis=1)
    )
    # One character apart (Damerau-Levenshtein 1, same length): one differs, or two adjacent
    # ones are swapped.
    transposed = (count == 2) & (
        differ[:, :-1] & differ[:, 1:] & (rows[:, :-1] == query[1:]) & (rows[:, 1:] == query[:-1])
    ).any(axis=1)
    levels = np.select([count == 0, swapped, (count == 1) | transposed], [0, 1, 2], 3)
    levels = levels.astype(np.int8)
    irregular = np.flatnonzero(~rows.any(axis=1))  # missing, or not an ISO date
    if len(irregular):
        levels[irregular] = _one_by_one(_dob_level, mine, values, codes[irregular])
    return levels


def _one_by_one(
    level: Callable[[Values, Values], int | None],
    mine: Values,
    values: list[Values],
    codes: np.ndarray,
) -> np.ndarray:
    found = (level(mine, values[code]) for code in codes.tolist())
    return np.array([MISSING if f is None else f for f in found], np.int8)


@dataclass(frozen=True)
class Comparison:
    """One comparison of the model: the features it reads, and the level two records reach."""

    values: Callable[[Features], Values]
    """What this comparison reads of a record (lists as tuples, so values hash)."""
    level: Callable[[Values, Values], int | None]
    """Index of the strongest non-null level the two values reach; None when one is missing."""
    levels: int
    block: tuple[Callable[[list[Values]], np.ndarray], BlockLevels] | None = None
    """How a block of candidates is compared at once: a summary of a block's distinct values
    (made once, with the block), and the levels from it. None: one distinct value at a time."""


_EXACT = (_hashes, _exact_block)
COMPARISONS: dict[str, Comparison] = {
    "first_name": Comparison(lambda r: (r.first_name, tuple(r.first_names)), _name_level, 5),
    "last_name": Comparison(lambda r: (r.last_name, tuple(r.last_names)), _name_level, 5),
    "dob": Comparison(lambda r: (r.dob,), _dob_level, 4, (_dob_characters, _dob_block)),
    "ssn": Comparison(lambda r: (r.ssn,), _exact_level, 2, _EXACT),
    "phone": Comparison(lambda r: (r.phone,), _exact_level, 2, _EXACT),
    "address": Comparison(
        lambda r: (r.street, r.zip), _address_level, 3, (_zip_hashes, _address_block)
    ),
    "sex": Comparison(lambda r: (r.sex,), _exact_level, 2, _EXACT),
}
"""The model's comparisons (``model.comparisons``), in Python."""


def compared(record: Features) -> tuple[Values, ...]:
    """Everything the comparisons read of ``record``, one value per comparison."""
    return tuple(comparison.values(record) for comparison in COMPARISONS.values())


class Columns:
    """Records column-wise, as the online matcher scores them: for each comparison, a code per
    record into the distinct values the records hold (``values[name][codes[name][i]]``), and
    the comparison's summary of those values (``summaries[name]``, see ``Comparison.block``).

    A common name's candidates are hundreds of records sharing a handful of first names, last
    names and sexes; each distinct value is compared with the query once.
    """

    __slots__ = ("codes", "record_ids", "summaries", "values")

    def __init__(
        self,
        record_ids: np.ndarray,
        codes: dict[str, np.ndarray],
        values: dict[str, list[Values]],
        summaries: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.record_ids = record_ids
        self.codes = codes
        self.values = values
        self.summaries = summaries or {
            name: comparison.block[0](values[name])
            for name, comparison in COMPARISONS.items()
            if comparison.block
        }

    @classmethod
    def of(cls, records: Iterable[Features]) -> Columns:
        return cls.of_compared((record.unique_id, compared(record)) for record in records)

    @classmethod
    def of_compared(cls, records: Iterable[tuple[int, tuple[Values, ...]]]) -> Columns:
        """Records given as (id, ``compared(record)``)."""
        names = list(COMPARISONS)
        distinct: list[dict[Values, int]] = [{} for _ in names]
        codes: list[list[int]] = [[] for _ in names]
        ids = []
        for record_id, values in records:
            ids.append(record_id)
            for known, found, value in zip(distinct, codes, values, strict=True):
                found.append(known.setdefault(value, len(known)))
        return cls(
            np.array(ids, np.int64),
            {name: np.array(found, np.int32) for name, found in zip(names, codes, strict=True)},
            {name: list(known) for name, known in zip(names, distinct, strict=True)},
        )

    def __len__(self) -> int:
        return len(self.record_ids)

    def take(self, positions: np.ndarray) -> Columns:
        """The records at ``positions`` (sharing this block's distinct values)."""
        return Columns(
            self.record_ids[positions],
            {name: codes[positions] for name, codes in self.codes.items()},
            self.values,
            self.summaries,
        )

    def features(self, position: int) -> Features:
        """The compared features of the record at ``position``."""

        def read(name: str) -> Values:
            return self.values[name][self.codes[name][position]]

        first_name, first_names = read("first_name")
        last_name, last_names = read("last_name")
        ((dob,), (sex,), (ssn,), (phone,)) = (read(n) for n in ("dob", "sex", "ssn", "phone"))
        street, zip_code = read("address")
        return Features(
            unique_id=int(self.record_ids[position]),
            first_name=first_name,
            last_name=last_name,
            first_names=list(first_names),
            last_names=list(last_names),
            last_sound=jellyfish.nysiis(last_name) if last_name else None,
            dob=dob,
            birth_year=dob[:4] if dob else None,
            sex=sex,
            ssn=ssn,
            phone=phone,
            street=street,
            zip=zip_code,
        )
