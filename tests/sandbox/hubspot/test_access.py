"""HubSpot sandbox: bearer auth, OAuth refresh (and rotation), rate limits and their headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from support.clock import Clock

from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()
LIST = "/crm/v3/objects/contacts"




def make(**kwargs):
    clock = Clock(START)
    sandbox = HubSpotSandbox(clock=clock, **kwargs)
    return sandbox, create_app(sandbox).test_client(), clock


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, refresh_token: str = HubSpotSandbox.REFRESH_TOKEN, **overrides):
    form = {"grant_type": "refresh_token", "client_id": HubSpotSandbox.CLIENT_ID,
            "client_secret": HubSpotSandbox.CLIENT_SECRET, "refresh_token": refresh_token, **overrides}
    return client.post("/oauth/v1/token", data=form)


@pytest.mark.parametrize("headers", [{}, bearer("pat-wrong"), {"Authorization": HubSpotSandbox.TOKEN},
                                     {"Authorization": f"Basic {HubSpotSandbox.TOKEN}"}])
def test_missing_or_wrong_credentials_get_hubspots_401(headers):
    _, client, _ = make()
    response = client.get(LIST, headers=headers)
    assert response.status_code == 401
    body = response.json
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found")
    uuid.UUID(body["correlationId"])
    assert "X-HubSpot-RateLimit-Remaining" not in response.headers


def test_the_private_app_token_is_accepted():
    _, client, _ = make()
    assert client.get(LIST, headers=bearer(HubSpotSandbox.TOKEN)).status_code == 200


def test_refresh_issues_an_access_token_that_works_until_its_ttl():
    _, client, clock = make(access_token_ttl=1800)
    response = refresh(client)
    assert response.status_code == 200
    token = response.json
    assert token["token_type"] == "bearer" and token["expires_in"] == 1800
    assert token["refresh_token"] == HubSpotSandbox.REFRESH_TOKEN  # no rotation by default
    assert client.get(LIST, headers=bearer(token["access_token"])).status_code == 200
    clock.advance(1799)
    assert client.get(LIST, headers=bearer(token["access_token"])).status_code == 200
    clock.advance(6)
    expired = client.get(LIST, headers=bearer(token["access_token"]))
    assert expired.status_code == 401
    assert expired.json["category"] == "EXPIRED_AUTHENTICATION"
    assert expired.json["message"] == "The OAuth token used to make this call expired 5 second(s) ago."
    assert expired.json["context"] == {"expire time": ["2026-11-27T10:30:00.000Z"]}


def test_each_refresh_gives_a_new_access_token_and_old_ones_stay_valid_until_expiry():
    _, client, _ = make()
    first, second = refresh(client).json, refresh(client).json
    assert first["access_token"] != second["access_token"]
    assert client.get(LIST, headers=bearer(first["access_token"])).status_code == 200


@pytest.mark.parametrize(("override", "status", "error"), [
    ({"client_id": "other"}, "BAD_CLIENT_ID", "invalid_client"),
    ({"client_secret": "other"}, "BAD_CLIENT_SECRET", "invalid_client"),
    ({"refresh_token": "stale"}, "BAD_REFRESH_TOKEN", "invalid_grant"),
    ({"grant_type": "authorization_code"}, "BAD_GRANT_TYPE", "unsupported_grant_type"),
])
def test_refresh_failures_answer_hubspots_400(override, status, error):
    _, client, _ = make()
    response = refresh(client, **override)
    assert response.status_code == 400
    assert response.json["status"] == status
    assert response.json["error"] == error
    assert response.json["message"]


def test_rotation_retires_the_old_refresh_token_once_a_new_one_is_issued():
    _, client, _ = make(rotate_refresh_tokens=True)
    first = refresh(client).json
    assert first["refresh_token"] != HubSpotSandbox.REFRESH_TOKEN
    assert refresh(client).json["status"] == "BAD_REFRESH_TOKEN"  # the seeded one is spent
    second = refresh(client, first["refresh_token"]).json
    assert second["refresh_token"] not in (first["refresh_token"], HubSpotSandbox.REFRESH_TOKEN)
    assert refresh(client, first["refresh_token"]).status_code == 400
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_without_rotation_the_refresh_token_can_be_used_again():
    _, client, _ = make()
    assert refresh(client).status_code == refresh(client).status_code == 200


def test_every_answer_carries_the_rate_limit_headers_counting_down():
    _, client, _ = make(rate_per_10s=5, daily_limit=100)
    first = client.get(LIST, headers=bearer(HubSpotSandbox.TOKEN)).headers
    second = client.get("/crm/v3/objects/contacts/999", headers=bearer(HubSpotSandbox.TOKEN)).headers
    assert first["X-HubSpot-RateLimit-Max"] == "5"
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert (first["X-HubSpot-RateLimit-Remaining"], second["X-HubSpot-RateLimit-Remaining"]) == ("4", "3")
    assert first["X-HubSpot-RateLimit-Daily"] == "100"
    assert (first["X-HubSpot-RateLimit-Daily-Remaining"], second["X-HubSpot-RateLimit-Daily-Remaining"]) == ("99", "98")


def test_the_ten_second_window_refuses_with_429_then_rolls():
    sandbox, client, clock = make(rate_per_10s=3)
    for _ in range(3):
        assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 200
        clock.advance(1)
    refused = client.get(LIST, headers=bearer(sandbox.TOKEN))
    assert refused.status_code == 429
    assert refused.json["errorType"] == "RATE_LIMIT"
    assert refused.json["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.json["message"] == "You have reached your ten_secondly_rolling limit."
    assert "Retry-After" not in refused.headers  # HubSpot usually leaves it out
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    clock.advance(7.5)  # the first request (t=0) has left the window: one slot free
    assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 200
    assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 429


def test_refused_requests_do_not_count_against_the_window():
    sandbox, client, clock = make(rate_per_10s=2)
    client.get(LIST, headers=bearer(sandbox.TOKEN))
    client.get(LIST, headers=bearer(sandbox.TOKEN))
    for _ in range(5):
        assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 429
    clock.advance(10)
    assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 200


def test_the_daily_limit_refuses_until_midnight_utc():
    sandbox, client, clock = make(rate_per_10s=None, daily_limit=2)
    assert "X-HubSpot-RateLimit-Max" not in client.get(LIST, headers=bearer(sandbox.TOKEN)).headers
    client.get(LIST, headers=bearer(sandbox.TOKEN))
    refused = client.get(LIST, headers=bearer(sandbox.TOKEN))
    assert refused.status_code == 429 and refused.json["policyName"] == "DAILY"
    assert refused.json["message"] == "You have reached your daily limit."
    clock.advance(14 * 3600)  # 10:00 -> 00:00 the next day
    allowed = client.get(LIST, headers=bearer(sandbox.TOKEN))
    assert allowed.status_code == 200
    assert allowed.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"


def test_limits_count_per_app_and_a_refresh_does_not_reset_them():
    sandbox, client, _ = make(rate_per_10s=2)
    first = refresh(client).json["access_token"]
    client.get(LIST, headers=bearer(first))
    client.get(LIST, headers=bearer(first))
    second = refresh(client).json["access_token"]  # the token endpoint itself is not rate-limited
    assert client.get(LIST, headers=bearer(second)).status_code == 429
    assert client.get(LIST, headers=bearer(sandbox.TOKEN)).status_code == 200  # the private app has its own


def test_limits_off_means_no_429_and_no_headers():
    sandbox, client, _ = make(rate_per_10s=None, daily_limit=None)
    for _ in range(300):
        response = client.get(LIST, headers=bearer(sandbox.TOKEN))
        assert response.status_code == 200
    assert not [name for name, _ in response.headers if name.startswith("X-HubSpot-RateLimit")]


SEARCH_BODY = {"filterGroups": [], "limit": 1}


@pytest.mark.parametrize("path", ["/crm/objects/2026-09/contacts/search", "/crm/v3/objects/contacts/search"])
def test_a_fifth_search_within_one_second_gets_hubspots_secondly_429(path):
    sandbox, client, clock = make(rate_per_10s=10)
    answers = [client.post(path, json=SEARCH_BODY, headers=bearer(HubSpotSandbox.TOKEN)) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    refused = answers[-1]
    assert {k: v for k, v in refused.json.items() if k != "correlationId"} == {
        "status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
        "policyName": "SECONDLY"}
    assert "X-HubSpot-RateLimit-Remaining" not in refused.headers and sandbox.access.search_refused == 1
    # the refused search was not counted in the ten-second window, and other calls are not search-limited
    assert client.get(LIST, headers=bearer(HubSpotSandbox.TOKEN)).headers["X-HubSpot-RateLimit-Remaining"] == "5"
    clock.advance(1.0)  # a rolling second later the first four have left the window
    assert client.post(path, json=SEARCH_BODY, headers=bearer(HubSpotSandbox.TOKEN)).status_code == 200


def test_the_search_limit_counts_per_token_and_can_be_switched_off():
    _, client, _ = make()
    access_token = refresh(client).json["access_token"]
    path = "/crm/objects/2026-09/contacts/search"
    for token in (HubSpotSandbox.TOKEN, access_token):  # four each: two tokens, two budgets
        assert all(client.post(path, json=SEARCH_BODY, headers=bearer(token)).status_code == 200 for _ in range(4))
    assert client.post(path, json=SEARCH_BODY, headers=bearer(access_token)).status_code == 429
    _, unlimited, _ = make(search_per_second=None)
    assert all(unlimited.post(path, json=SEARCH_BODY, headers=bearer(HubSpotSandbox.TOKEN)).status_code == 200
               for _ in range(20))


@pytest.mark.parametrize("path", ["/crm/objects/2026-03/contacts", "/crm/objects/2026-09/contacts",
                                  "/crm/properties/2026-09/contacts/lifecyclestage", LIST])
def test_the_dated_versions_that_exist_and_the_legacy_paths_are_served(path):
    _, client, _ = make()
    assert client.get(path, headers=bearer(HubSpotSandbox.TOKEN)).status_code == 200


@pytest.mark.parametrize("path", ["/crm/objects/2025-09/contacts", "/crm/objects/2027-03/contacts",
                                  "/crm/properties/v3/contacts/lifecyclestage", "/crm/objects/latest/contacts"])
def test_a_version_hubspot_has_not_released_is_its_404(path):
    _, client, _ = make()
    answer = client.get(path, headers=bearer(HubSpotSandbox.TOKEN))
    assert answer.status_code == 404 and answer.json["category"] == "OBJECT_NOT_FOUND"
    assert answer.json["status"] == "error"
