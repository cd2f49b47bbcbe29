"""The online matcher's candidates, held in memory: every record ``person_match_key`` indexes
(each collapsed group's representative), its compared features column-wise, and its blocking
keys.

A 911 lookup of a common name has a thousand candidates; reading their records from the store
on every call is most of its time. A server builds this index once at start-up (``build``),
takes in the records indexed since (``extended``: incremental linking appends keys) and builds
it again after a new linkage run. Keys are held as 64-bit hashes in one sorted array, features
as small integer codes into each comparison's distinct values.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from corespond.linkage import repository
from corespond.linkage.comparisons import COMPARISONS, Columns
from corespond.linkage.features import Features, features
from corespond.linkage.online import match_keys

MAX_SEGMENTS = 4
"""Increments appended since the build are merged into one once there are more than this."""


def _hashes(keys: Iterable[str]) -> np.ndarray:
    # Python's own string hash: 64 bits, stable within the process that holds the index. Two
    # different keys sharing a hash would only add a candidate; among a few million keys the
    # chance of that is about one in a trillion.
    return np.array([hash(key) for key in keys], np.int64)


class Segment:
    """Records and their keys: a sorted array of key hashes, each with its record's position."""

    __slots__ = ("columns", "hashes", "positions")

    def __init__(self, columns: Columns, hashes: np.ndarray, positions: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        self.columns = columns
        self.hashes = hashes[order]
        self.positions = positions[order].astype(np.int32)

    @classmethod
    def of(cls, records: Iterable[Features]) -> Segment:
        """``records`` with their blocking keys: those ``person_match_key`` holds for them,
        which the batch run and incremental linking write as ``match_keys(record)``."""
        positions, hashes = array("q"), array("q")

        def keyed() -> Iterator[Features]:
            for position, record in enumerate(records):
                for key in match_keys(record):
                    positions.append(position)
                    hashes.append(hash(key))
                yield record

        columns = Columns.of(keyed())
        return cls(columns, np.array(hashes, np.int64), np.array(positions, np.int64))

    @classmethod
    def merged(cls, segments: list[Segment]) -> Segment:
        records = np.concatenate([s.columns.record_ids for s in segments])
        codes, values = {}, {}
        summaries = {
            name: np.concatenate([s.columns.summaries[name] for s in segments])
            for name in segments[0].columns.summaries
        }
        for name in COMPARISONS:
            offset, parts, distinct = 0, [], []
            for segment in segments:
                parts.append(segment.columns.codes[name] + offset)
                distinct.extend(segment.columns.values[name])
                offset += len(segment.columns.values[name])
            codes[name], values[name] = np.concatenate(parts), distinct
        shift = np.cumsum([0] + [len(s.columns) for s in segments[:-1]])
        return cls(
            Columns(records, codes, values, summaries),
            np.concatenate([s.hashes for s in segments]),
            np.concatenate([s.positions + start for s, start in zip(segments, shift, strict=True)]),
        )

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Positions of the records holding any of these key hashes (each once)."""
        left = np.searchsorted(self.hashes, hashes, side="left")
        right = np.searchsorted(self.hashes, hashes, side="right")
        found = [self.positions[a:b] for a, b in zip(left.tolist(), right.tolist(), strict=True)]
        found = [part for part in found if len(part)]
        if not found:
            return np.zeros(0, np.int32)
        return np.unique(np.concatenate(found)) if len(found) > 1 else np.unique(found[0])

    def nbytes(self) -> int:
        """Bytes held by the arrays (the distinct values are counted by the caller's RSS)."""
        arrays = [self.hashes, self.positions, self.columns.record_ids]
        return sum(a.nbytes for a in arrays) + sum(c.nbytes for c in self.columns.codes.values())


@dataclass(frozen=True)
class FeatureIndex:
    """What ``person_match_key`` held up to key ``watermark`` under model and run ``version``
    (``repository.scorer_key``). Never changed in place: refreshing makes a new index, so a
    lookup in progress keeps the one it started with."""

    version: tuple[object, ...]
    watermark: int
    segments: tuple[Segment, ...]

    @property
    def records(self) -> int:
        return sum(len(segment.columns) for segment in self.segments)

    def candidates(self, keys: list[str], *, exclude: int | None = None) -> list[Columns]:
        """The records sharing a key with ``keys``, one block per segment."""
        hashes = _hashes(keys)
        blocks = []
        for segment in self.segments:
            positions = segment.lookup(hashes)
            if exclude is not None and len(positions):
                positions = positions[segment.columns.record_ids[positions] != exclude]
            if len(positions):
                blocks.append(segment.columns.take(positions))
        return blocks

    def nbytes(self) -> int:
        return sum(segment.nbytes() for segment in self.segments)


def build(session: Session, version: tuple[object, ...]) -> FeatureIndex:
    """Every record ``person_match_key`` indexes, read from the store."""
    segment, watermark = _read_segment(session, after=0)
    return FeatureIndex(version, watermark, (segment,) if segment else ())


def extended(index: FeatureIndex, session: Session) -> FeatureIndex:
    """``index`` with the records indexed since it was built or last extended."""
    segment, watermark = _read_segment(session, after=index.watermark)
    if segment is None:
        return index
    segments = [*index.segments, segment]
    if len(segments) > MAX_SEGMENTS:
        segments = [segments[0], Segment.merged(segments[1:])]
    return FeatureIndex(index.version, watermark, tuple(segments))


def _read_segment(session: Session, *, after: int) -> tuple[Segment | None, int]:
    """The records whose keys come after key id ``after``, and the last key id."""
    last = repository.match_key_watermark(session)
    if last <= after:
        return None, after
    identities = repository.indexed_identities(session, after=after, upto=last)
    return Segment.of(features(identity) for identity in identities), last
