"""What a HubSpot run spends and waits: requests counted, 429s and 5xx retried, a shared Redis budget, quiet logs."""

from __future__ import annotations

import logging

import fakeredis
import pytest
import responses
from connectors.hubspot.hubspot_fakes import BASE, PATHS, PRIVATE_TOKEN, MemoryTokens, fixture

from sync.connectors.crm import PushItem
from sync.errors import RateLimited, ValidationError

LIST_URL = f"{BASE}{PATHS.objects('contacts')}"


def page_then(mock, *failures: dict) -> None:
    for failure in failures:
        mock.add(responses.GET, LIST_URL, **failure)
    mock.add(responses.GET, LIST_URL, json=fixture("contacts_list_page2.json"))


def stats(connector) -> tuple:
    s = connector.stats
    return s.api_calls, s.rate_limit_waits, s.rate_limit_seconds


def test_a_429_without_retry_after_backs_off_and_counts_too(make, mock, clock):
    page_then(mock, {"status": 429, "json": fixture("rate_limit_429.json")},
              {"status": 429, "json": fixture("rate_limit_429.json")})
    connector = make()
    list(connector.pull("contacts", {}))
    assert len(clock.slept) == 2 and all(0 <= s <= 0.5 * 2 ** (i + 1) for i, s in enumerate(clock.slept))
    assert stats(connector) == (3, 2, pytest.approx(sum(clock.slept)))


def test_a_retry_after_beyond_the_retry_budget_is_left_to_the_job_layer(make, mock, clock):
    mock.add(responses.GET, LIST_URL, status=429, json=fixture("rate_limit_429.json"), headers={"Retry-After": "900"})
    connector = make()
    with pytest.raises(RateLimited) as raised:
        list(connector.pull("contacts", {}))
    assert raised.value.retry_after == 900.0 and clock.slept == [] and stats(connector) == (1, 0, 0.0)


@pytest.mark.parametrize("failure", [{"status": 502, "body": "<html>bad gateway</html>"},
                                     {"status": 503, "json": {"status": "error", "message": "unavailable"}},
                                     {"status": 500, "json": {"status": "error", "category": "INTERNAL_ERROR"}}])
def test_server_errors_are_retried_with_backoff_not_counted_as_rate_limits(make, mock, clock, failure):
    page_then(mock, failure)
    connector = make()
    assert [r["id"] for p in connector.pull("contacts", {}) for r in p.records] == ["77"]
    assert len(clock.slept) == 1 and stats(connector) == (2, 0, 0.0)


def test_workers_share_one_redis_budget_at_the_configured_rate(make, mock, clock):
    redis = fakeredis.FakeRedis()
    env = {"LIFESYNC_HUBSPOT_TOKEN": PRIVATE_TOKEN, "LIFESYNC_HUBSPOT_RATE_PER_10S": "2"}
    mock.add(responses.GET, LIST_URL, json=fixture("contacts_list_page2.json"))
    first, second = make(env, redis=redis), make(env, redis=redis)
    list(first.pull("contacts", {}))
    list(first.pull("contacts", {}))
    assert clock.slept == []
    list(second.pull("contacts", {}))  # the other worker's two calls spent the ten-second budget
    assert clock.slept == [5.0]  # one token at 2 per 10 s
    assert stats(second) == (1, 1, 5.0) and stats(first) == (2, 0, 0.0)
    assert {k.decode() for k in redis.keys("lifesync:ratelimit:hubspot:default:*")} == {
        "lifesync:ratelimit:hubspot:default:ten_secondly", "lifesync:ratelimit:hubspot:default:daily"}


def test_the_budget_learns_what_hubspot_says_is_left(make, mock, clock):
    headers = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0",
               "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    mock.add(responses.GET, LIST_URL, json=fixture("contacts_list_page2.json"), headers=headers)
    connector = make(redis=fakeredis.FakeRedis())  # 100 per 10 s configured, but other apps used it all
    list(connector.pull("contacts", {}))
    list(connector.pull("contacts", {}))
    assert clock.slept == [0.1] and connector.stats.rate_limit_waits == 1


def test_no_token_secret_or_email_reaches_logs_results_or_errors(make, mock, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = ["app-secret-9f3e", "setting-refresh-token", "rotated-refresh-2", "access-token-one",
               "access-token-two"]
    env = {"LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID": "client-1", "LIFESYNC_HUBSPOT_CLIENT_SECRET": secrets[0],
           "LIFESYNC_HUBSPOT_REFRESH_TOKEN": secrets[1]}
    token = f"{BASE}/oauth/v1/token"
    mock.add(responses.POST, token, json={"access_token": secrets[3], "refresh_token": secrets[2], "expires_in": 1800})
    mock.add(responses.GET, LIST_URL, json=fixture("contacts_list_page2.json"))
    mock.add(responses.POST, f"{BASE}{PATHS.batch('contacts', 'upsert')}", status=401,
             json=fixture("unauthorized_401.json"))
    mock.add(responses.POST, token, json={"access_token": secrets[4], "expires_in": 1800})
    errors = {"status": "COMPLETE", "results": [], "numErrors": 1, "errors": [
        {"status": "error", "category": "CONFLICT", "message": "Contact ana.lopez@example.com already exists",
         "context": {"objectWriteTraceId": ["1"]}}]}
    mock.add(responses.POST, f"{BASE}{PATHS.batch('contacts', 'upsert')}", status=207, json=errors)
    mock.add(responses.POST, f"{BASE}{PATHS.batch('contacts', 'update')}", status=400,
             json={"status": "error", "category": "VALIDATION_ERROR",
                   "message": "Property values were not valid: bo.chen@example.org, +1 (415) 555-2671"})
    connector = make(env, tokens=MemoryTokens())

    pages = list(connector.pull("contacts", {}))
    assert pages[0].records[0]["properties"]["email"] == "chidi.okafor@example.net"  # data flows, logs stay clean
    (result,) = connector.push("contacts", [PushItem(1, "contacts", None, {"email": "ana.lopez@example.com"})])
    with pytest.raises(ValidationError) as raised:  # a whole-request refusal
        connector.push("contacts", [PushItem(2, "contacts", "52", {"email": "bo.chen@example.org"})])

    shown = caplog.text + (result.error or "") + str(raised.value) + repr(connector) + repr(connector.auth)
    assert result.status == "conflict" and "[email]" in result.error
    assert caplog.records  # the refresh and the requests were logged...
    for secret in [*secrets, "example.com", "example.org", "example.net", "555-2671"]:
        assert secret not in shown  # ...without a credential or a piece of personal data
