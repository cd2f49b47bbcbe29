"""Ingest runs: read a source with its adapter and write it through the batch writer.

One run is one source system's import and one transaction: a crash or kill leaves the store as
it was before the run, and running it again completes it. The caller owns the transaction
(``unit_of_work``); this module never commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import islice

from sqlalchemy import insert
from sqlalchemy.orm import Session

from corespond import models
from corespond.audit.chain import record
from corespond.config import get_settings
from corespond.crypto import FieldCipher
from corespond.ingest import cad_lane, repository
from corespond.ingest.schemas import FileCounts, IngestSummary
from corespond.ingest.writer import BatchResult, BatchWriter
from corespond.models.base import utcnow
from corespond.sources.base import Adapter, Item, Rejection
from corespond.sources.cad_csv import CadCsvAdapter
from corespond.sources.plan import Export
from corespond.sources.registry import adapter_class

QUARANTINE_CONTEXT = b"quarantined_row.raw"
Progress = Callable[[int], None]
"""Called after each batch with the number of source rows it held."""


def run(
    session: Session,
    task: Export,
    *,
    progress: Progress | None = None,
    adapter: Adapter | None = None,
) -> IngestSummary:
    """Import ``task`` in ``session``'s transaction and return its counts.

    ``adapter`` replaces the one registered for ``task.format`` (a feed held in memory).
    """
    started = time.perf_counter()
    source = repository.get_or_create_source_system(
        session, task.source, format=task.format, agency_key=task.agency_key
    )
    ledger = models.IngestRun(source_system_id=source.id, format=task.format, status="running")
    session.add(ledger)
    session.flush()
    writer = BatchWriter(
        session, source_system_id=source.id, run_id=ledger.id, source_name=task.source
    )
    cipher = FieldCipher.from_settings()
    files: dict[str, FileCounts] = {}
    summary = IngestSummary(run_id=ledger.id, source=task.source, format=task.format)
    settings = get_settings()
    items = _read(task, adapter, settings.ingest_set_lane, writer, files, progress)
    for batch in _batches(items, settings.ingest_batch_size):
        result = writer.write(batch)
        _tally(files, result)
        for file, rows in writer.revised:
            files[file].stored -= rows
            files[file].unchanged += rows
        writer.revised.clear()
        _quarantine(session, result.rejections, ledger.id, source.id, cipher)
        if progress:
            progress(len(batch))
    retracted = writer.finish()
    _tally(files, retracted)
    _quarantine(session, retracted.rejections, ledger.id, source.id, cipher)
    repository.resolve_references(session)

    summary.files = list(files.values())
    for name in ("read", "stored", "unchanged", "quarantined"):
        setattr(summary, name, sum(getattr(counts, name) for counts in summary.files))
    summary.seconds = round(time.perf_counter() - started, 3)
    ledger.status = "completed"
    ledger.finished_at = utcnow()
    ledger.seconds = summary.seconds
    ledger.read, ledger.stored = summary.read, summary.stored
    ledger.unchanged, ledger.quarantined = summary.unchanged, summary.quarantined
    session.add_all(
        models.IngestFile(ingest_run_id=ledger.id, **counts.model_dump())
        for counts in summary.files
    )
    record(
        session, action="ingest.run",
        detail={"run": ledger.id, "source": task.source, "format": task.format,
                "read": summary.read, "stored": summary.stored,
                "quarantined": summary.quarantined},
    )  # fmt: skip
    return summary


def _tally(files: dict[str, FileCounts], result: BatchResult) -> None:
    for item, outcome in result.outcomes:
        counts = files.setdefault(item.file, FileCounts(path=item.file))
        counts.read += 1
        setattr(counts, outcome.value, getattr(counts, outcome.value) + 1)


def record_failure(session: Session, task: Export, error: str) -> IngestSummary:
    """Write a failed run to the ledger (after the run's own transaction rolled back)."""
    source = repository.get_or_create_source_system(
        session, task.source, format=task.format, agency_key=task.agency_key
    )
    ledger = models.IngestRun(
        source_system_id=source.id,
        format=task.format,
        status="failed",
        finished_at=utcnow(),
        error=error,
    )
    session.add(ledger)
    session.flush()
    return IngestSummary(
        run_id=ledger.id, source=task.source, format=task.format, status="failed", error=error
    )


def _quarantine(
    session: Session, rejections: list[Rejection], run_id: int, source_id: int, cipher: FieldCipher
) -> None:
    if not rejections:
        return
    rows = [
        {
            "ingest_run_id": run_id,
            "source_system_id": source_id,
            "file": rejection.file,
            "locator": rejection.locator,
            "reason": rejection.reason,
            "raw_encrypted": cipher.encrypt(rejection.raw, context=QUARANTINE_CONTEXT),
            "created_at": utcnow(),
        }
        for rejection in rejections
    ]
    session.execute(insert(models.QuarantinedRow), rows)


def quarantined_text(row: models.QuarantinedRow) -> str:
    """The verbatim text of a quarantined row."""
    return FieldCipher.from_settings().decrypt(row.raw_encrypted, context=QUARANTINE_CONTEXT)


def _read(
    task: Export,
    adapter: Adapter | None,
    set_lane: bool,
    writer: BatchWriter,
    files: dict[str, FileCounts],
    progress: Progress | None,
) -> Iterator[Item]:
    """The task's items for the row path. CAD calls files go through the set-based lane unless
    told otherwise: it writes what it converts itself and yields only the rows it hands back."""
    if adapter is None and set_lane and task.format == CadCsvAdapter.name:
        return cad_lane.read(task.path, task.options, writer, files, progress)
    adapter = adapter or adapter_class(task.format)()
    return adapter.read(task.path, task.options)


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
