"""Sign-in through an agency's identity provider, against a fake provider served in-process.

The fake answers Authlib's real HTTP calls (discovery, keys, token) at the httpx transport, so
the ID token is validated by Authlib itself: signature, issuer, audience, nonce, expiry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.access import users
from corespond.cli.main import app as cli
from corespond.config import Settings, get_settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.app import create_app
from support.agencies import make_agency
from support.auth import PASSWORD, add

ISSUER = "https://idp.riverbend.example"
CLIENT_ID = "corespond-riverbend"
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})


class FakeProvider:
    """An OpenID provider: discovery, JWKS and a token endpoint that checks code and PKCE."""

    def __init__(self) -> None:
        self.grants: dict[str, dict[str, str]] = {}
        self.claims: dict[str, Any] = {}
        self.key = SIGNING_KEY

    def authorize(self, location: str, *, subject: str) -> dict[str, str]:
        """What the provider does after the person signs in: a code for corespond's callback."""
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        assert location.startswith(f"{ISSUER}/authorize?")
        assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
        code = f"code-{len(self.grants)}"
        self.grants[code] = {**query, "sub": subject}
        return {"code": code, "state": query["state"]}

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx2.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            })  # fmt: skip
        if path == "/jwks":
            return httpx2.Response(200, json=KeySet([SIGNING_KEY]).as_dict(private=False))
        if path == "/token":
            return self._token(request)
        return httpx2.Response(404)

    def _token(self, request: httpx2.Request) -> httpx2.Response:
        form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
        grant = self.grants.pop(form.get("code", ""), None)
        basic = base64.b64encode(f"{CLIENT_ID}:idp-secret".encode()).decode()
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or request.headers.get("authorization") != f"Basic {basic}"
            or challenge.rstrip(b"=").decode() != grant["code_challenge"]
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return httpx2.Response(400, json={"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": ISSUER, "sub": grant["sub"], "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": grant["nonce"], "amr": ["pwd", "mfa"], **self.claims,
        }  # fmt: skip
        id_token = jwt.encode({"alg": "RS256", "kid": "idp-1"}, claims, self.key)
        return httpx2.Response(
            200, json={"access_token": "at", "token_type": "Bearer", "id_token": id_token}
        )


@pytest.fixture
def idp(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    provider = FakeProvider()
    mock = httpx2.MockTransport(provider.handle)

    async def answer(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        assert request.url.host == "idp.riverbend.example", request.url  # nothing else leaves
        return await mock.handle_async_request(request)

    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", answer)
    monkeypatch.setenv(
        "CORESPOND_OIDC_PROVIDERS",
        json.dumps({"riverbend": {
            "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "idp-secret",
            "name": "Riverbend SSO",
        }}),
    )  # fmt: skip
    get_settings.cache_clear()
    make_agency("riverbend", "behavioral_health", name="Riverbend Behavioral Health")
    make_agency("metro-police", "police")
    yield provider
    monkeypatch.delenv("CORESPOND_OIDC_PROVIDERS")
    get_settings.cache_clear()


@pytest.fixture
def client(idp: FakeProvider) -> TestClient:
    return TestClient(create_app())


def linked(username: str, subject: str, *, agency: str = "riverbend") -> int:
    with unit_of_work() as session:
        agency_id = session.scalar(
            select(models.Agency.id).where(models.Agency.source_key == agency)
        )
    user_id = add(username, "clinician", agency_id=agency_id)
    with unit_of_work() as session:
        users.link_oidc(session, username, subject=subject, by="test")
    return user_id


def sign_in_through(
    client: TestClient, idp: FakeProvider, *, subject: str, next: str = "/calls"
) -> Any:
    start = client.get(f"/auth/oidc/riverbend/login?next={next}", follow_redirects=False)
    assert start.status_code == 302, start.text
    answer = idp.authorize(start.headers["location"], subject=subject)
    return client.get("/auth/oidc/riverbend/callback", params=answer)


def sign_in_events() -> list[tuple[str, str | None, dict[str, Any]]]:
    with session_factory()() as session:
        return [
            (event.outcome, event.actor, json.loads(event.detail) if event.detail else {})
            for event in session.scalars(
                select(models.AuditEvent)
                .where(models.AuditEvent.action == "auth.sign_in")
                .order_by(models.AuditEvent.seq)
            )
        ]


def test_a_linked_user_signs_in_with_a_new_session_and_an_audit_event(
    client: TestClient, idp: FakeProvider
) -> None:
    user_id = linked("rosa", "rb-0001")
    assert "Sign in with Riverbend SSO" in client.get("/sign-in").text

    done = sign_in_through(client, idp, subject="rb-0001")

    assert done.status_code == 200 and 'content="0;url=/calls"' in done.text
    first = client.cookies.get("corespond_session")
    assert first and client.get("/calls").status_code == 200
    assert sign_in_events() == [("success", f"user:{user_id}", {"via": "riverbend"})]

    assert sign_in_through(client, idp, subject="rb-0001").status_code == 200
    second = client.cookies.get("corespond_session")
    assert second and second != first
    client.cookies.set("corespond_session", first, domain="testserver.local")
    assert client.get("/calls", follow_redirects=False).status_code == 303  # the old one ended


def test_the_authorization_request_carries_state_nonce_and_pkce(
    client: TestClient, idp: FakeProvider
) -> None:
    start = client.get("/auth/oidc/riverbend/login", follow_redirects=False)
    query = parse_qs(urlsplit(start.headers["location"]).query)

    assert {"state", "nonce", "code_challenge", "redirect_uri"} <= query.keys()
    assert query["scope"] == ["openid"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/auth/oidc/riverbend/callback"]
    cookie = next(c for c in client.cookies.jar if c.name == "corespond_oidc")
    assert cookie.path == "/auth/oidc"


def refused(answer: Any, words: str) -> None:
    assert answer.status_code == 401 and words in answer.text, answer.text
    assert "corespond_session" not in answer.cookies


def test_an_unlinked_subject_is_refused_and_no_user_is_created(
    client: TestClient, idp: FakeProvider
) -> None:
    linked("rosa", "rb-0001")

    refused(sign_in_through(client, idp, subject="rb-9999"), "not linked")
    with session_factory()() as session:
        assert session.scalar(select(models.User.username).where(models.User.id > 1)) is None
    assert sign_in_events()[-1][:2] == ("failure", "anonymous")


def test_a_user_of_another_agency_is_refused_through_this_agencys_provider(
    client: TestClient, idp: FakeProvider
) -> None:
    linked("rosa", "rb-0001")
    with unit_of_work() as session:
        rosa = users.get_user(session, "rosa")
        rosa.agency_id = session.scalar(
            select(models.Agency.id).where(models.Agency.source_key == "metro-police")
        )

    refused(sign_in_through(client, idp, subject="rb-0001"), "not linked")


@pytest.mark.parametrize(
    ("claims", "key"),
    [
        ({"iss": "https://idp.elsewhere.example"}, None),
        ({"aud": "another-client"}, None),
        ({"aud": ["another-client"], "azp": CLIENT_ID}, None),
        ({"nonce": "a-replayed-nonce"}, None),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, None),
        ({}, OTHER_KEY),
    ],
    ids=["other issuer", "wrong audience", "audience not us", "bad nonce", "expired", "forged"],
)
def test_a_token_that_does_not_validate_is_refused(
    client: TestClient, idp: FakeProvider, claims: dict[str, Any], key: RSAKey | None
) -> None:
    linked("rosa", "rb-0001")
    idp.claims, idp.key = claims, key or SIGNING_KEY

    refused(sign_in_through(client, idp, subject="rb-0001"), "could not be verified")
    outcome, actor, detail = sign_in_events()[-1]
    assert (outcome, actor) == ("failure", "anonymous") and "ID token refused" in detail["reason"]


def test_a_token_without_a_second_factor_is_refused_and_counts_as_a_failure(
    client: TestClient, idp: FakeProvider
) -> None:
    user_id = linked("rosa", "rb-0001")
    idp.claims = {"amr": ["pwd"]}

    refused(sign_in_through(client, idp, subject="rb-0001"), "second factor")
    assert sign_in_events()[-1] == (
        "failure", f"user:{user_id}", {"reason": "no second factor", "via": "riverbend"}
    )  # fmt: skip
    idp.claims = {"amr": None}
    refused(sign_in_through(client, idp, subject="rb-0001"), "second factor")


def test_a_locked_user_stays_locked(client: TestClient, idp: FakeProvider) -> None:
    linked("rosa", "rb-0001")
    with unit_of_work() as session:
        users.lock(session, "rosa", by="test")

    refused(sign_in_through(client, idp, subject="rb-0001"), "locked")


def test_a_callback_whose_state_this_browser_did_not_start_is_refused(
    client: TestClient, idp: FakeProvider
) -> None:
    linked("rosa", "rb-0001")
    start = client.get("/auth/oidc/riverbend/login", follow_redirects=False)
    answer = idp.authorize(start.headers["location"], subject="rb-0001")

    forged = client.get("/auth/oidc/riverbend/callback", params={**answer, "state": "forged"})
    another_browser = TestClient(client.app).get("/auth/oidc/riverbend/callback", params=answer)

    refused(forged, "could not be verified")
    refused(another_browser, "could not be verified")
    assert "mismatching_state" in sign_in_events()[-1][2]["reason"]


def test_an_agency_without_a_provider_gets_404(client: TestClient, idp: FakeProvider) -> None:
    assert client.get("/auth/oidc/metro-police/login").status_code == 404
    assert client.get("/auth/oidc/metro-police/callback?code=x&state=y").status_code == 404
    assert client.get("/auth/oidc/nowhere/login").status_code == 404


def test_a_linked_user_cannot_use_a_password_and_the_cli_links_and_unlinks(
    client: TestClient, idp: FakeProvider
) -> None:
    linked("rosa", "rb-0001")

    answer = client.post("/sign-in", data={"username": "rosa", "password": PASSWORD})
    assert answer.status_code == 401 and "identity provider" in answer.text

    runner = CliRunner()
    assert runner.invoke(cli, ["users", "link-oidc", "rosa", "--unlink"]).exit_code == 0
    assert client.post("/sign-in", data={"username": "rosa", "password": PASSWORD}).is_success
    relink = runner.invoke(cli, ["users", "link-oidc", "rosa", "--subject", "rb-0002"])
    assert relink.exit_code == 0, relink.output
    assert sign_in_through(client, idp, subject="rb-0002").status_code == 200
    add("ezra", "officer")  # no agency, so no provider to link to
    assert runner.invoke(cli, ["users", "link-oidc", "ezra", "--subject", "x"]).exit_code == 2


def test_production_refuses_a_provider_over_plain_http_and_a_provider_without_a_secret() -> None:
    keys = {
        name: base64.b64encode(name.encode().ljust(32, b"!")).decode()
        for name in ("field_encryption_key", "blind_index_key", "audit_signing_key")
    }
    plain = {"issuer": "http://idp.riverbend.example", "client_id": CLIENT_ID}

    with pytest.raises(ValueError, match="plain HTTP"):
        Settings(mode="production", oidc_providers={"rb": {**plain, "client_secret": "s"}}, **keys)
    with pytest.raises(ValueError, match="client secret"):
        Settings(oidc_providers={"rb": {**plain, "client_secret": ""}})
    assert Settings(oidc_providers={"rb": {**plain, "client_secret": "s"}})
