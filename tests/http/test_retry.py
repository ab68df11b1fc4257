"""HttpClient.send: retries what the table says, honours Retry-After, refreshes auth once, gives up typed."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest
import requests
import responses
from responses import matchers

from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, HttpClient, Outcome, RetryPolicy, Rule, VendorError, make_session

BASE = "https://api.hubapi.com"
URL = f"{BASE}/crm/v3/objects/contacts"
RATE_LIMIT = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
              "errorType": "RATE_LIMIT", "correlationId": "c033cdaa", "policyName": "TEN_SECONDLY_ROLLING"}


@pytest.fixture
def client(sleeps):
    session = make_session(BASE, headers={"Authorization": "Bearer pat-na1-old-token"})
    return HttpClient(session, vendor="HubSpot", policy=RetryPolicy(max_attempts=3, initial_wait=0.5, max_wait=60),
                      sleep=sleeps.append)


def test_success_needs_one_call(client, mock, sleeps):
    mock.add(responses.GET, URL, json={"results": [{"id": "51"}]})
    assert client.request("GET", "/crm/v3/objects/contacts").json()["results"][0]["id"] == "51"
    assert sleeps == [] and len(mock.calls) == 1


@pytest.mark.parametrize("failure", [
    {"status": 500, "json": {"message": "internal"}},
    {"status": 502, "body": "<html>bad gateway</html>"},
    {"status": 503, "body": ""},
    {"status": 429, "json": RATE_LIMIT},
    {"body": requests.ConnectionError("reset")},
    {"body": requests.ReadTimeout("read timed out")},
])
def test_transient_failures_are_retried_with_capped_jittered_backoff(client, mock, sleeps, failure):
    mock.add(responses.GET, URL, **failure)
    mock.add(responses.GET, URL, **failure)
    mock.add(responses.GET, URL, json={"results": []})
    assert client.request("GET", "/crm/v3/objects/contacts").status_code == 200
    assert len(sleeps) == 2
    assert all(0 <= s <= 0.5 * 2 ** (i + 1) for i, s in enumerate(sleeps))  # full jitter under the cap


def test_retry_after_seconds_is_honoured(client, mock, sleeps):
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT, headers={"Retry-After": "7"})
    mock.add(responses.GET, URL, status=503, headers={"Retry-After": "2"})
    mock.add(responses.GET, URL, json={"results": []})
    client.request("GET", "/crm/v3/objects/contacts")
    assert sleeps == [7.0, 2.0]



def test_only_a_rate_limits_wait_is_reported_to_the_rate_limit_hook(mock, sleeps):
    waits: list[float] = []
    client = HttpClient(make_session(BASE), vendor="HubSpot", policy=RetryPolicy(max_attempts=4, initial_wait=0.5),
                        sleep=sleeps.append, rate_limit_wait=waits.append)
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT, headers={"Retry-After": "7"})
    mock.add(responses.GET, URL, status=503, headers={"Retry-After": "2"})  # a transient failure: a backoff
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT, headers={"Retry-After": "3"})
    mock.add(responses.GET, URL, json={"results": []})
    client.request("GET", "/crm/v3/objects/contacts")
    assert sleeps == [7.0, 2.0, 3.0] and waits == [7.0, 3.0]

def test_retry_after_http_date_is_honoured(client, mock, sleeps):
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT,
             headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    mock.add(responses.GET, URL, json={"results": []})
    client.request("GET", "/crm/v3/objects/contacts")
    assert len(sleeps) == 1 and 27.5 <= sleeps[0] <= 30.0


def test_retry_after_beyond_max_wait_is_left_to_the_job_layer(client, mock, sleeps):
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as raised:
        client.request("GET", "/crm/v3/objects/contacts")
    assert raised.value.retry_after == 3600.0 and sleeps == [] and len(mock.calls) == 1


@pytest.mark.parametrize(("status", "error"), [(500, TransientError), (503, TransientError), (429, RateLimited)])
def test_gives_up_after_max_attempts_with_the_typed_error_redacted(client, mock, sleeps, status, error):
    body = {"message": "portal of owner ops.lead@example.com is unavailable, call +1 (555) 010-9999",
            "category": "SERVICE_UNAVAILABLE"}
    for _ in range(3):
        mock.add(responses.GET, URL, status=status, json=body)
    with pytest.raises(error) as raised:
        client.request("GET", "/crm/v3/objects/contacts", params={"hapikey": "hk-live-7788"})
    message = str(raised.value)
    assert len(mock.calls) == 3 and len(sleeps) == 2
    assert f"HTTP {status}" in message and "is unavailable" in message
    for secret in ("ops.lead@example.com", "555", "hk-live-7788"):
        assert secret not in message


@pytest.mark.parametrize(("status", "error"), [(400, ValidationError), (403, AuthError), (404, PermanentError),
                                               (409, PermanentError)])
def test_permanent_failures_are_not_retried(client, mock, sleeps, status, error):
    mock.add(responses.POST, URL, status=status, json={"status": "error", "message": "nope", "category": "X"})
    with pytest.raises(error, match="nope"):
        client.request("POST", "/crm/v3/objects/contacts", json={"properties": {"email": "a@example.com"}})
    assert sleeps == [] and len(mock.calls) == 1


def _refresher(calls):
    def refresh(request: requests.PreparedRequest) -> requests.PreparedRequest:
        calls.append(request.headers["Authorization"])
        request.headers["Authorization"] = "Bearer pat-na1-new-token"
        return request
    return refresh


def test_401_refreshes_then_retries_once(client, mock, sleeps):
    refreshed = []
    client.refresh = _refresher(refreshed)
    mock.add(responses.GET, URL, status=401, json={"message": "expired", "category": "EXPIRED_AUTHENTICATION"},
             match=[matchers.header_matcher({"Authorization": "Bearer pat-na1-old-token"})])
    mock.add(responses.GET, URL, json={"results": []},
             match=[matchers.header_matcher({"Authorization": "Bearer pat-na1-new-token"})])
    assert client.request("GET", "/crm/v3/objects/contacts").status_code == 200
    assert refreshed == ["Bearer pat-na1-old-token"] and sleeps == []


def test_a_second_401_after_refresh_is_an_auth_error(client, mock, sleeps):
    refreshed = []
    client.refresh = _refresher(refreshed)
    mock.add(responses.GET, URL, status=401, json={"message": "expired"})
    mock.add(responses.GET, URL, status=401, json={"message": "revoked"})
    with pytest.raises(AuthError, match="revoked"):
        client.request("GET", "/crm/v3/objects/contacts")
    assert len(refreshed) == 1 and len(mock.calls) == 2 and sleeps == []


def test_401_without_a_refresh_hook_fails_at_once(client, mock):
    mock.add(responses.GET, URL, status=401, json={"message": "Authentication credentials not found."})
    with pytest.raises(AuthError, match="credentials not found"):
        client.request("GET", "/crm/v3/objects/contacts")


class RecordingLimiter:
    def __init__(self):
        self.acquired, self.learned = 0, []

    def acquire(self, cost: int = 1) -> float:
        self.acquired += cost
        return 0.0

    def learn(self, headers) -> None:
        self.learned.append(headers.get("X-HubSpot-RateLimit-Remaining"))


def test_every_attempt_acquires_and_every_response_teaches_the_limiter(client, mock):
    client.limiter = limiter = RecordingLimiter()
    mock.add(responses.GET, URL, status=429, json=RATE_LIMIT, headers={"X-HubSpot-RateLimit-Remaining": "0"})
    mock.add(responses.GET, URL, json={}, headers={"X-HubSpot-RateLimit-Remaining": "189"})
    client.request("GET", "/crm/v3/objects/contacts")
    assert limiter.acquired == 2 and limiter.learned == ["0", "189"]


def test_log_lines_carry_no_secrets_or_personal_data(client, mock, caplog):
    caplog.set_level(logging.DEBUG, logger="sync.http")
    path = "/crm/v3/objects/contacts/jane.doe@example.com?idProperty=email&access_token=at-9f8e7d&phone=%2B14155550123"
    mock.add(responses.GET, BASE + path, body=requests.ConnectionError(f"Max retries exceeded with url: {path}"))
    mock.add(responses.GET, BASE + path, status=503, json={"message": "down for jane.doe@example.com"})
    mock.add(responses.GET, BASE + path, json={})
    client.request("GET", path)
    assert "GET https://api.hubapi.com/crm/v3/objects/contacts/[email]" in caplog.text
    assert "ConnectionError" in caplog.text and "HTTP 503" in caplog.text
    for secret in ("jane.doe", "at-9f8e7d", "4155550123", "pat-na1-old-token"):
        assert secret not in caplog.text


def test_the_read_error_hook_reads_every_refusal_for_the_tables_code_rows(mock, sleeps):
    read = []

    def reader(response):
        read.append(response.status_code)
        body = response.json()
        return VendorError(code=body.get("kind", ""), message=body.get("text", ""))

    table = {(400, "LOCKED"): Rule(Action.RETRY, TransientError, "a record was locked")}
    client = HttpClient(make_session(BASE), vendor="Acme", overrides=table, read_error=reader, sleep=sleeps.append)
    mock.add(responses.GET, URL, status=400, json={"kind": "LOCKED", "text": "try later"})
    mock.add(responses.GET, URL, status=400, json={"kind": "BAD", "text": "no such field"})
    with pytest.raises(ValidationError, match=r"\(HTTP 400, BAD\) .*: no such field") as raised:
        client.request("GET", URL)
    assert read == [400, 400] and len(sleeps) == 1  # the LOCKED row retried; BAD fell to the status row
    assert raised.value.vendor_code == "BAD" and raised.value.vendor_message == "no such field"


def test_the_judge_hook_gives_its_verdict_on_every_outcome(mock, sleeps):
    seen = []

    def judge(outcome):
        seen.append((outcome.action, None if outcome.response is None else outcome.response.status_code))
        body = outcome.response.json() if outcome.response is not None else {}
        if body.get("code") == 40100:  # a refusal on an HTTP 200, which the status table cannot see
            return Outcome(Action.RATE_LIMITED, RateLimited("slow down", retry_after=2.0), 2.0, outcome.response)
        return outcome

    client = HttpClient(make_session(BASE), vendor="Acme", judge=judge, sleep=sleeps.append)
    mock.add(responses.GET, URL, body=requests.ConnectionError("reset"))
    mock.add(responses.GET, URL, json={"code": 40100})
    mock.add(responses.GET, URL, json={"code": 0})
    assert client.request("GET", URL).json() == {"code": 0}
    assert seen == [(Action.RETRY, None), (Action.OK, 200), (Action.OK, 200)]
    assert len(sleeps) == 2 and sleeps[1] == 2.0
