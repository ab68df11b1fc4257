"""HubSpot credentials: private-app token, OAuth refreshed by TTL and persisted, one refresh on a 401."""

from __future__ import annotations

import pytest
import responses
from connectors.hubspot.hubspot_fakes import BASE, PATHS, PRIVATE_TOKEN, MemoryTokens, fixture
from responses import matchers

from sync.errors import AuthError, SettingsError

OAUTH = {"LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID": "5d1f0a42-client", "LIFESYNC_HUBSPOT_CLIENT_SECRET": "app-secret-9f3e",
         "LIFESYNC_HUBSPOT_REFRESH_TOKEN": "setting-refresh-token"}
TOKEN_URL = f"{BASE}/oauth/v1/token"
LIST_URL = f"{BASE}{PATHS.objects('contacts')}"
KEY = ("hubspot", "default")


def token_call(mock, refresh_token: str, *, access: str = "", rotated: str | None = None, status: int = 200):
    answer = {"token_type": "bearer", "access_token": access, "expires_in": 1800}
    if rotated:
        answer["refresh_token"] = rotated
    if status != 200:
        answer = fixture("oauth_bad_refresh_token_400.json")
    form = {"grant_type": "refresh_token", "client_id": "5d1f0a42-client", "client_secret": "app-secret-9f3e",
            "refresh_token": refresh_token}
    mock.add(responses.POST, TOKEN_URL, status=status, json=answer, match=[matchers.urlencoded_params_matcher(form)])


def api_call(mock, access: str, status: int = 200):
    body = fixture("contacts_list_page2.json") if status == 200 else fixture("unauthorized_401.json")
    mock.add(responses.GET, LIST_URL, status=status, json=body,
             match=[matchers.header_matcher({"Authorization": f"Bearer {access}"})])


def pull(connector):
    return list(connector.pull("contacts", {}))


def test_private_app_token_is_sent_as_bearer(make, mock):
    api_call(mock, PRIVATE_TOKEN)
    connector = make()
    assert len(pull(connector)) == 1 and connector.stats.api_calls == 1
    assert PRIVATE_TOKEN not in repr(connector) + repr(connector.auth)


def test_a_rejected_private_token_is_not_retried_and_names_the_setting(make, mock):
    api_call(mock, "pat-eu-token", status=401)
    connector = make({"LIFESYNC_HUBSPOT_TOKEN__EU": "pat-eu-token"}, connection="eu")
    with pytest.raises(AuthError, match="LIFESYNC_HUBSPOT_TOKEN__EU") as raised:
        pull(connector)
    assert "pat-eu-token" not in str(raised.value) and connector.stats.api_calls == 1


def test_oauth_refreshes_by_ttl_persists_and_follows_a_rotated_refresh_token(make, mock, clock):
    tokens = MemoryTokens()
    token_call(mock, "setting-refresh-token", access="access-1", rotated="rotated-refresh-2")
    api_call(mock, "access-1")
    api_call(mock, "access-1")
    token_call(mock, "rotated-refresh-2", access="access-2")
    api_call(mock, "access-2")
    connector = make(OAUTH, tokens=tokens)
    start = clock.now

    pull(connector)
    clock.now += 1800 - 301  # 301 s left: still beyond the 300 s margin, no refresh
    pull(connector)
    clock.now += 2  # 299 s left: refreshed before the request, not after a 401
    pull(connector)

    assert tokens.saves == [
        ("hubspot", "default", {"access_token": "access-1", "expires_at": start + 1800,
                                "refresh_token": "rotated-refresh-2"}),
        ("hubspot", "default", {"access_token": "access-2", "expires_at": clock.now + 1800,
                                "refresh_token": "rotated-refresh-2"}),  # not rotated this time: kept
    ]
    assert connector.stats.api_calls == 5  # token calls count too


def test_a_restart_reuses_the_stored_access_token_and_prefers_the_stored_refresh_token(make, mock, clock):
    tokens = MemoryTokens({KEY: {"access_token": "stored-access", "expires_at": clock.now + 1000,
                                 "refresh_token": "stored-refresh"}})
    api_call(mock, "stored-access")
    connector = make(OAUTH, tokens=tokens)
    pull(connector)
    assert tokens.saves == []  # still valid: no token call at all

    clock.now += 1000
    token_call(mock, "stored-refresh", access="access-3")  # the stored (newest) one, not the setting's
    api_call(mock, "access-3")
    pull(connector)
    assert tokens.data[KEY]["access_token"] == "access-3"


