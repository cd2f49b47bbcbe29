"""Pages: the sources and their ingest runs, and the quarantine."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from corespond.access.roles import Role
from corespond.ingest import repository, service
from corespond.ingest.masking import mask_identifiers
from corespond.web.dependencies import DbSession, csrf_guard, requires
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[
        Depends(csrf_guard),
        Depends(requires(Role.DATA_STEWARD, Role.AGENCY_ADMIN, Role.AUDITOR)),
    ],
)
PAGE_SIZE = 100


@router.get("/sources")
def sources_page(request: Request, session: DbSession) -> Response:
    return templates.TemplateResponse(
        request,
        "sources.html",
        {
            "sources": repository.list_sources(session),
            "runs": repository.list_runs(session, limit=50),
        },
    )


@router.get("/quarantine")
def quarantine_page(
    request: Request, session: DbSession, run: int | None = None, page: int = 1
) -> Response:
    page = max(page, 1)
    rows = repository.list_quarantine(
        session, run_id=run, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    shown = [
        (row, source, mask_identifiers(row.reason), mask_identifiers(service.quarantined_text(row)))
        for row, source in rows[:PAGE_SIZE]
    ]
    return templates.TemplateResponse(
        request,
        "quarantine.html",
        {"rows": shown, "run": run, "page": page, "more": len(rows) > PAGE_SIZE},
    )
