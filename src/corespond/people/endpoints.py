"""JSON API: people (search, profile, timeline), cautions and plans, referrals, the worklist.

The same access decisions and audit as the pages: each read is decided under the request's
purpose of use (``X-Purpose-Of-Use``, else the session's or the roles' first).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import RedirectResponse

from corespond import models
from corespond.access.reads import Reader
from corespond.db.engine import unit_of_work
from corespond.people import authoring, profile, referrals, search, worklists
from corespond.people.schemas import (
    PROBLEMS,
    CareTeamRead,
    CautionRead,
    CautionWrite,
    IdentityRead,
    LinkedRecordRead,
    NewContactsRead,
    PersonHit,
    PlanRead,
    PlanWrite,
    ProfileRead,
    ReferralRead,
    ReferralWrite,
    RestrictedRead,
    ReviewWrite,
    RowId,
    SearchPage,
    SituationRead,
    StepWrite,
    TimelinePage,
    TouchRead,
    WorkItemRead,
    WorklistRead,
)
from corespond.people.web import PART2_NOTICE, acting_user, current_person
from corespond.web.dependencies import ReadingPurpose, SignedIn, csrf_guard, requires

router = APIRouter(tags=["people"], dependencies=[Depends(csrf_guard)], responses=PROBLEMS)
Reading = Depends(requires(scope="people:read"))
Writing = Depends(requires(scope="people:write"))


@router.get("/people", response_model=SearchPage, dependencies=[Reading])
def search_people(
    principal: SignedIn,
    purpose: ReadingPurpose,
    name: str = Query("", max_length=200, description="Full name, 'Last, First' or a last name."),
    dob: date | None = None,
    phone: str = Query("", max_length=40),
    address: str = Query("", max_length=200, description="The street, from its beginning."),
    record: str = Query("", max_length=200, description="A source's record or call number."),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000),
) -> SearchPage:
    """People matching the search, as far as you may see them; people who match only through
    records you may not see are counted in ``hidden``."""
    query = search.Query(name=name, dob=dob, phone=phone, address=address, record=record)
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        try:
            found = search.search(
                session, reader, query, limit=limit, offset=offset,
                show_dob=bool(principal.roles & profile.DOB_ROLES),
            )  # fmt: skip
        except search.SearchError as exc:
            raise HTTPException(400, str(exc)) from None
    return SearchPage(
        limit=limit, offset=offset, more=found.more, hidden=found.hidden,
        items=[PersonHit(id=hit.person_id, **{
            key: value for key, value in vars(hit).items() if key != "person_id"
        }) for hit in found.hits],
    )  # fmt: skip


@router.get("/people/{person_id}", response_model=ProfileRead, dependencies=[Reading])
def read_person(
    principal: SignedIn, purpose: ReadingPurpose, person_id: RowId
) -> Response | ProfileRead:
    """Everything you may see of a person: identity, cautions (highest severity first),
    response plans, care team, current situation, referrals, linked records with their
    linkage explanation, and what is restricted and why."""
    with unit_of_work() as session:
        current = current_person(session, person_id)
        if current != person_id:
            return RedirectResponse(f"/api/v1/people/{current}", status_code=307)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        seen = profile.view(session, reader, person_id)
        today = date.today()
        return ProfileRead(
            id=person_id,
            purpose=purpose.value,
            identity=IdentityRead(
                name=seen.identity.name,
                names=seen.identity.names,
                aliases=seen.identity.aliases,
                dob=seen.identity.dob if seen.identity.show_dob else None,
                age=seen.identity.age,
                sex=seen.identity.sex,
                description=seen.identity.description,
                restricted=seen.identity.restricted,
            ),
            cautions=[caution_read(entry) for entry in seen.cautions],
            plans=[plan_read(entry) for entry in seen.plans],
            drafts=[
                caution_read(entry) if isinstance(entry.row, models.Caution) else plan_read(entry)
                for entry in seen.drafts
            ],
            care_team=[CareTeamRead(**vars(member)) for member in seen.care_team],
            situation=SituationRead(**vars(seen.situation)),
            referrals=[referral_read(row, sender, to, today) for row, sender, to in seen.referrals],
            records=[_record_read(entry) for entry in seen.records],
            restricted=[_restricted_read(entry) for entry in seen.restricted],
            part2_notice=PART2_NOTICE,
        )


@router.get("/people/{person_id}/timeline", response_model=TimelinePage, dependencies=[Reading])
def read_timeline(
    principal: SignedIn,
    purpose: ReadingPurpose,
    person_id: RowId,
    agency: str | None = Query(None, max_length=200),
    kind: str | None = Query(None, max_length=40),
    since: date | None = None,
    until: date | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> TimelinePage:
    """Every touchpoint across agencies you may see, newest first, filterable by agency, kind
    and date; restricted items grouped by agency and category, with the reasons."""
    with unit_of_work() as session:
        current_person(session, person_id)
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        items, restricted = profile.timeline(
            session, reader, person_id, profile.TimelineFilter(agency, kind, since, until)
        )
    return TimelinePage(
        total=len(items), limit=limit, offset=offset,
        items=[
            TouchRead(kind=item.touch.kind, at=item.touch.at, all_day=item.touch.all_day,
                      agency=item.agency, title=item.touch.title, detail=item.touch.detail,
                      ref=item.touch.ref)
            for item in items[offset : offset + limit]
        ],
        restricted=[_restricted_read(entry) for entry in restricted],
    )  # fmt: skip


@router.post(
    "/people/{person_id}/cautions", response_model=CautionRead, status_code=201,
    dependencies=[Writing],
)  # fmt: skip
def write_caution(principal: SignedIn, person_id: RowId, body: CautionWrite) -> CautionRead:
    """A caution as a draft of your agency; another user of your agency approves it before
    partners see it. ``supersedes`` names the approved caution this revises."""
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        current_person(session, person_id)
        try:
            row = authoring.draft_caution(
                session, by=user, person_id=person_id, supersedes=body.supersedes,
                draft=authoring.CautionDraft(
                    body.caution_type, body.severity, body.description, body.expires_on,
                    body.review_on,
                ),
            )  # fmt: skip
        except authoring.AuthoringError as exc:
            raise HTTPException(400, str(exc)) from None
        return caution_read(
            profile.Authored(row, _agency_name(session, row.agency_id), user.display_name, "")
        )


@router.post(
    "/people/{person_id}/plans", response_model=PlanRead, status_code=201,
    dependencies=[Writing],
)  # fmt: skip
def write_plan(principal: SignedIn, person_id: RowId, body: PlanWrite) -> PlanRead:
    """A response plan as a draft of your agency (approved by another user of it)."""
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        current_person(session, person_id)
        try:
            row = authoring.draft_plan(
                session, by=user, person_id=person_id, supersedes=body.supersedes,
                draft=authoring.PlanDraft(
                    body.triggers, body.what_helps, body.de_escalation, body.who_to_call,
                    body.review_on, body.expires_on,
                ),
            )  # fmt: skip
        except authoring.AuthoringError as exc:
            raise HTTPException(400, str(exc)) from None
        return plan_read(
            profile.Authored(row, _agency_name(session, row.agency_id), user.display_name, "")
        )


@router.post("/cautions/{row_id}/{action}", status_code=204, dependencies=[Writing])
def review_caution(
    principal: SignedIn,
    row_id: RowId,
    action: Literal["approve", "return", "retire"],
    body: ReviewWrite | None = None,
) -> Response:
    """Approve a caution someone else in your agency drafted, return it with a note, or retire
    it."""
    return _review(principal.user_id, "caution", row_id, action, body)


@router.post("/plans/{row_id}/{action}", status_code=204, dependencies=[Writing])
def review_plan(
    principal: SignedIn,
    row_id: RowId,
    action: Literal["approve", "return", "retire"],
    body: ReviewWrite | None = None,
) -> Response:
    """Approve a response plan someone else in your agency drafted, return it, or retire it."""
    return _review(principal.user_id, "plan", row_id, action, body)


def _review(
    user_id: int, kind: authoring.Kind, row_id: int, action: str, body: ReviewWrite | None
) -> Response:
    with unit_of_work() as session:
        user = acting_user(session, user_id)
        try:
            authoring.review(
                session, by=user, kind=kind, row_id=row_id, action=action,
                note=body.note if body else "",
            )  # fmt: skip
        except authoring.AuthoringError as exc:
            raise HTTPException(409, str(exc)) from None
    return Response(status_code=204)


@router.post(
    "/people/{person_id}/referrals", response_model=ReferralRead, status_code=201,
    dependencies=[Writing],
)  # fmt: skip
def send_referral(principal: SignedIn, person_id: RowId, body: ReferralWrite) -> ReferralRead:
    """Refer the person to another agency (and one of its programs). Sending discloses the
    referral to that agency, and is recorded as such."""
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        current_person(session, person_id)
        try:
            row = referrals.send(
                session, by=user, person_id=person_id, referral_type=body.referral_type,
                to_agency_id=body.to_agency_id, to_program_id=body.to_program_id,
                reason=body.reason,
            )  # fmt: skip
        except referrals.ReferralError as exc:
            raise HTTPException(400, str(exc)) from None
        return referral_read(
            row,
            _agency_name(session, row.from_agency_id),
            _agency_name(session, row.to_agency_id),
            date.today(),
        )


@router.post("/referrals/{referral_id}/{step}", response_model=ReferralRead, dependencies=[Writing])
def advance_referral(
    principal: SignedIn,
    referral_id: RowId,
    step: Literal["accept", "decline", "enrol", "complete", "withdraw"],
    body: StepWrite | None = None,
) -> ReferralRead:
    """The receiving agency accepts, declines (with a reason), enrols and completes; the
    sending agency withdraws."""
    with unit_of_work() as session:
        user = acting_user(session, principal.user_id)
        try:
            row = referrals.advance(
                session, by=user, referral_id=referral_id, step=step,
                note=body.note if body else "", on=body.on if body else None,
            )  # fmt: skip
        except referrals.ReferralError as exc:
            raise HTTPException(409, str(exc)) from None
        return referral_read(
            row,
            _agency_name(session, row.from_agency_id),
            _agency_name(session, row.to_agency_id),
            date.today(),
        )


@router.get("/referrals", response_model=list[ReferralRead], dependencies=[Reading])
def agency_referrals(
    principal: SignedIn,
    direction: Literal["incoming", "outgoing"] = "incoming",
    open_only: bool = True,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[ReferralRead]:
    """Your agency's referrals, oldest due first."""
    if principal.agency_id is None:
        return []
    with unit_of_work() as session:
        rows = referrals.of_agency(
            session, principal.agency_id, incoming=direction == "incoming", open_only=open_only
        )
        today = date.today()
        return [
            referral_read(row, _agency_name(session, row.from_agency_id),
                          _agency_name(session, row.to_agency_id), today)
            for row in rows[offset : offset + limit]
        ]  # fmt: skip


