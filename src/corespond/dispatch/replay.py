"""Replaying a CAD export as a live feed, for demos, training and load tests.

A feed is read as EIDO documents in the order the calls were received: an EIDO file (one
document or a JSON array) or a folder of them, or a CAD CSV export (``cad-csv``: a calls file
and its names file), whose rows are gathered per call and written as one EIDO document each
(``sources.eido_write``). Documents are then sent at the pace the calls came in, ``speed``
times faster (0: as fast as they can be taken), to a server's intake API or, with no server,
straight into the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from corespond.sources import eido, eido_write
from corespond.sources import records as r
from corespond.sources.base import ReadOptions, Rejection, SourceError, SourceRow
from corespond.sources.cad_csv import CadCsvAdapter

Send = Callable[[dict[str, Any]], int]
"""Sends one document; returns the HTTP status (or its equivalent)."""


@dataclass(frozen=True)
class FeedItem:
    received_at: datetime
    document: dict[str, Any]


@dataclass(frozen=True)
class Feed:
    items: list[FeedItem]
    """The incidents to send, oldest first."""
    rejections: list[Rejection] = field(default_factory=list)
    """Rows of a CSV export that could not be read, or calls that make no EIDO document
    (skipped, not sent)."""


@dataclass
class ReplaySummary:
    sent: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0
    seconds: float = 0.0


def read_feed(path: Path, tz: tzinfo, *, limit: int | None = None) -> Feed:
    """The export's incidents as EIDO documents, oldest first.

    Raises:
        SourceError: nothing to replay there, or an EIDO file that is not JSON or not EIDO (a
            document feed is all or nothing; a CSV export's unreadable rows are skipped).
    """
    rejections: list[Rejection] = []
    if CadCsvAdapter.sniff(path, _head(path)):
        items = list(_csv_feed(path, tz, rejections))
    else:
        items = list(_eido_feed(path, tz))
    items.sort(key=lambda item: item.received_at)
    return Feed(items[:limit] if limit else items, rejections)


def _head(path: Path) -> bytes:
    first = next(iter(sorted(path.glob("*.csv"))), None) if path.is_dir() else path
    if first is None or not first.is_file():
        return b""
    with first.open("rb") as stream:
        return stream.read(4096)


def _eido_feed(path: Path, tz: tzinfo) -> Iterator[FeedItem]:
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise SourceError(f"{path}: no EIDO documents (*.json) to replay")
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceError(f"{file}: not JSON: {exc}") from exc
        for document in data if isinstance(data, list) else [data]:
            try:
                call = eido.document_records(document, tz)[0]
            except ValueError as exc:
                raise SourceError(f"{file}: not an EIDO incident: {exc}") from exc
            yield FeedItem(_when(call), document)


def _csv_feed(path: Path, tz: tzinfo, rejections: list[Rejection]) -> Iterator[FeedItem]:
    by_call: dict[str, list[r.Record]] = {}
    persons: dict[str, r.PersonRecordIn] = {}
    seen: set[tuple[str, str]] = set()
    for item in CadCsvAdapter().read(path, ReadOptions(timezone=tz)):
        if isinstance(item, Rejection):
            rejections.append(item)
            continue
        if not isinstance(item, SourceRow):
            continue
        for record in item.records:
            if isinstance(record, r.PersonRecordIn):
                persons[record.source_key] = record
                continue
            call_key = record.source_key if isinstance(record, r.CallIn) else getattr(
                record, "call_key", None
            )  # fmt: skip
            if not call_key or (record.kind, record.source_key) in seen:
                continue
            seen.add((record.kind, record.source_key))
            by_call.setdefault(call_key, []).append(record)
    for call_key, records in by_call.items():
        calls = [record for record in records if isinstance(record, r.CallIn)]
        if not calls:
            continue  # names of a call the calls file does not hold (or whose row was rejected)
        named = [record for record in records if isinstance(record, r.CallPersonIn)]
        people = [persons[n.person_key] for n in named if n.person_key in persons]
        named = [n for n in named if n.person_key in persons]  # a rejected name row: left out
        rest = [record for record in records if isinstance(record, r.UnitResponseIn)]
        try:
            document = eido_write.incident_document([calls[0], *rest, *people, *named])
        except ValueError as exc:
            rejections.append(Rejection(str(path), f"call {call_key}", str(exc), ""))
            continue
        yield FeedItem(_when(calls[0]), document)


def _when(call: r.Record) -> datetime:
    assert isinstance(call, r.CallIn)
    when = call.received_at or call.queued_at or datetime(1970, 1, 1, tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def replay(
    feed: list[FeedItem],
    send: Send,
    *,
    speed: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Send each document at its time, ``speed`` times faster than it happened (0: at once).

    The first document goes at once and each later one ``(received_at - first) / speed``
    seconds after the start by ``clock``; a send that takes longer delays the ones after it
    only as long as it takes to catch up (the schedule is kept, not the gaps).
    """
    summary = ReplaySummary()
    started = clock()
    first = feed[0].received_at if feed else None
    for item in feed:
        if speed > 0 and first is not None:
            due = (item.received_at - first).total_seconds() / speed
            wait = due - (clock() - started)
            if wait > 0:
                sleep(wait)
        status = send(item.document)
        summary.sent += 1
        if status == 201:
            summary.created += 1
        elif status == 200:
            summary.updated += 1
        else:
            summary.refused += 1
        if progress:
            progress(1)
    summary.seconds = clock() - started
    return summary
