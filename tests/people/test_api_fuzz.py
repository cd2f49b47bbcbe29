"""The people API under fuzzing (schemathesis), as users of three agencies on a linked city.

Schemathesis reads the app's OpenAPI document (``/api/v1/openapi.json``) and, for every people
operation (``/api/v1/people...``, ``/cautions...``, ``/plans...``, ``/referrals...``,
``/worklist``), generates requests and sends them in-process (the ASGI transport, no server)
with a Bearer API token (scopes ``people:read people:write``, so CSRF does not apply), on a
store holding a small synthetic city, imported and linked, with the demo partners' agreements
and a caution, a plan and a referral written through the API. A care-team clinician sends every
phase: the document's examples, its boundaries and invalid values, and random valid and invalid
parameters and bodies; a police officer and a homeless-services caseworker send the random
requests again, since what the boundaries test does not depend on who asks but what a person's
page shows does. Path ids and ids in bodies are drawn half from the generated integers and half
from the city's real persons, cautions, plans, referrals and agencies, so that requests reach
the code behind the 404.

Every response is checked: no server error, a status code the document names, and a content
type, headers and body that match what it says of that status. The run is bounded and
deterministic (``MAX_EXAMPLES`` random requests per operation, mode and user, a fixed seed, no
deadline).

What the fuzzing found (ids past the store's integer were server errors; refusals answered a
422 the document describes otherwise; a body that is not UTF-8 answered an undocumented 400) is
fixed, and each finding is kept in ``FOUND`` as one request that must now answer as documented.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from conftest import empty_store
from corespond import models
from corespond.access import tokens, users
from corespond.cli.main import app as cli
from corespond.db.engine import unit_of_work
from corespond.demo.city import CityParams, build_city
from corespond.web.app import create_app
from support.agencies import agree
from support.auth import PASSWORD, SECRET

CITY = CityParams(people=300, years=1, seed=21)
MAX_EXAMPLES = 15
SEED = 20261129
SCOPES = ["people:read", "people:write"]
USERS = {
    "clinician": ("care_team", "clinician"),
    "officer": ("police", "officer"),
    "caseworker": ("homeless_services", "caseworker"),
}
"""Who sends the requests: username → (agency kind, role)."""
FIRST, *PARTNERS = USERS
"""The clinician runs every phase; the partners run the random requests again."""
PARTNER_KINDS = ("police", "fire", "ems", "care_team", "homeless_services", "behavioral_health")
DISPATCHED_KINDS = ("police", "fire", "ems", "care_team")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
INT32 = 2**31
"""Ids past a signed 32-bit integer (PostgreSQL's ``integer``) are refused by the document's
bounds; the city's ids are drawn inside them."""

APP = create_app()


def _people_api(*phases: str) -> schemathesis.BaseSchema:
    """The document's people operations, generated in ``phases`` (all of them if none)."""
    config: dict[str, Any] = {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
    if phases:
        config["phases"] = {
            phase: {"enabled": phase in phases} for phase in ("examples", "coverage", "fuzzing")
        }
    return schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", APP, config=SchemathesisConfig.from_dict(config)
    ).include(tag="people")


DOCUMENT = _people_api()
"""The people operations as documented: the pinned cases are checked against it."""


@dataclass
class Known:
    """The city's ids and the users' tokens, filled by ``city``."""

    ids: dict[str, list[int]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


KNOWN = Known()
PATH_IDS = {"person_id": "person", "referral_id": "referral"}
ROW_IDS = {"/api/v1/cautions/": "caution", "/api/v1/plans/": "plan"}
BODY_IDS = {"to_agency_id": "agency", "supersedes": None, "to_program_id": None}


def _id(generated: Any, kind: str | None) -> st.SearchStrategy[Any]:
    """The generated id (kept inside 32 bits) or, as often, one of the city's."""
    if not isinstance(generated, int) or isinstance(generated, bool):
        return st.just(generated)
    inside = generated if -INT32 <= generated < INT32 else generated % INT32
    real = KNOWN.ids.get(kind or "") or []
    return st.one_of(st.just(inside), st.sampled_from(real)) if real else st.just(inside)


def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    if not path_parameters:
        return st.just(path_parameters)
    path = context.operation.path if context.operation else ""
    row = next((kind for prefix, kind in ROW_IDS.items() if path.startswith(prefix)), None)
    return st.fixed_dictionaries(
        {
            name: _id(value, row if name == "row_id" else PATH_IDS.get(name))
            if name in PATH_IDS or name == "row_id"
            else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or not BODY_IDS.keys() & body.keys():
        return st.just(body)
    return st.fixed_dictionaries(
        {
            name: _id(value, BODY_IDS[name]) if name in BODY_IDS else st.just(value)
            for name, value in body.items()
        }
    )


def _fuzzed(*phases: str) -> schemathesis.BaseSchema:
    """The people operations, with the city's ids in requests."""
    schema = _people_api(*phases)
    for hook in (flatmap_path_parameters, flatmap_body):
        schema.hook(hook)
    return schema


FUZZED = _fuzzed()
"""Every phase: the document's examples, boundaries and invalid values, random requests."""
FUZZED_AGAIN = _fuzzed("fuzzing")
"""Random requests only: the boundaries do not depend on who asks; what is shown does."""


def _agreements() -> None:
    """The demo city's agreements (as ``access.demo_users`` seeds them in demo mode): dispatch
    shares calls with those it dispatches; the co-response partners share the minimal view."""
    with unit_of_work() as session:
        agencies = list(session.execute(select(models.Agency.id, models.Agency.kind)))
    partners = sorted(agency for agency, kind in agencies if kind in PARTNER_KINDS)
    for centre in (agency for agency, kind in agencies if kind == "dispatch"):
        for other in (agency for agency, kind in agencies if kind in DISPATCHED_KINDS):
            agree(centre, other, "dispatch")
    for index, first in enumerate(partners):
        for second in partners[index + 1 :]:
            agree(first, second)


def _issue_tokens() -> None:
    with unit_of_work() as session:
        for username, (kind, role) in USERS.items():
            agency = session.scalar(
                select(models.Agency.id)
                .where(models.Agency.kind == kind)
                .order_by(models.Agency.id)
            )
            assert agency is not None, f"the city has no {kind} agency"
            made = users.add_user(
                session, username=username, display_name=username.title(), roles=role,
                password=PASSWORD, agency_id=agency, totp_secret=SECRET,
            )  # fmt: skip
            KNOWN.tokens[username] = tokens.issue(
                session, made.user, name="fuzz", scopes=SCOPES, days=1, by="test"
            )
        KNOWN.ids["person"] = list(
            session.scalars(select(models.Person.id).order_by(models.Person.id).limit(50))
        )
        KNOWN.ids["agency"] = list(session.scalars(select(models.Agency.id)))


def _write_rows() -> None:
    """A caution and a plan drafted by the clinician, a referral from the officer to the
    caseworker's agency: rows for the review and referral operations to act on."""
    client = TestClient(APP)
    person = KNOWN.ids["person"][0]

    def post(username: str, path: str, body: dict[str, Any]) -> int:
        answer = client.post(path, json=body, headers=bearer(username))
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    KNOWN.ids["caution"] = [post(
        "clinician", f"/api/v1/people/{person}/cautions",
        {"caution_type": "dog on premises", "severity": "normal"},
    )]  # fmt: skip
    KNOWN.ids["plan"] = [
        post("clinician", f"/api/v1/people/{person}/plans", {"what_helps": "a quiet voice"})
    ]
    with unit_of_work() as session:
        KNOWN.ids["shelter"] = list(session.scalars(
            select(models.Agency.id).where(models.Agency.kind == "homeless_services")
        ))  # fmt: skip
    KNOWN.ids["referral"] = [post(
        "officer", f"/api/v1/people/{person}/referrals",
        {"referral_type": "housing", "to_agency_id": KNOWN.ids["shelter"][0]},
    )]  # fmt: skip


def bearer(username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KNOWN.tokens[username]}"}


@pytest.fixture(scope="module")
def city(migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Known]:
    """The city imported and linked, its agreements, the users' tokens, and written rows.

    Module-scoped (the fuzzer sends hundreds of requests to one store); the store is emptied
    before and after, as the ``store`` fixture leaves it.
    """
    empty_store(migrated_engine)
    out: Path = tmp_path_factory.mktemp("fuzz-city")
    build_city(CITY, out)
    for command in (["ingest", str(out)], ["link", "run"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0, result.output
    _agreements()
    _issue_tokens()
    _write_rows()
    yield KNOWN
    KNOWN.ids.clear()
    KNOWN.tokens.clear()
    empty_store(migrated_engine)


@pytest.fixture(scope="module", params=PARTNERS)
def partner(request: pytest.FixtureRequest, city: Known) -> str:
    return str(request.param)


@FUZZED.parametrize()
def test_people_api_fuzzed(case: schemathesis.Case, city: Known) -> None:
    case.call_and_validate(headers=bearer(FIRST), checks=CHECKS)


@FUZZED_AGAIN.parametrize()
def test_people_api_fuzzed_as_partners(case: schemathesis.Case, partner: str) -> None:
    case.call_and_validate(headers=bearer(partner), checks=CHECKS)


@dataclass(frozen=True)
class Pinned:
    """One request the fuzzing found failing, and what was wrong."""

    name: str
    method: str
    path: str
    reason: str
    path_parameters: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw_body: bytes | None = None
    """Sent as is, as ``application/json``."""


PAST_THE_INTEGER = (
    "an id past the store's integer is a server error, not a 404/409 (SQLite, past 64 bits: "
    "OverflowError: Python int too large to convert to SQLite INTEGER; PostgreSQL, past 32 "
    "bits: DataError: integer out of range)"
)
REFUSAL_AS_422 = (
    "a refusal raised as HTTPException(422, str) answers {'detail': '<words>'}, but the "
    "documented 422 is HTTPValidationError (detail: a list of errors)"
)
BODY_NOT_UTF8 = (
    "a body that is not UTF-8 is a 400 ('There was an error parsing the body'), a status the "
    "document does not name"
)
NOT_UTF8 = b"\xff"
HUGE = 2**63
"""Past both stores' integers: the pinned cases fail the same way on SQLite and PostgreSQL."""
PERSON = "the city's first person"
SHELTER = "the homeless-services agency"
PERSON_PATH = "/api/v1/people/{person_id}"
CAUTION = {"caution_type": "x", "severity": "high"}
PLAN = {"what_helps": "x"}
REFERRAL = {"referral_type": "housing", "to_agency_id": SHELTER}
FOUND = [
    Pinned("person-past-the-integer", "GET", PERSON_PATH, PAST_THE_INTEGER, {"person_id": HUGE}),
    Pinned("timeline-past-the-integer", "GET", f"{PERSON_PATH}/timeline", PAST_THE_INTEGER,
           {"person_id": HUGE}),
    Pinned("caution-for-person-past-the-integer", "POST", f"{PERSON_PATH}/cautions",
           PAST_THE_INTEGER, {"person_id": HUGE}, CAUTION),
    Pinned("caution-superseding-past-the-integer", "POST", f"{PERSON_PATH}/cautions",
           PAST_THE_INTEGER, {"person_id": PERSON}, {**CAUTION, "supersedes": HUGE}),
    Pinned("plan-for-person-past-the-integer", "POST", f"{PERSON_PATH}/plans", PAST_THE_INTEGER,
           {"person_id": HUGE}, PLAN),
    Pinned("plan-superseding-past-the-integer", "POST", f"{PERSON_PATH}/plans",
           PAST_THE_INTEGER, {"person_id": PERSON}, {**PLAN, "supersedes": HUGE}),
    Pinned("referral-for-person-past-the-integer", "POST", f"{PERSON_PATH}/referrals",
           PAST_THE_INTEGER, {"person_id": HUGE}, REFERRAL),
    Pinned("referral-to-agency-past-the-integer", "POST", f"{PERSON_PATH}/referrals",
           PAST_THE_INTEGER, {"person_id": PERSON}, {**REFERRAL, "to_agency_id": HUGE}),
    Pinned("referral-to-program-past-the-integer", "POST", f"{PERSON_PATH}/referrals",
           PAST_THE_INTEGER, {"person_id": PERSON}, {**REFERRAL, "to_program_id": HUGE}),
    Pinned("caution-review-past-the-integer", "POST", "/api/v1/cautions/{row_id}/{action}",
           PAST_THE_INTEGER, {"row_id": HUGE, "action": "approve"}),
    Pinned("plan-review-past-the-integer", "POST", "/api/v1/plans/{row_id}/{action}",
           PAST_THE_INTEGER, {"row_id": HUGE, "action": "retire"}),
    Pinned("referral-step-past-the-integer", "POST", "/api/v1/referrals/{referral_id}/{step}",
           PAST_THE_INTEGER, {"referral_id": HUGE, "step": "accept"}),
    Pinned("search-without-criteria", "GET", "/api/v1/people", REFUSAL_AS_422),
    Pinned("caution-expiring-in-the-past", "POST", f"{PERSON_PATH}/cautions", REFUSAL_AS_422,
           {"person_id": PERSON}, {**CAUTION, "expires_on": "2000-01-01"}),
    Pinned("plan-saying-nothing", "POST", f"{PERSON_PATH}/plans", REFUSAL_AS_422,
           {"person_id": PERSON}, {}),
    Pinned("referral-to-no-agency", "POST", f"{PERSON_PATH}/referrals", REFUSAL_AS_422,
           {"person_id": PERSON}, {**REFERRAL, "to_agency_id": 999_999}),
    Pinned("caution-body-not-utf8", "POST", f"{PERSON_PATH}/cautions", BODY_NOT_UTF8,
           {"person_id": PERSON}, raw_body=NOT_UTF8),
    Pinned("plan-body-not-utf8", "POST", f"{PERSON_PATH}/plans", BODY_NOT_UTF8,
           {"person_id": PERSON}, raw_body=NOT_UTF8),
    Pinned("referral-body-not-utf8", "POST", f"{PERSON_PATH}/referrals", BODY_NOT_UTF8,
           {"person_id": PERSON}, raw_body=NOT_UTF8),
    Pinned("caution-review-body-not-utf8", "POST", "/api/v1/cautions/{row_id}/{action}",
           BODY_NOT_UTF8, {"row_id": 1, "action": "approve"}, raw_body=NOT_UTF8),
    Pinned("plan-review-body-not-utf8", "POST", "/api/v1/plans/{row_id}/{action}",
           BODY_NOT_UTF8, {"row_id": 1, "action": "approve"}, raw_body=NOT_UTF8),
    Pinned("referral-step-body-not-utf8", "POST", "/api/v1/referrals/{referral_id}/{step}",
           BODY_NOT_UTF8, {"referral_id": 1, "step": "accept"}, raw_body=NOT_UTF8),
]  # fmt: skip


@pytest.mark.parametrize("pinned", [pytest.param(pinned, id=pinned.name) for pinned in FOUND])
def test_what_fuzzing_found_now_answers_as_documented(pinned: Pinned, city: Known) -> None:
    """The request answers without a server error, as the document says it answers."""
    real = {PERSON: city.ids["person"][0], SHELTER: city.ids["shelter"][0]}
    parameters = {name: real.get(value, value) for name, value in pinned.path_parameters.items()}
    operation = DOCUMENT[pinned.path][pinned.method]
    if pinned.raw_body is not None:
        case = operation.Case(path_parameters=parameters)
        headers = {**bearer("clinician"), "Content-Type": "application/json"}
        response = case.call(headers=headers, data=pinned.raw_body)
        case.validate_response(response, checks=CHECKS)
        return
    body = (
        {}
        if pinned.body is None
        else {"body": {name: real.get(value, value) for name, value in pinned.body.items()}}
    )
    case = operation.Case(path_parameters=parameters, **body)
    case.call_and_validate(headers=bearer("clinician"), checks=CHECKS)
