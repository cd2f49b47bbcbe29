"""JSON API: ingest runs and their counts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from corespond.access.reads import Reader
from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.ingest import repository
from corespond.ingest.masking import mask_identifiers
from corespond.schemas import UtcDatetime
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires

router = APIRouter(
    tags=["ingest"],
    dependencies=[
        Depends(csrf_guard),
        Depends(requires(Role.DATA_STEWARD, Role.AGENCY_ADMIN, Role.AUDITOR, scope="ingest:read")),
    ],
)


class IngestRunRead(BaseModel):
    id: int
    source: str
    format: str
    status: str
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    read: int
    stored: int
    unchanged: int
    quarantined: int
    seconds: float | None
    error: str | None
    """Why a failed run failed; None, with ``error_restricted`` saying why, if the error may
    quote rows of a source whose data the user may not read."""
    error_restricted: str | None = None


@router.get("/ingest/runs", response_model=list[IngestRunRead])
def list_runs(
    principal: SignedIn, purpose: ReadingPurpose, limit: int = Query(50, ge=1, le=500)
) -> list[IngestRunRead]:
    """Recent ingest runs, newest first: read = stored + unchanged + quarantined."""
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        runs = repository.list_runs(session, limit=limit)
        errors = {
            run.id: reader.source_rows(run.source_system_id, {"run_error": run.id})
            for run, _ in runs
            if run.error
        }
    return [
        IngestRunRead(
            id=run.id,
            source=source,
            format=run.format,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            read=run.read,
            stored=run.stored,
            unchanged=run.unchanged,
            quarantined=run.quarantined,
            seconds=run.seconds,
            error=mask_identifiers(run.error) if run.error and errors[run.id].allowed else None,
            error_restricted="; ".join(errors[run.id].reasons)
            if run.error and not errors[run.id].allowed
            else None,
        )
        for run, source in runs
    ]
