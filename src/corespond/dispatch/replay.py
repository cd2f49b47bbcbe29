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
from dataclasses import dataclass
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


@dataclass
class ReplaySummary:
    sent: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0
    skipped: int = 0
    """Rows of the export that could not be read (counted, not sent)."""
    seconds: float = 0.0


def read_feed(path: Path, tz: tzinfo, *, limit: int | None = None) -> list[FeedItem]:
    """The export's incidents as EIDO documents, oldest first (raises ``SourceError``)."""
    if CadCsvAdapter.sniff(path, _head(path)):
        items = list(_csv_feed(path, tz))
    else:
        items = list(_eido_feed(path, tz))
    items.sort(key=lambda item: item.received_at)
    return items[:limit] if limit else items


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


def _csv_feed(path: Path, tz: tzinfo) -> Iterator[FeedItem]:
    by_call: dict[str, list[r.Record]] = {}
    persons: dict[str, r.PersonRecordIn] = {}
    seen: set[tuple[str, str]] = set()
    for item in CadCsvAdapter().read(path, ReadOptions(timezone=tz)):
        if isinstance(item, Rejection) or not isinstance(item, SourceRow):
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
    for records in by_call.values():
        calls = [record for record in records if isinstance(record, r.CallIn)]
        if not calls:
            continue  # names of a call the calls file does not hold
        named = [record for record in records if isinstance(record, r.CallPersonIn)]
        people = [persons[n.person_key] for n in named if n.person_key in persons]
        rest = [record for record in records if isinstance(record, r.UnitResponseIn)]
        document = eido_write.incident_document([calls[0], *rest, *people, *named])
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
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Send each document at its time, ``speed`` times faster than it happened (0: at once)."""
    summary = ReplaySummary()
    started = time.perf_counter()
    first = feed[0].received_at if feed else None
    for item in feed:
        if speed > 0 and first is not None:
            due = (item.received_at - first).total_seconds() / speed
            wait = due - (time.perf_counter() - started)
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
    summary.seconds = time.perf_counter() - started
    return summary