def test_oauth_needs_no_refresh_token_setting_when_one_is_stored(make, mock):
    env = {k: v for k, v in OAUTH.items() if k != "LIFESYNC_HUBSPOT_REFRESH_TOKEN"}
    tokens = MemoryTokens({KEY: {"refresh_token": "stored-refresh"}})
    answer = fixture("oauth_token.json")  # HubSpot's own answer shape
    mock.add(responses.POST, TOKEN_URL, json=answer,
             match=[matchers.urlencoded_params_matcher({"grant_type": "refresh_token", "client_id": "5d1f0a42-client",
                                                         "client_secret": "app-secret-9f3e",
                                                         "refresh_token": "stored-refresh"})])
    api_call(mock, answer["access_token"])
    pull(make(env, tokens=tokens))
    assert tokens.data[KEY]["refresh_token"] == answer["refresh_token"]


def test_a_401_forces_one_refresh_and_one_retry(make, mock, clock):
    tokens = MemoryTokens({KEY: {"access_token": "revoked-access", "expires_at": clock.now + 1500,
                                 "refresh_token": "stored-refresh"}})
    api_call(mock, "revoked-access", status=401)
    token_call(mock, "stored-refresh", access="access-5")
    api_call(mock, "access-5")
    connector = make(OAUTH, tokens=tokens)
    assert len(pull(connector)) == 1
    assert connector.stats.api_calls == 3 and tokens.data[KEY]["access_token"] == "access-5"


def test_a_second_401_after_the_refresh_fails_with_the_setting_to_fix(make, mock, clock):
    tokens = MemoryTokens({KEY: {"access_token": "revoked-access", "expires_at": clock.now + 1500,
                                 "refresh_token": "stored-refresh"}})
    api_call(mock, "revoked-access", status=401)
    token_call(mock, "stored-refresh", access="access-6")  # exactly one refresh (strict mock: a second fails)
    api_call(mock, "access-6", status=401)
    connector = make(OAUTH, tokens=tokens)
    with pytest.raises(AuthError, match="LIFESYNC_HUBSPOT_REFRESH_TOKEN") as raised:
        pull(connector)
    assert "access-6" not in str(raised.value) and connector.stats.api_calls == 3


def test_a_refused_stored_refresh_token_falls_back_to_the_setting_once(make, mock):
    tokens = MemoryTokens({KEY: {"refresh_token": "stale-refresh"}})
    token_call(mock, "stale-refresh", status=400)
    token_call(mock, "setting-refresh-token", access="access-7")
    api_call(mock, "access-7")
    pull(make(OAUTH, tokens=tokens))
    assert tokens.data[KEY]["refresh_token"] == "setting-refresh-token"


def test_refused_refresh_tokens_raise_auth_error_naming_the_setting(make, mock):
    token_call(mock, "setting-refresh-token", status=400)
    connector = make(OAUTH, tokens=MemoryTokens())
    with pytest.raises(AuthError, match="LIFESYNC_HUBSPOT_REFRESH_TOKEN") as raised:
        pull(connector)
    assert "setting-refresh-token" not in str(raised.value) and "app-secret" not in str(raised.value)


@pytest.mark.parametrize(("env", "connection", "named"), [
    ({}, "default", ["LIFESYNC_HUBSPOT_TOKEN", "LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID", "LIFESYNC_HUBSPOT_CLIENT_SECRET",
                     "LIFESYNC_HUBSPOT_REFRESH_TOKEN"]),
    ({"LIFESYNC_HUBSPOT_TOKEN": "pat-default"}, "eu", ["LIFESYNC_HUBSPOT_TOKEN__EU",
                                                       "LIFESYNC_HUBSPOT_REFRESH_TOKEN__EU"]),
    ({"LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID": "5d1f0a42-client"}, "default",
     ["LIFESYNC_HUBSPOT_CLIENT_SECRET", "LIFESYNC_HUBSPOT_REFRESH_TOKEN"]),
])
def test_missing_credentials_name_the_variables_to_set(make, env, connection, named):
    with pytest.raises(SettingsError) as raised:
        make(env, connection=connection)
    assert all(name in str(raised.value) for name in named)


def test_a_named_connection_uses_its_own_token_and_the_default_base_url(make, mock):
    mock.add(responses.GET, f"https://hubspot.proxy.test{PATHS.objects('contacts')}",
             json=fixture("contacts_list_page2.json"),
             match=[matchers.header_matcher({"Authorization": "Bearer pat-eu-token"})])
    env = {"LIFESYNC_HUBSPOT_TOKEN__EU": "pat-eu-token", "LIFESYNC_HUBSPOT_BASE_URL": "https://hubspot.proxy.test"}
    assert len(pull(make(env, connection="eu"))) == 1


@pytest.mark.parametrize(("name", "value"), [("RATE_PER_10S", "0"), ("RATE_PER_10S", "lots"),
                                             ("LOOKBACK_SECONDS", "-1")])
def test_malformed_numbers_are_settings_errors(make, name, value):
    with pytest.raises(SettingsError, match=f"LIFESYNC_HUBSPOT_{name}"):
        make({"LIFESYNC_HUBSPOT_TOKEN": "pat-x", f"LIFESYNC_HUBSPOT_{name}": value})
