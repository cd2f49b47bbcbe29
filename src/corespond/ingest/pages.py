"""Pages: the sources and their ingest runs, and the quarantine.

Quarantined rows and a failed run's error are rows as a source sent them, so each source's are
shown only under a decision on its agency's data (``access.reads``); the rest is the ledger's
counts, which name no one.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from corespond.access.reads import Reader
from corespond.access.roles import Role
from corespond.db.engine import unit_of_work
from corespond.ingest import repository, service
from corespond.ingest.masking import mask_identifiers
from corespond.models import QuarantinedRow
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires
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
def sources_page(request: Request, principal: SignedIn, purpose: ReadingPurpose) -> Response:
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        runs = [
            (run, source, _run_error(reader, run.source_system_id, run.id, run.error))
            for run, source in repository.list_runs(session, limit=50)
        ]
        sources = repository.list_sources(session)
    return templates.TemplateResponse(request, "sources.html", {"sources": sources, "runs": runs})


def _run_error(reader: Reader, source_id: int, run_id: int, error: str | None) -> str | None:
    """A failed run's error may quote a row: shown only if the source's rows may be read."""
    if error is None:
        return None
    decision = reader.source_rows(source_id, {"run_error": run_id})
    return mask_identifiers(error) if decision.allowed else "; ".join(decision.reasons)


@router.get("/quarantine")
def quarantine_page(
    request: Request,
    principal: SignedIn,
    purpose: ReadingPurpose,
    run: int | None = None,
    page: int = 1,
) -> Response:
    page = max(page, 1)
    with unit_of_work() as session:
        rows = repository.list_quarantine(
            session, run_id=run, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        by_source: dict[int, list[int]] = {}
        for row, _ in rows[:PAGE_SIZE]:
            by_source.setdefault(row.source_system_id, []).append(row.id)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        decisions = {
            source_id: reader.source_rows(source_id, {"quarantined_rows": ids})
            for source_id, ids in by_source.items()
        }
        shown: list[tuple[QuarantinedRow, str, str | None, str | None, str | None]] = []
        for row, source in rows[:PAGE_SIZE]:
            decision = decisions[row.source_system_id]
            if decision.allowed:
                reason = mask_identifiers(row.reason)
                raw = mask_identifiers(service.quarantined_text(row))
                shown.append((row, source, reason, raw, None))
            else:
                shown.append((row, source, None, None, "; ".join(decision.reasons)))
    return templates.TemplateResponse(
        request,
        "quarantine.html",
        {"rows": shown, "run": run, "page": page, "more": len(rows) > PAGE_SIZE},
    )
