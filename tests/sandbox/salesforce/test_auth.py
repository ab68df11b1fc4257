"""Salesforce sandbox OAuth: JWT bearer and refresh-token grants, sessions, expiry, rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.clock import Clock

from sync.sandbox.salesforce.sandbox import SalesforceSandbox, create_app

BASE = "http://127.0.0.1:5999/salesforce"
START = datetime(2026, 11, 27, 10, tzinfo=UTC).timestamp()
TOKEN_URL = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"




def _key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE, PUBLIC = _key()
OTHER_PRIVATE, _ = _key()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def sandbox(clock) -> SalesforceSandbox:
    return SalesforceSandbox(clock=clock, base_url=BASE, access_token_ttl=600,
                             jwt_public_keys={SalesforceSandbox.CLIENT_ID: PUBLIC})


@pytest.fixture
def client(sandbox):
    return create_app(sandbox).test_client()


def assertion(clock: Clock, *, key: str = PRIVATE, iss: str = SalesforceSandbox.CLIENT_ID,
              sub: str = SalesforceSandbox.USERNAME, aud: str = "https://login.salesforce.com",
              lifetime: float = 180, **extra) -> str:
    claims = {"iss": iss, "sub": sub, "aud": aud, "exp": int(clock.now + lifetime), **extra}
    return jwt.encode(claims, key, algorithm="RS256")


def limits(client, token):
    return client.get("/services/data/v60.0/limits", headers={"Authorization": f"Bearer {token}"})


def test_jwt_bearer_grant(client, clock, sandbox):
    response = client.post(TOKEN_URL, data={"grant_type": JWT_GRANT, "assertion": assertion(clock)})
    assert response.status_code == 200
    body = response.get_json()
    assert body["instance_url"] == BASE and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and "expires_in" not in body
    assert body["issued_at"] == str(int(START * 1000))
    expected = hmac.new(sandbox.CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(expected.digest()).decode()
    assert limits(client, body["access_token"]).status_code == 200


@pytest.mark.parametrize("aud", [BASE, "https://test.salesforce.com"])
def test_jwt_audiences_accepted(client, clock, aud):
    response = client.post(TOKEN_URL, data={"grant_type": JWT_GRANT, "assertion": assertion(clock, aud=aud)})
    assert response.status_code == 200


@pytest.mark.parametrize(("claims", "error", "description"), [
    ({"key": OTHER_PRIVATE}, "invalid_grant", "invalid assertion"),
    ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
    ({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
    ({"sub": "intruder@sandbox.example"}, "invalid_grant", "user hasn't approved this consumer"),
    ({"lifetime": -1}, "invalid_grant", "expired authorization code"),
    ({"lifetime": 3600}, "invalid_grant", "exp is too far in the future"),
])
def test_jwt_refusals(client, clock, claims, error, description):
    response = client.post(TOKEN_URL, data={"grant_type": JWT_GRANT, "assertion": assertion(clock, **claims)})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == error and description in body["error_description"]


def test_garbage_assertion_and_unknown_grant(client):
    response = client.post(TOKEN_URL, data={"grant_type": JWT_GRANT, "assertion": "not-a-jwt"})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")
    response = client.post(TOKEN_URL, data={"grant_type": "password", "username": "x", "password": "y"})
    assert (response.status_code, response.get_json()["error"]) == (400, "unsupported_grant_type")


def refresh(client, token: str = SalesforceSandbox.REFRESH_TOKEN, **overrides):
    form = {"grant_type": "refresh_token", "client_id": SalesforceSandbox.CLIENT_ID,
            "client_secret": SalesforceSandbox.CLIENT_SECRET, "refresh_token": token, **overrides}
    return client.post(TOKEN_URL, data=form)


def test_refresh_grant_without_rotation(client):
    first, second = refresh(client), refresh(client)
    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.get_json()
    assert first.get_json()["access_token"] != second.get_json()["access_token"]
    assert limits(client, first.get_json()["access_token"]).status_code == 200


@pytest.mark.parametrize(("overrides", "error"), [
    ({"client_id": "nope"}, "invalid_client_id"),
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"refresh_token": "stolen"}, "invalid_grant"),
])
def test_refresh_refusals(client, overrides, error):
    response = refresh(client, **overrides)
    assert (response.status_code, response.get_json()["error"]) == (400, error)


def test_rotating_refresh_tokens(clock):
    sandbox = SalesforceSandbox(clock=clock, rotate_refresh_tokens=True, base_url=BASE)
    client = create_app(sandbox).test_client()
    first = refresh(client).get_json()
    assert first["refresh_token"] != SalesforceSandbox.REFRESH_TOKEN
    assert refresh(client).get_json()["error"] == "invalid_grant"  # the old one is spent
    second = refresh(client, first["refresh_token"]).get_json()
    assert second["refresh_token"] not in (first["refresh_token"], SalesforceSandbox.REFRESH_TOKEN)
    assert sandbox.refresh_tokens == {second["refresh_token"]}


def test_instance_url_falls_back_to_the_request_root(clock):
    sandbox = SalesforceSandbox(clock=clock)
    body = refresh(create_app(sandbox).test_client()).get_json()
    assert body["instance_url"] == "http://localhost"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer made-up", "Basic dXNlcjpwYXNz"])
def test_invalid_session(client, header, sandbox):
    headers = {"Authorization": header} if header else {}
    response = client.get("/services/data/v60.0/query", query_string={"q": "SELECT Id FROM Lead"}, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                                     "fields": []}]
    assert sandbox.api_calls == 0


def test_sessions_expire_on_the_clock(client, clock, sandbox):
    token = refresh(client).get_json()["access_token"]
    clock.now += 599
    assert limits(client, token).status_code == 200
    clock.now += 1
    assert limits(client, token).status_code == 401


def test_expire_sessions_hook_and_oauth_keyword(client, sandbox):
    token = sandbox.issue_token()
    response = client.get("/services/data/v60.0/limits", headers={"Authorization": f"OAuth {token}"})
    assert response.status_code == 200
    sandbox.expire_sessions()
    assert limits(client, token).status_code == 401


def test_versions_need_no_session_and_bad_versions_are_not_found(client, sandbox):
    versions = client.get("/services/data/").get_json()
    assert {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"} in versions
    token = sandbox.issue_token()
    response = client.get("/services/data/60.0/limits", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.get_json()[0]["errorCode"] == "NOT_FOUND"
    assert limits(client, token).status_code == 200  # any vNN.N works
    response = client.get("/services/data/v31.0/limits", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_faults_on_the_token_endpoint_use_the_oauth_shape(client, sandbox):
    sandbox.faults.fail_paths["/services/oauth2"] = 503
    response = refresh(client)
    assert response.status_code == 503
    assert response.get_json() == {"error": "unknown_error", "error_description": "retry your request"}
