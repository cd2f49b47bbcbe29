"""Property: whatever an adapter yields, ingest accounts for every row, and again changes nothing.

Items are drawn at random: person records, facts that refer to people who may or may not
exist, duplicate keys with the same or different content, rejections, all in random batch
sizes. The store itself is the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.ingest import service
from corespond.sources.base import Item, ReadOptions, Rejection, SourceRow
from corespond.sources.plan import Export
from corespond.sources.records import ArrestIn, ArrestType, PersonRecordIn

KEYS = st.sampled_from([f"K{n}" for n in range(8)])
NAMES = ["Quill", "Marsh", "Okafor", "Lindqvist"]


@st.composite
def items(draw: st.DrawFn) -> Item:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        key = draw(KEYS)
        # A source repeats a key with the same content (CAD repeats each event per unit);
        # contradicting itself within one file is covered in test_service.py.
        record = PersonRecordIn(source_key=key, last_name=NAMES[int(key[1:]) % len(NAMES)])
        return SourceRow("f.csv", "row", (record,))
    if choice == 1:
        key = draw(KEYS)
        arrest = ArrestIn(
            source_key="A" + key,
            person_key=key,  # often one the source has not sent (yet)
            arrested_at=datetime(2025, 1, 1, tzinfo=UTC),
            arrest_type=ArrestType.TAKEN_INTO_CUSTODY,
        )
        return SourceRow("f.csv", "row", (arrest,))
    return Rejection("f.csv", "row", "broken", draw(st.text(max_size=20)))


class ListAdapter:
    """An adapter whose rows come from the test."""

    name: ClassVar[str] = "test-list"
    description: ClassVar[str] = "rows given by a test"
    rows: ClassVar[list[Item]] = []

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        yield from self.rows

    def default_source_name(self, path: Path) -> str:
        return "test"


def ingest(rows: list[Item]) -> service.IngestSummary:
    ListAdapter.rows = rows
    task = Export(Path("f.csv"), "test-list", "Property source")
    with unit_of_work() as session:
        return service.run(session, task, adapter=ListAdapter())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(items(), max_size=40), batch_size=st.integers(1, 7))
def test_every_row_is_accounted_for_and_a_rerun_changes_nothing(
    clear_store: Callable[[], None], rows: list[Item], batch_size: int
) -> None:
    # Examples share the test's store: start each from empty.
    clear_store()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.get_settings(), "ingest_batch_size", batch_size)
        first = ingest(rows)
        quarantined = count(models.QuarantinedRow)
        second = ingest(rows)
        snapshot = arrests()
        third = ingest(rows)

    assert first.read == len(rows) == first.stored + first.unchanged + first.quarantined
    assert quarantined == first.quarantined
    # A second run can only store rows whose person arrived later in the first run's file.
    assert second.stored <= first.quarantined
    assert second.read == second.stored + second.unchanged + second.quarantined
    assert third.stored == 0
    assert arrests() == snapshot
    with session_factory()() as session:
        orphans = session.scalar(
            select(func.count())
            .select_from(models.Arrest)
            .where(models.Arrest.person_record_id.is_(None))
        )
    assert orphans == 0


VERSIONS = st.sampled_from(["Quill", "Marsh", "Okafor"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    versions=st.lists(st.tuples(KEYS, VERSIONS), min_size=1, max_size=30),
    batch_size=st.integers(1, 7),
)
def test_keys_repeated_with_other_content_in_any_batches_end_the_same_and_rerun_unchanged(
    clear_store: Callable[[], None], versions: list[tuple[str, str]], batch_size: int
) -> None:
    clear_store()
    rows: list[Item] = [
        SourceRow("f.csv", f"row {n}", (PersonRecordIn(source_key=key, last_name=name),))
        for n, (key, name) in enumerate(versions)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.get_settings(), "ingest_batch_size", batch_size)
        ingest(rows)
        stored = persons()
        again = ingest(rows)

    last = {key: name for key, name in versions}
    assert {key: name for key, name, _, _ in stored} == last
    assert (again.stored, again.unchanged) == (0, len(rows))
    assert persons() == stored  # not even rewritten in between: same run and write time


def persons() -> list[tuple[object, ...]]:
    record = models.PersonRecord
    with session_factory()() as session:
        query = select(record.source_key, record.last_name, record.ingest_run_id, record.updated_at)
        return sorted(tuple(row) for row in session.execute(query))


def count(model: type[models.Base]) -> int:
    with session_factory()() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def arrests() -> list[tuple[str, str]]:
    with session_factory()() as session:
        rows = session.execute(select(models.Arrest.source_key, models.Arrest.content_hash))
        return sorted((key, digest) for key, digest in rows)
