"""Pages: search, the person, writing and approving cautions and plans, referrals, worklist.

Every page states the purpose of use it runs under (the header's switch); every fact shown went
through ``access`` under that purpose and was audited.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from corespond.access import repository as access_repository
from corespond.access.reads import Reader
from corespond.access.reasons import CATEGORY_WORDS
from corespond.audit.disclosures import accounting
from corespond.db.engine import unit_of_work
from corespond.linkage.model import FIELDS
from corespond.models.base import utcnow
from corespond.people import authoring, profile, referrals, search, worklists
from corespond.people import repository as people_repository
from corespond.people.schemas import MAX_ID, RowId
from corespond.people.web import PART2_NOTICE, acting_user, current_person
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires
from corespond.web.forms import optional_date
from corespond.web.templating import templates

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard), Depends(requires())],
)
PAGE_SIZE = 20
TIMELINE_PAGE = 100
KINDS = (
    "call", "unit_response", "ems_run", "er_visit", "hospital_stay", "arrest", "citation",
    "use_of_force", "involuntary_hold", "shelter_stay", "enrollment", "program_exit", "outreach",
    "service", "treatment", "referral", "note",
)  # fmt: skip
DISCLOSURE_ROLES = frozenset({"clinician", "caseworker", "agency_admin", "auditor"})
"""Roles that answer a person's request for an accounting of disclosures."""
DISCLOSURES_SHOWN = 50


@router.get("/people")
def search_page(
    request: Request,
    principal: SignedIn,
    purpose: ReadingPurpose,
    name: str = "",
    dob: str = "",
    phone: str = "",
    address: str = "",
    record: str = "",
    page: int = 1,
) -> Response:
    form = {"name": name[:200], "dob": dob[:10], "phone": phone[:40], "address": address[:200],
            "record": record[:200]}  # fmt: skip
    errors: list[str] = []
    born = optional_date(dob, "date of birth", errors)
    query = search.Query(form["name"], born, form["phone"], form["address"], form["record"])
    found: search.Results | None = None
    page = max(page, 1)
    if not query.empty and not errors:
        with unit_of_work() as session:
            reader = Reader(session, user_id=principal.user_id, purpose=purpose)
            found = search.search(
                session, reader, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                show_dob=bool(principal.roles & profile.DOB_ROLES),
            )  # fmt: skip
    return templates.TemplateResponse(
        request, "people_search.html",
        {"form": form, "errors": errors, "found": found, "page": page,
         "query": urlencode(form), "active": "people"},
    )  # fmt: skip


