"""HMIS delta refreshes: records that refer to earlier exports, and records deleted in source.

A delta export (``ExportDirective`` 1) holds only what changed since the last export. Its exits
and services name enrollments and clients that only an earlier export held, and a row with
``DateDeleted`` retracts a record sent before.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from tests.sources.test_hmis import TZ, synthetic_records

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.exports import hmis_csv
from corespond.ingest import service
from corespond.ingest.schemas import IngestSummary
from corespond.sources.plan import plan_exports
from corespond.sources.records import EnrollmentExitIn, PersonRecordIn, Record, ServiceIn

SOURCE = "Riverbend HMIS"


def ingest(folder: Path) -> IngestSummary:
    [task] = plan_exports([folder], format="hmis-csv", source=SOURCE, default_timezone=str(TZ))
    with unit_of_work() as session:
        return service.run(session, task)


def delta(folder: Path, records: list[Record], deleted: dict[str, set[str]]) -> Path:
    """An export of ``records`` marked as a delta refresh; ``deleted``: file → ids to mark."""
    hmis_csv.write(records, folder, timezone=TZ, export_id="delta-1")
    for name, ids in deleted.items():
        path = folder / name
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header = rows[0]
        for row in rows[1:]:
            if row[0] in ids:
                row[header.index("DateDeleted")] = "2025-08-01 09:00:00"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    export = folder / "Export.csv"
    text = export.read_text(encoding="utf-8")
    with export.open(encoding="utf-8", newline="") as handle:
        header, values = list(csv.reader(handle))
    values[header.index("ExportDirective")] = "1"
    with export.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, values])
    assert text != export.read_text(encoding="utf-8")
    return folder


def stored_keys(model: type[models.Base]) -> set[str]:
    with session_factory()() as session:
        return set(session.scalars(select(model.source_key)))  # type: ignore[attr-defined]


def imported_full_export(tmp_path: Path) -> list[Record]:
    """The synthetic export, imported whole; its records."""
    records = synthetic_records()
    hmis_csv.write(records, tmp_path / "full", timezone=TZ)
    ingest(tmp_path / "full")
    return records


def by_key(records: list[Record], key: str) -> Record:
    return next(record for record in records if record.source_key == key)


def test_a_delta_refers_to_earlier_exports_and_retracts_what_source_deleted(
    store: Engine, tmp_path: Path
) -> None:
    records = imported_full_export(tmp_path)
    new_exit = EnrollmentExitIn(
        source_key="X-2",
        enrollment_key="E-2",  # sent by the full export only
        person_key="C-2",
        exit_date=date(2025, 8, 1),
        destination=410,
    )
    new_service = by_key(records, "S-2").model_copy(update={"source_key": "S-3"})
    unreferenced_client = by_key(records, "C-3")
    deleted_service = by_key(records, "S-2")
    folder = delta(
        tmp_path / "delta",
        [unreferenced_client, new_exit, deleted_service, new_service],
        {"Client.csv": {"C-3"}, "Services.csv": {"S-2"}},
    )

    summary = ingest(folder)

    # Export row, exit, new service: read; a retracted service and client: stored (removed).
    assert (summary.read, summary.quarantined) == (5, 0)
    assert summary.stored == 4
    assert "X-2" in stored_keys(models.EnrollmentExit)
    assert stored_keys(models.Service) == {"S-1", "S-3", "CLS/1"}
    assert stored_keys(models.PersonRecord) == {"C-1", "C-2"}
    with session_factory()() as session:
        exit_row = session.scalars(
            select(models.EnrollmentExit).where(models.EnrollmentExit.source_key == "X-2")
        ).one()
        enrollment = session.get(models.Enrollment, exit_row.enrollment_id)
    assert enrollment is not None and enrollment.source_key == "E-2"

    again = ingest(folder)
    assert (again.stored, again.quarantined) == (0, 0)  # retracting twice changes nothing


def test_a_client_still_named_by_facts_is_kept_and_the_deletion_quarantined(
    store: Engine, tmp_path: Path
) -> None:
    records = imported_full_export(tmp_path)
    client = by_key(records, "C-1")
    assert isinstance(client, PersonRecordIn)
    folder = delta(tmp_path / "delta", [client], {"Client.csv": {"C-1"}})

    summary = ingest(folder)

    assert (summary.read, summary.stored, summary.quarantined) == (2, 0, 1)
    assert "C-1" in stored_keys(models.PersonRecord)
    with session_factory()() as session:
        row = session.scalars(select(models.QuarantinedRow)).one()
        text = service.quarantined_text(row)
    assert row.reason.startswith("deleted in source (2025-08-01), but the store still holds")
    assert text.startswith("C-1,")


def test_a_full_export_still_rejects_references_it_does_not_hold(
    store: Engine, tmp_path: Path
) -> None:
    records = imported_full_export(tmp_path)
    orphan = by_key(records, "S-2").model_copy(update={"source_key": "S-9"})
    assert isinstance(orphan, ServiceIn)
    hmis_csv.write([orphan], tmp_path / "partial", timezone=TZ)

    summary = ingest(tmp_path / "partial")

    assert summary.quarantined == 1
    with session_factory()() as session:
        reason = session.scalars(select(models.QuarantinedRow.reason)).one()
    assert "refers to a record that is not in Client.csv" in reason
