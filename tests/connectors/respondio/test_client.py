"""respond.io write-back client: endpoints, encoding, retries, typed errors, and no secrets in logs."""

from __future__ import annotations

import logging

import pytest
import requests
import responses
from responses import matchers
from support.clock import SleepingClock

from sync.connectors.respondio.client import NotFound, RateLimitPause, RespondioClient
from sync.errors import AuthError, PermanentError, RateLimited, SettingsError, TransientError, ValidationError
from sync.outbox.deliveries import backoff
from sync.settings import Settings

BASE = "https://api.respond.io/v2"
TOKEN = "rio-api-token-5f3c9a"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return RespondioClient(TOKEN, sleep=sleeps.append, max_attempts=3)


@pytest.mark.parametrize(("identifier", "path"), [
    ("email:ana.lopez@example.com", "email:ana.lopez@example.com"),
    ("email:ana+promo@example.com", "email:ana%2Bpromo@example.com"),
    ("phone:+34612345678", "phone:%2B34612345678"),
    ("id:1043822", "id:1043822"),
])
def test_upsert_contact_posts_the_fields_to_the_encoded_identifier(client, mock, identifier, path):
    fields = {"firstName": "Ana", "custom_fields": [{"name": "Company", "value": "Acme"}]}
    mock.add(responses.POST, f"{BASE}/contact/create_or_update/{path}", json={"contactId": 1043822},
             match=[AUTH, matchers.json_params_matcher(fields)])
    assert client.upsert_contact(identifier, fields) == {"contactId": 1043822}
    assert mock.calls[0].request.url.endswith(path)


@pytest.mark.parametrize("stage", ["Hot Lead", None])
def test_update_lifecycle_sets_or_clears_the_stage(client, mock, stage):
    mock.add(responses.POST, f"{BASE}/contact/id:1043822/lifecycle/update", json={"contactId": 1043822},
             match=[AUTH, matchers.json_params_matcher({"name": stage})])
    assert client.update_lifecycle("id:1043822", stage) == {"contactId": 1043822}


def test_429_waits_for_retry_after_then_succeeds(client, mock, sleeps):
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, status=429, json={"message": "Too many requests"},
             headers={"Retry-After": "4", "X-RateLimit-Remaining": "0"})
    mock.add(responses.POST, url, json={"contactId": 1})
    assert client.update_lifecycle("id:1", "Customer") == {"contactId": 1}
    assert sleeps == [4.0] and len(mock.calls) == 2


@pytest.mark.parametrize("headers", [{"Retry-After": "3600"}, {"Retry-After": "30"},
                                     {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "45"}])
def test_a_wait_longer_than_the_inline_cap_is_not_slept_but_raised_at_once(client, mock, sleeps, headers):
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, status=429, headers=headers)
    with pytest.raises(RateLimited) as err:
        client.update_lifecycle("id:1", "Customer")
    assert err.value.retry_after == float(headers.get("Retry-After") or headers["X-RateLimit-Reset"])
    assert getattr(err.value, "sent", True) is True  # it was sent (and refused): the dispatcher counts an attempt
    assert sleeps == [] and len(mock.calls) == 1


def test_inline_waits_are_bounded_by_default():
    client = RespondioClient(TOKEN)
    assert client.max_wait <= 5.0 and client.max_attempts <= 3  # a call sleeps at most ~10 s, never minutes