@router.get("/people/{person_id}")
def person_page(
    request: Request,
    principal: SignedIn,
    purpose: ReadingPurpose,
    person_id: RowId,
    agency: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    errors: list[str] = []
    flt = _timeline_filter(agency, kind, since, until, errors)
    page = max(page, 1)
    with unit_of_work() as session:
        current = current_person(session, person_id)
        if current != person_id:
            return RedirectResponse(f"/people/{current}", status_code=303)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        seen = profile.view(session, reader, person_id)
        items = [item for item in seen.items if flt.keeps(item)]
        restricted = [entry for entry in seen.restricted if flt.keeps_restricted(entry)]
        consents = reader.consents(person_id)
        disclosures = (
            accounting(session, person_id, limit=DISCLOSURES_SHOWN)
            if principal.roles & DISCLOSURE_ROLES else None
        )  # fmt: skip
        agencies = access_repository.agencies(session)
        programs = people_repository.programs(session)
    shown = items[(page - 1) * TIMELINE_PAGE : page * TIMELINE_PAGE]
    return templates.TemplateResponse(
        request, "person.html",
        {
            "seen": seen, "person_id": person_id, "items": shown, "restricted": restricted,
            "total": len(items),
            "page": page, "pages": max(1, -(-len(items) // TIMELINE_PAGE)),
            "form": {"agency": agency, "kind": kind, "since": since, "until": until},
            "filter_query": urlencode({"agency": agency, "kind": kind, "since": since,
                                       "until": until}),
            "errors": errors, "kinds": KINDS, "timeline_agencies": sorted(
                {item.agency for item in seen.items}),
            "consents": consents, "agency_names": dict(agencies), "agencies": agencies,
            "programs": programs, "disclosures": disclosures, "categories": CATEGORY_WORDS,
            "fields": FIELDS, "record_groups": (groups := profile.record_groups(seen.records)),
            "explanations": {
                entry.record.id: json.loads(entry.link.explanation)
                for entry, _ in groups
                if entry.decision.allowed and entry.link.explanation
            },
            "part2_notice": PART2_NOTICE, "today": utcnow().date(),
            "severities": list(authoring.SEVERITY_RANK), "referral_types": referrals.TYPES,
            "can_write": bool(principal.roles & authoring.AUTHORS) and principal.agency_id,
            "can_refer": bool(principal.roles & referrals.SENDERS) and principal.agency_id,
            "message": request.query_params.get("done"), "active": "people",
        },
    )  # fmt: skip


@router.get("/people/{person_id}/timeline")
def timeline_part(
    request: Request,
    principal: SignedIn,
    purpose: ReadingPurpose,
    person_id: RowId,
    agency: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    """The timeline's results alone (htmx swaps them in when a filter or a page changes): only
    the timeline's decisions are taken, not the whole page's."""
    errors: list[str] = []
    flt = _timeline_filter(agency, kind, since, until, errors)
    page = max(page, 1)
    with unit_of_work() as session:
        current = current_person(session, person_id)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        items, restricted = profile.timeline(session, reader, current, flt)
    query = urlencode({"agency": agency, "kind": kind, "since": since, "until": until})
    response = templates.TemplateResponse(
        request, "_timeline.html",
        {"person_id": current, "items": items[(page - 1) * TIMELINE_PAGE : page * TIMELINE_PAGE],
         "restricted": restricted, "total": len(items), "page": page,
         "pages": max(1, -(-len(items) // TIMELINE_PAGE)), "filter_query": query,
         "errors": errors, "categories": CATEGORY_WORDS},
    )  # fmt: skip
    response.headers["HX-Push-Url"] = f"/people/{current}?{query}&page={page}"
    return response


@router.post("/people/{person_id}/cautions")
def write_caution(
    principal: SignedIn,
    person_id: RowId,
    caution_type: Annotated[str, Form(max_length=100)],
    severity: Annotated[str, Form(max_length=10)],
    description: Annotated[str, Form(max_length=4000)] = "",
    expires_on: Annotated[str, Form(max_length=10)] = "",
    review_on: Annotated[str, Form(max_length=10)] = "",
    supersedes: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    errors: list[str] = []
    draft = authoring.CautionDraft(
        caution_type, severity, description, optional_date(expires_on, "expires", errors),
        optional_date(review_on, "review", errors),
    )  # fmt: skip
    made = _draft(principal.user_id, person_id, draft, supersedes, errors)
    return _back(person_id, f"caution {made} saved as a draft: another user of your agency "
                            "approves it before partners see it", "cautions")  # fmt: skip


@router.post("/people/{person_id}/plans")
def write_plan(
    principal: SignedIn,
    person_id: RowId,
    triggers: Annotated[str, Form(max_length=4000)] = "",
    what_helps: Annotated[str, Form(max_length=4000)] = "",
    de_escalation: Annotated[str, Form(max_length=4000)] = "",
    who_to_call: Annotated[str, Form(max_length=4000)] = "",
    review_on: Annotated[str, Form(max_length=10)] = "",
    expires_on: Annotated[str, Form(max_length=10)] = "",
    supersedes: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    errors: list[str] = []
    draft = authoring.PlanDraft(
        triggers, what_helps, de_escalation, who_to_call,
        optional_date(review_on, "review", errors), optional_date(expires_on, "expires", errors),
    )  # fmt: skip
    made = _draft(principal.user_id, person_id, draft, supersedes, errors)
    return _back(person_id, f"plan {made} saved as a draft for approval", "plan")


@router.post("/people/{person_id}/{kind}/{row_id}/{action}")
def review_authored(
    principal: SignedIn,
    person_id: RowId,
    kind: Literal["cautions", "plans"],
    row_id: RowId,
    action: Literal["approve", "return", "retire"],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    which: authoring.Kind = "caution" if kind == "cautions" else "plan"
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        try:
            authoring.review(session, by=user, kind=which, row_id=row_id, action=action, note=note)
        except authoring.AuthoringError as exc:
            raise HTTPException(409, str(exc)) from None
    past = {"approve": "approved", "return": "returned to its author", "retire": "retired"}
    return _back(person_id, f"{which} {row_id} {past[action]}", "drafts")


@router.post("/people/{person_id}/referrals")
def send_referral(
    principal: SignedIn,
    person_id: RowId,
    referral_type: Annotated[str, Form(max_length=40)],
    to_agency_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    to_program_id: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        current_person(session, person_id)
        try:
            row = referrals.send(
                session, by=user, person_id=person_id, referral_type=referral_type,
                to_agency_id=to_agency_id,
                to_program_id=_form_id(to_program_id),
                reason=reason,
            )  # fmt: skip
        except referrals.ReferralError as exc:
            raise HTTPException(422, str(exc)) from None
        made = row.id
    return _back(person_id, f"referral {made} sent", "referrals")


@router.post("/referrals/{referral_id}/{step}")
def advance_referral(
    principal: SignedIn,
    referral_id: RowId,
    step: Literal["accept", "decline", "enrol", "complete", "withdraw"],
    note: Annotated[str, Form(max_length=4000)] = "",
    back: Annotated[str, Form(max_length=200)] = "/worklist",
) -> Response:
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        try:
            row = referrals.advance(session, by=user, referral_id=referral_id, step=step, note=note)
        except referrals.ReferralError as exc:
            raise HTTPException(409, str(exc)) from None
        status = row.status
    target = back if back.startswith("/") and not back.startswith("//") else "/worklist"
    target = target.split("?")[0].split("#")[0]
    return RedirectResponse(
        f"{target}?done={quote(f'referral {referral_id} {status}')}", status_code=303
    )


@router.get("/worklist")
def worklist_page(request: Request, principal: SignedIn, purpose: ReadingPurpose) -> Response:
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        found = worklists.for_agency(session, reader)
        names = dict(access_repository.agencies(session))
    return templates.TemplateResponse(
        request, "worklist.html",
        {"work": found, "names": names, "today": utcnow().date(), "active": "worklist",
         "message": request.query_params.get("done")},
    )  # fmt: skip


def _draft(
    user_id: int, person_id: int, draft: authoring.CautionDraft | authoring.PlanDraft,
    supersedes: str, errors: list[str],
) -> int:  # fmt: skip
    """Save a caution or plan draft from a form; its id (422 with the reasons if refused)."""
    if errors:
        raise HTTPException(422, "; ".join(errors))
    revises = _form_id(supersedes)
    with unit_of_work() as session:
        user = acting_user(session, user_id)
        current_person(session, person_id)
        try:
            if isinstance(draft, authoring.CautionDraft):
                return authoring.draft_caution(
                    session, by=user, person_id=person_id, draft=draft, supersedes=revises
                ).id
            return authoring.draft_plan(
                session, by=user, person_id=person_id, draft=draft, supersedes=revises
            ).id
        except authoring.AuthoringError as exc:
            raise HTTPException(422, str(exc)) from None


def _form_id(text: str) -> int | None:
    """An optional id from a form field (empty, or not an id the store can hold: none)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None


def _timeline_filter(
    agency: str, kind: str, since: str, until: str, errors: list[str]
) -> profile.TimelineFilter:
    return profile.TimelineFilter(
        agency=agency[:200] or None, kind=kind if kind in KINDS else None,
        since=optional_date(since, "from", errors), until=optional_date(until, "to", errors),
    )  # fmt: skip


def _back(person_id: int, message: str, anchor: str) -> Response:
    return RedirectResponse(f"/people/{person_id}?done={quote(message)}#{anchor}", status_code=303)
