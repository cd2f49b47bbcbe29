"""Page: the searchable list of calls for service."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from corespond.access.reads import Reader
from corespond.calls.repository import CallFilter
from corespond.calls.service import visible_calls
from corespond.db.engine import unit_of_work
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires
from corespond.web.forms import optional_date, optional_int
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard), Depends(requires())],
)
PAGE_SIZE = 50


@router.get("/calls")
def calls_page(
    request: Request,
    principal: SignedIn,
    purpose: ReadingPurpose,
    q: str = "",
    priority: str = "",
    beat: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    """Calls for service the user may see; other agencies' calls are counted as restricted."""
    errors: list[str] = []
    flt = CallFilter(
        text=q[:200] or None,
        priority=optional_int(priority, "priority", errors),
        beat=beat[:40] or None,
        since=optional_date(since, "from", errors),
        until=optional_date(until, "to", errors),
    )
    page = max(page, 1)
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        listing = visible_calls(
            session, reader, flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    return templates.TemplateResponse(
        request,
        "calls.html",
        {
            "rows": listing.rows,
            "total": listing.total,
            "withheld": listing.withheld,
            "page": page,
            "pages": max(1, -(-listing.total // PAGE_SIZE)),
            "form": {"q": q, "priority": priority, "beat": beat, "since": since, "until": until},
            "errors": errors,
        },
    )