def test_rate_limit_that_never_lifts_raises_after_the_bounded_attempts(client, mock, sleeps):
    url = f"{BASE}/contact/id:1/lifecycle/update"
    for _ in range(3):
        mock.add(responses.POST, url, status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as err:
        client.update_lifecycle("id:1", "Customer")
    assert err.value.retry_after == 2.0 and sleeps == [2.0, 2.0] and len(mock.calls) == 3


@pytest.mark.parametrize("failure", [
    {"status": 503, "json": {"message": "upstream"}},
    {"status": 500},
    {"body": requests.ConnectionError("connection reset")},
    {"body": requests.Timeout("read timed out")},
])
def test_server_and_connection_errors_are_retried_with_backoff(client, mock, sleeps, failure):
    url = f"{BASE}/contact/create_or_update/id:1"
    mock.add(responses.POST, url, **failure)
    mock.add(responses.POST, url, json={"contactId": 1})
    assert client.upsert_contact("id:1", {"firstName": "Ana"}) == {"contactId": 1}
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 60


def test_server_errors_that_persist_raise_transient_error(client, mock, sleeps):
    url = f"{BASE}/contact/create_or_update/id:1"
    for _ in range(3):
        mock.add(responses.POST, url, status=502)
    with pytest.raises(TransientError, match="HTTP 502"):
        client.upsert_contact("id:1", {})
    assert sleeps == sorted(sleeps) and len(sleeps) == 2  # growing backoff


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_token_is_auth_error_without_retry(client, mock, sleeps, status):
    mock.add(responses.POST, f"{BASE}/contact/create_or_update/email:ana@example.com", status=status,
             json={"message": f"Invalid token {TOKEN}"})
    with pytest.raises(AuthError) as err:
        client.upsert_contact("email:ana@example.com", {"firstName": "Ana"})
    assert f"HTTP {status}" in str(err.value) and TOKEN not in str(err.value)
    assert sleeps == [] and len(mock.calls) == 1


@pytest.mark.parametrize(("status", "body", "error", "shown"), [
    (400, {"message": "Invalid field: language must be an ISO 639-1 code"}, ValidationError,
     "(HTTP 400): Invalid field: language must be an ISO 639-1 code"),
    (422, {"error": {"message": "custom field Budget does not exist"}}, ValidationError,
     "(HTTP 422): custom field Budget does not exist"),
    (404, {"message": "Contact not found"}, NotFound, "(HTTP 404): Contact not found"),
    (400, {"message": "email ana.lopez@example.com already used by +34 612 345 678"}, ValidationError,
     "(HTTP 400): email [email] already used by [phone]"),
])
def test_other_client_errors_are_permanent_and_carry_the_vendor_message(client, mock, sleeps, status, body, error,
                                                                         shown):
    mock.add(responses.POST, f"{BASE}/contact/create_or_update/email:ana.lopez@example.com", status=status,
             json=body)
    with pytest.raises(error) as err:
        client.upsert_contact("email:ana.lopez@example.com", {"language": "spanish"})
    assert isinstance(err.value, PermanentError) and shown in str(err.value)
    assert "ana.lopez@example.com" not in str(err.value) and sleeps == [] and len(mock.calls) == 1


@pytest.mark.parametrize("identifier", ["ana@example.com", "phone:612345678", "email:", "id:abc", "id:1/../x", ""])
def test_malformed_identifier_is_refused_before_any_request(client, mock, identifier):
    with pytest.raises(PermanentError, match="identifier must be"):
        client.upsert_contact(identifier, {})
    assert len(mock.calls) == 0


def test_token_and_identifier_never_reach_the_logs(client, mock, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"{BASE}/contact/create_or_update/email:ana@example.com"
    mock.add(responses.POST, url, body=requests.ConnectionError(f"https://x/email:ana@example.com {TOKEN}"))
    mock.add(responses.POST, url, status=429, headers={"Retry-After": "1"})
    mock.add(responses.POST, url, json={"contactId": 9}, match=[AUTH])
    assert client.upsert_contact("email:ana@example.com", {"firstName": "Ana"}) == {"contactId": 9}
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in mock.calls)
    assert caplog.records  # it does log, just not secrets
    assert TOKEN not in caplog.text and "ana@example.com" not in caplog.text
    assert TOKEN not in repr(client)


def test_client_from_settings(mock):
    settings = Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN__AGENCY": TOKEN,
                                  "LIFESYNC_RESPONDIO_API_URL__AGENCY": "https://eu.respond.example/v2/"})
    with pytest.raises(SettingsError, match="LIFESYNC_RESPONDIO_API_TOKEN is not set"):
        RespondioClient.from_settings(settings)
    client = RespondioClient.from_settings(settings, "agency")
    mock.add(responses.POST, "https://eu.respond.example/v2/contact/id:1/lifecycle/update", json={}, match=[AUTH])
    assert client.update_lifecycle("id:1", None) == {}
    mock.add(responses.POST, "https://eu.respond.example/v2/contact/id:2/lifecycle/update", status=401)
    with pytest.raises(AuthError, match=r"check LIFESYNC_RESPONDIO_API_TOKEN__AGENCY$"):  # the token it used
        client.update_lifecycle("id:2", "Hot Lead")