@router.get("/worklist", response_model=WorklistRead, dependencies=[Reading])
def worklist(principal: SignedIn, purpose: ReadingPurpose) -> WorklistRead:
    """Your agency's worklist: new contacts since your last visit, referrals, expiring consents,
    plans and cautions due for review, drafts to approve."""
    with unit_of_work() as session:
        reader = Reader(session, user_id=principal.user_id, purpose=purpose)
        found = worklists.for_agency(session, reader)
        today = date.today()
        return WorklistRead(
            agency=found.agency,
            new_contacts=[NewContactsRead(**vars(entry)) for entry in found.new_contacts],
            incoming_referrals=[
                referral_read(row, _agency_name(session, row.from_agency_id), found.agency, today)
                for row, _, _ in found.incoming
            ],
            overdue_outgoing_referrals=[
                referral_read(row, found.agency, _agency_name(session, row.to_agency_id), today)
                for row, _ in found.outgoing_overdue
            ],
            expiring_consents=[
                WorkItemRead(kind="consent", id=row.id, person_id=person, status=row.status,
                             due_on=row.period_end)
                for row, person in found.expiring_consents
            ],
            due_for_review=[_work_item(row, person) for row, person in found.due_for_review],
            drafts=[_work_item(row, person) for row, person in found.drafts],
        )  # fmt: skip


