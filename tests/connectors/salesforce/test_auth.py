"""Salesforce auth: JWT bearer assertion, refresh-token flow with rotation, instance_url, one re-auth on 401."""

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest
import responses
from connectors.salesforce.helpers import (
    DATA,
    INSTANCE,
    STORED_TOKEN,
    TOKEN_URL,
    MemoryTokens,
    load,
    settings,
    stored_session,
    usage,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from responses import matchers

from sync.connectors.salesforce import SalesforceConnector
from sync.connectors.salesforce.auth import JWT_GRANT, SalesforceAuth, audience
from sync.errors import AuthError, SettingsError

CLOCK = 1_795_773_600.0


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return key, pem


def jwt_settings(pem: str, **extra: str):
    return settings(client_secret="", refresh_token="", username="integration@acme.example", private_key=pem,
                    **extra)


def form(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@pytest.mark.parametrize(("login_url", "aud"), [
    (None, "https://login.salesforce.com"),
    ("https://test.salesforce.com", "https://test.salesforce.com"),
    ("https://acme--uat.sandbox.my.salesforce.com/", "https://acme--uat.sandbox.my.salesforce.com"),
])
def test_jwt_assertion_carries_the_claims_and_verifies_with_the_public_key(rsa_key, mock, login_url, aud):
    key, pem = rsa_key
    extra = {"login_url": login_url} if login_url else {}
    tokens = MemoryTokens()
    auth = SalesforceAuth(jwt_settings(pem, **extra), tokens=tokens, clock=lambda: CLOCK)
    mock.add(responses.POST, f"{aud}/services/oauth2/token", json=load("token_jwt.json"))
    token = auth.token()
    body = form(mock.calls[0])
    assert body["grant_type"] == JWT_GRANT
    claims = jwt.decode(body["assertion"], key.public_key(), algorithms=["RS256"], audience=aud,
                        options={"verify_exp": False})
    assert claims == {"iss": "3MVG9client.id", "sub": "integration@acme.example", "aud": aud,
                      "exp": int(CLOCK) + 180}
    assert jwt.get_unverified_header(body["assertion"])["alg"] == "RS256"
    assert token.instance_url == INSTANCE
    saved = tokens.data[("salesforce", "default")]
    assert saved["access_token"] == load("token_jwt.json")["access_token"]
    assert saved["instance_url"] == INSTANCE and saved["issued_at"] == int(CLOCK * 1000)
    assert "refresh_token" not in saved


def test_audience_is_the_login_host():
    assert audience("https://login.salesforce.com/services/oauth2/token") == "https://login.salesforce.com"


def test_private_key_may_be_a_file_path(rsa_key, tmp_path, mock):
    key, pem = rsa_key
    path = tmp_path / "sf.pem"
    path.write_text(pem)
    auth = SalesforceAuth(jwt_settings(str(path)), clock=lambda: CLOCK)
    mock.add(responses.POST, TOKEN_URL, json=load("token_jwt.json"))
    auth.token()
    jwt.decode(form(mock.calls[0])["assertion"], key.public_key(), algorithms=["RS256"],
               audience="https://login.salesforce.com", options={"verify_exp": False})


def test_private_key_path_that_does_not_exist_names_the_setting(tmp_path):
    with pytest.raises(SettingsError, match="LIFESYNC_SALESFORCE_PRIVATE_KEY is neither PEM text nor a readable"):
        SalesforceAuth(jwt_settings(str(tmp_path / "missing.pem")))


@pytest.mark.parametrize("values", [
    {"client_id": ""},
    {"client_secret": "", "refresh_token": ""},
    {"refresh_token": ""},
    {"client_secret": "", "refresh_token": "", "private_key": "-----BEGIN PRIVATE KEY-----x"},  # no username
])
def test_missing_credentials_raise_settings_error_naming_what_to_set(values):
    with pytest.raises(SettingsError) as err:
        SalesforceConnector(settings(**values))
    text = str(err.value)
    for name in ("CLIENT_ID", "USERNAME", "PRIVATE_KEY", "CLIENT_SECRET", "REFRESH_TOKEN"):
        assert f"LIFESYNC_SALESFORCE_{name}" in text


def test_named_connection_settings_carry_the_connection_suffix():
    with pytest.raises(SettingsError, match="LIFESYNC_SALESFORCE_CLIENT_ID__EU"):
        SalesforceConnector(settings(), "eu")


def test_refresh_flow_persists_a_rotated_token_and_prefers_it_next_start(mock):
    tokens = MemoryTokens()
    rotated = {**load("token_refresh.json"), "refresh_token": "5Aep861rotated.refresh.token"}
    mock.add(responses.POST, TOKEN_URL, json=rotated, match=[matchers.urlencoded_params_matcher({
        "grant_type": "refresh_token", "client_id": "3MVG9client.id", "client_secret": "cs-7f3c9a",
        "refresh_token": "5Aep861env.refresh.token"})])
    token = SalesforceAuth(settings(), tokens=tokens).reauthenticate()
    assert token.issued_at == 1795773600000
    assert tokens.data[("salesforce", "default")]["refresh_token"] == "5Aep861rotated.refresh.token"

    # the next process starts from the same environment: the rotated token is the one that works
    mock.add(responses.POST, TOKEN_URL, json=load("token_refresh.json"), match=[matchers.urlencoded_params_matcher(
        {"grant_type": "refresh_token", "client_id": "3MVG9client.id", "client_secret": "cs-7f3c9a",
         "refresh_token": "5Aep861rotated.refresh.token"}, allow_blank=True)])
    SalesforceAuth(settings(), tokens=tokens).reauthenticate()
    # no rotation this time: the rotated token stays the one kept
    assert tokens.data[("salesforce", "default")]["refresh_token"] == "5Aep861rotated.refresh.token"


def test_a_new_refresh_token_in_the_environment_wins_over_the_stored_one(mock):
    tokens = MemoryTokens()
    mock.add(responses.POST, TOKEN_URL, json={**load("token_refresh.json"), "refresh_token": "5Aep861rotated.old"})
    SalesforceAuth(settings(), tokens=tokens).reauthenticate()
    mock.add(responses.POST, TOKEN_URL, json=load("token_refresh.json"))
    SalesforceAuth(settings(refresh_token="5Aep861reauthorised.token"), tokens=tokens).reauthenticate()
    assert form(mock.calls[1])["refresh_token"] == "5Aep861reauthorised.token"
    assert tokens.data[("salesforce", "default")]["refresh_token"] == "5Aep861reauthorised.token"


def test_refused_credentials_raise_auth_error_with_the_reason(mock):
    mock.add(responses.POST, TOKEN_URL, status=400, json=load("token_invalid_grant.json"))
    with pytest.raises(AuthError, match=r"credentials were refused.*LIFESYNC_SALESFORCE_.*invalid_grant"):
        SalesforceAuth(settings()).token()
    assert len(mock.calls) == 1  # a refused grant is not retried


def test_api_calls_use_the_returned_instance_url_and_bearer_token(mock):
    connector = SalesforceConnector(settings(), tokens=MemoryTokens())
    mock.add(responses.POST, TOKEN_URL, json=load("token_refresh.json"))
    mock.add(responses.GET, f"{DATA}/queryAll", json={"totalSize": 7, "done": True, "records": []},
             match=[matchers.header_matcher({"Authorization": f"Bearer {load('token_refresh.json')['access_token']}"})],
             headers=usage(5))
    assert connector.client.count("SELECT COUNT() FROM Lead") == 7
    assert mock.calls[1].request.url.startswith(INSTANCE + "/services/data/v61.0/queryAll?")


def test_a_stored_session_is_reused_without_a_login(mock):
    connector = SalesforceConnector(settings(), tokens=stored_session())
    mock.add(responses.GET, f"{DATA}/queryAll", json={"totalSize": 0, "done": True, "records": []},
             match=[matchers.header_matcher({"Authorization": f"Bearer {STORED_TOKEN}"})])
    assert connector.client.count("SELECT COUNT() FROM Lead") == 0


def test_invalid_session_reauthenticates_once_then_retries_once(mock):
    tokens = stored_session()
    connector = SalesforceConnector(settings(), tokens=tokens)
    fresh = {**load("token_refresh.json"), "instance_url": "https://acme2.my.salesforce.com"}
    mock.add(responses.GET, f"{DATA}/queryAll", status=401, json=load("error_invalid_session.json"))
    mock.add(responses.POST, TOKEN_URL, json=fresh)
    mock.add(responses.GET, "https://acme2.my.salesforce.com/services/data/v61.0/queryAll",
             json={"totalSize": 3, "done": True, "records": []},
             match=[matchers.header_matcher({"Authorization": f"Bearer {fresh['access_token']}"}),
                    matchers.query_param_matcher({"q": "SELECT COUNT() FROM Lead"})])
    assert connector.client.count("SELECT COUNT() FROM Lead") == 3
    assert tokens.data[("salesforce", "default")]["instance_url"] == "https://acme2.my.salesforce.com"


def test_a_second_invalid_session_raises_auth_error(mock, sleeps):
    connector = SalesforceConnector(settings(), tokens=stored_session(), sleep=sleeps.append)
    mock.add(responses.GET, f"{DATA}/queryAll", status=401, json=load("error_invalid_session.json"))
    mock.add(responses.POST, TOKEN_URL, json=load("token_refresh.json"))
    mock.add(responses.GET, f"{DATA}/queryAll", status=401, json=load("error_invalid_session.json"))
    with pytest.raises(AuthError, match="INVALID_SESSION_ID"):
        connector.client.count("SELECT COUNT() FROM Lead")
    assert len(mock.calls) == 3 and sleeps == []