def test_remaining_zero_waits_for_the_reset_before_the_next_call_to_that_endpoint(mock):
    clock = SleepingClock()
    client = RespondioClient(TOKEN, sleep=clock.sleep, clock=clock)
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, json={}, headers={"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                                                    "X-RateLimit-Reset": "2"})
    mock.add(responses.POST, f"{BASE}/contact/create_or_update/id:1", json={})  # another endpoint: its own budget
    mock.add(responses.POST, url, json={}, headers={"X-RateLimit-Remaining": "4"})
    client.update_lifecycle("id:1", "Customer")
    client.upsert_contact("id:1", {"firstName": "Ana"})
    assert clock.sleeps == []
    client.update_lifecycle("id:1", "Payment")
    assert clock.sleeps == [2.0] and len(mock.calls) == 3  # paused before the call, never a 429


@pytest.mark.parametrize(("reset", "expected"), [
    (None, 1.0),  # no reset time: respond.io's limits are per second
    ("3", 3.0),
    ("epoch+4", 4.0),  # a Unix time in seconds
    ("epoch_ms+4", 4.0),  # ... or in milliseconds
])
def test_reset_is_read_as_delta_seconds_or_an_epoch_time(mock, monkeypatch, reset, expected):
    import sync.connectors.respondio.client as rio

    monkeypatch.setattr(rio.time, "time", lambda: 1_700_000_000.0)
    value = {"epoch+4": "1700000004", "epoch_ms+4": "1700000004000"}.get(reset, reset)
    clock = SleepingClock()
    client = RespondioClient(TOKEN, sleep=clock.sleep, clock=clock)
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, json={}, headers={"X-RateLimit-Remaining": "0",
                                                    **({"X-RateLimit-Reset": value} if value else {})})
    mock.add(responses.POST, url, json={})
    client.update_lifecycle("id:1", "Customer")
    client.update_lifecycle("id:1", "Payment")
    assert clock.sleeps == [pytest.approx(expected)]


def test_a_spent_budget_resetting_later_than_the_cap_raises_a_pause_without_sending(mock):
    clock = SleepingClock()
    client = RespondioClient(TOKEN, sleep=clock.sleep, clock=clock)
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40"})
    client.update_lifecycle("id:1", "Customer")
    with pytest.raises(RateLimitPause) as err:
        client.update_lifecycle("id:1", "Payment")
    assert err.value.sent is False and err.value.retry_after == pytest.approx(40.0)
    assert isinstance(err.value, RateLimited) and clock.sleeps == [] and len(mock.calls) == 1
    clock.now += 40  # once the window has passed, calls go out again
    mock.add(responses.POST, url, json={})
    client.update_lifecycle("id:1", "Payment")
    assert len(mock.calls) == 2 and clock.sleeps == []


@pytest.mark.parametrize("retry_after", ["inf", "1e15", "99999999999999999999"])
def test_an_absurd_retry_after_is_read_as_a_day_not_an_overflow(client, mock, sleeps, retry_after):
    """A wait the dispatcher turns into a datetime must be finite: a day at most."""
    url = f"{BASE}/contact/id:1/lifecycle/update"
    mock.add(responses.POST, url, status=429, headers={"Retry-After": retry_after})
    with pytest.raises(RateLimited) as err:
        client.update_lifecycle("id:1", "Customer")
    assert err.value.retry_after == 86_400.0 and sleeps == [] and len(mock.calls) == 1
    backoff(1, err.value.retry_after)  # what dispatch does with it: no OverflowError