def _work_item(row: models.Caution | models.ResponsePlan, person: int | None) -> WorkItemRead:
    kind = "caution" if isinstance(row, models.Caution) else "plan"
    return WorkItemRead(
        kind=kind, id=row.id, person_id=person, status=row.status, due_on=row.review_on
    )


def _agency_name(session: object, agency_id: int | None) -> str:
    agency = session.get(models.Agency, agency_id) if agency_id else None  # type: ignore[attr-defined]
    return agency.name if agency else "—"


def caution_read(entry: profile.Authored) -> CautionRead:
    row = entry.row
    assert isinstance(row, models.Caution)
    return CautionRead(
        id=row.id, caution_type=row.caution_type, severity=row.severity,
        description=row.description, agency=entry.agency, status=row.status,
        version=row.version, author=entry.author, approver=entry.approver,
        approved_at=row.approved_at, expires_at=row.valid_to, review_on=row.review_on,
        review_note=row.review_note,
    )  # fmt: skip


def plan_read(entry: profile.Authored) -> PlanRead:
    row = entry.row
    assert isinstance(row, models.ResponsePlan)
    return PlanRead(
        id=row.id, agency=entry.agency, status=row.status, version=row.version,
        triggers=row.triggers, what_helps=row.what_helps, de_escalation=row.de_escalation,
        who_to_call=row.who_to_call, author=entry.author, approver=entry.approver,
        approved_at=row.approved_at, review_on=row.review_on, expires_on=row.expires_on,
        review_note=row.review_note,
    )  # fmt: skip


def referral_read(row: models.Referral, sender: str, to: str, today: date) -> ReferralRead:
    return ReferralRead(
        id=row.id, referral_type=row.referral_type, status=row.status,
        referred_on=row.referred_on, from_agency=sender, to=to, reason=row.reason,
        due_on=row.due_on, overdue=profile.overdue(row, today),
        decline_reason=row.decline_reason, enrolled_on=row.enrolled_on,
        completed_on=row.completed_on,
    )  # fmt: skip


def _record_read(entry: profile.LinkedRecord) -> LinkedRecordRead:
    allowed = entry.decision.allowed
    record = entry.record
    return LinkedRecordRead(
        record_id=record.id, source=entry.source, agency=entry.agency, method=entry.link.method,
        match_probability=entry.link.match_probability,
        restricted=[] if allowed else list(entry.decision.reasons),
        name=" ".join(p for p in (record.first_name, record.last_name) if p) or None
        if allowed else None,
        dob=record.dob if allowed else None,
        explanation=json.loads(entry.link.explanation) if allowed and entry.link.explanation
        else None,
    )  # fmt: skip


def _restricted_read(entry: profile.Restricted) -> RestrictedRead:
    return RestrictedRead(
        agency=entry.agency, category=entry.category, count=entry.count, first=entry.first,
        last=entry.last, reasons=list(entry.reasons),
    )  # fmt: skip
