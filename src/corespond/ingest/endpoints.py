"""JSON API: ingest runs and their counts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from corespond.access.roles import Role
from corespond.ingest import repository
from corespond.schemas import UtcDatetime
from corespond.web.dependencies import DbSession, csrf_guard, requires

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


@router.get("/ingest/runs", response_model=list[IngestRunRead])
def list_runs(session: DbSession, limit: int = Query(50, ge=1, le=500)) -> list[IngestRunRead]:
    """Recent ingest runs, newest first: read = stored + unchanged + quarantined."""
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
            error=run.error,
        )
        for run, source in repository.list_runs(session, limit=limit)
    ]
