"""The classification table: every status/exception maps to one action and one typed error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses

from sync.connectors.hubspot.errors import read_error as hubspot
from sync.connectors.salesforce.errors import read_error as salesforce
from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, VendorError, classify, make_session, raise_for, read_error

URL = "https://api.hubapi.com/crm/v3/objects/contacts"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "http"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def _response(mock, status, body=None, headers=None, url=URL):
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"body": body or ""}
    mock.add(responses.GET, url, status=status, headers=headers or {}, **kwargs)
    return make_session().get(url)


@pytest.mark.parametrize(("status", "body", "headers", "action", "error", "says", "retry_after", "reader"), [
    (200, {"results": []}, None, Action.OK, None, None, None, hubspot),
    (204, None, None, Action.OK, None, None, None, hubspot),
    (400, load("hubspot_validation_error.json"), None, Action.FAIL, ValidationError,
     "Property values were not valid", None, hubspot),
    (400, load("salesforce_field_error.json"), None, Action.FAIL, ValidationError, "invalid email address", None,
     salesforce),
    (401, load("hubspot_unauthorized.json"), None, Action.AUTH, AuthError, "Authentication credentials not found",
     None, hubspot),
    (403, load("hubspot_forbidden.json"), None, Action.FAIL, AuthError, "granted all required scopes", None, hubspot),
    (404, load("hubspot_not_found.json"), None, Action.FAIL, PermanentError, "Object not found", None, hubspot),
    (409, load("hubspot_conflict.json"), None, Action.FAIL, PermanentError, "Contact already exists", None, hubspot),
    (422, {"message": "bad"}, None, Action.FAIL, ValidationError, "bad", None, read_error),
    (418, "teapot", None, Action.FAIL, PermanentError, "teapot", None, read_error),
    (429, load("hubspot_rate_limit.json"), {"Retry-After": "7"}, Action.RATE_LIMITED, RateLimited,
     "ten_secondly_rolling", 7.0, hubspot),
    (429, load("hubspot_rate_limit.json"), None, Action.RATE_LIMITED, RateLimited, "RATE_LIMIT", None, hubspot),
    (500, {"message": "internal error"}, None, Action.RETRY, TransientError, "HTTP 500", None, read_error),
    (502, "<html>Bad Gateway</html>", None, Action.RETRY, TransientError, "HTTP 502", None, read_error),
    (503, "", {"Retry-After": "12"}, Action.RETRY, TransientError, "HTTP 503", 12.0, read_error),
    (599, "", None, Action.RETRY, TransientError, "HTTP 599", None, read_error),
])
def test_status_table(mock, status, body, headers, action, error, says, retry_after, reader):
    outcome = classify(_response(mock, status, body, headers), vendor="HubSpot", read_error=reader)
    assert outcome.action is action
    if error is None:
        assert outcome.error is None and outcome.response.status_code == status
        return
    assert type(outcome.error) is error
    assert says in str(outcome.error) and str(outcome.error).startswith("HubSpot: ")
    assert outcome.retry_after == retry_after
    assert outcome.error.status == status
    if error is RateLimited:
        assert outcome.error.retry_after == retry_after


@pytest.mark.parametrize(("exc", "action", "error"), [
    (requests.ConnectionError("Max retries exceeded with url: /x?hapikey=secret-123"), Action.RETRY, TransientError),
    (requests.ConnectTimeout("connect timed out"), Action.RETRY, TransientError),
    (requests.ReadTimeout("read timed out"), Action.RETRY, TransientError),
    (requests.exceptions.ChunkedEncodingError("broken"), Action.RETRY, TransientError),
    (requests.exceptions.InvalidURL("bad url"), Action.FAIL, PermanentError),
])
def test_exception_table(mock, exc, action, error):
    mock.add(responses.GET, URL, body=exc)
    with pytest.raises(requests.RequestException) as raised:
        make_session().get(URL)
    outcome = classify(raised.value, vendor="HubSpot")
    assert outcome.action is action and type(outcome.error) is error
    assert type(exc).__name__ in str(outcome.error)
    assert "secret-123" not in str(outcome.error)  # requests' message (with the URL) is never echoed


def test_vendor_message_is_redacted(mock):
    response = _response(mock, 400, load("hubspot_validation_error.json"), url=URL + "?hapikey=hk-secret-42")
    message = str(classify(response, read_error=hubspot).error)
    assert "jane.doe@example.com" not in message and "[email]" in message
    assert "555" not in message and "[phone]" in message
    assert "hk-secret-42" not in message and "hapikey=[redacted]" in message


SALESFORCE = {
    (403, "REQUEST_LIMIT_EXCEEDED"): Rule(Action.RATE_LIMITED, RateLimited, "the daily API quota is used up"),
    (401, "INVALID_SESSION_ID"): Rule(Action.AUTH, AuthError, "the session expired"),
    409: Rule(Action.RETRY, TransientError, "record locked"),
}


@pytest.mark.parametrize(("status", "fixture", "action", "error", "says"), [
    (403, "salesforce_request_limit.json", Action.RATE_LIMITED, RateLimited, "daily API quota"),
    (403, "hubspot_forbidden.json", Action.FAIL, AuthError, "lack permission"),  # no code match: default row
    (401, "salesforce_invalid_session.json", Action.AUTH, AuthError, "session expired"),
    (409, "hubspot_conflict.json", Action.RETRY, TransientError, "record locked"),
    (404, "hubspot_not_found.json", Action.FAIL, PermanentError, "not found"),
])
def test_connector_overrides_win(mock, status, fixture, action, error, says):
    outcome = classify(_response(mock, status, load(fixture)), overrides=SALESFORCE, vendor="Salesforce",
                       read_error=salesforce)
    assert outcome.action is action and type(outcome.error) is error and says in str(outcome.error)


def test_raise_for_returns_ok_and_raises_the_typed_error(mock):
    mock.add(responses.GET, URL, json={"ok": True})
    mock.add(responses.GET, URL, status=404, json=load("hubspot_not_found.json"))
    session = make_session()
    assert raise_for(session.get(URL)).json() == {"ok": True}
    with pytest.raises(PermanentError, match="Object not found"):
        raise_for(session.get(URL))


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "bad", "error": "ignored", "errors": ["ignored"]}, "bad"),
    ({"error": "invalid_request"}, "invalid_request"),
    ({"error": {"message": "Invalid parameter", "code": 100}}, "Invalid parameter"),
    ({"errors": ["first", "second"]}, "['first', 'second']"),
    ({"message": "", "error": "", "error_description": "vendor-specific"}, ""),  # a vendor shape: its reader's job
    ([{"message": "one", "errorCode": "X"}], '[{"message": "one", "errorCode": "X"}]'),  # quoted as sent
    ("<html>\n  Bad   Gateway\n</html>", "<html> Bad Gateway </html>"),
    ("", ""),
    ("null", ""),  # JSON null
])
def test_the_default_reader_knows_no_vendor(mock, body, message):
    found = read_error(_response(mock, 400, body))
    assert found == VendorError(code="", message=message)


def test_the_default_reader_reads_no_code_so_only_status_rows_match(mock):
    outcome = classify(_response(mock, 403, load("salesforce_request_limit.json")), overrides=SALESFORCE)
    assert outcome.action is Action.FAIL and type(outcome.error) is AuthError  # not the (403, code) row
    assert outcome.error.vendor_code == "" and "TotalRequests Limit exceeded." in outcome.error.vendor_message


def test_the_default_reader_redacts_and_shortens(mock):
    found = read_error(_response(mock, 400, {"message": "call jane@example.com on +1 (555) 123-4567 " + "x" * 400}))
    assert "jane@example.com" not in found.message and "[email]" in found.message and "[phone]" in found.message
    assert len(found.message) == 300


def test_a_readers_code_picks_the_status_code_row_and_stays_on_the_error(mock):
    def reader(response):
        return VendorError(code="LOCKED", subcode="7", message="row locked by another update")

    table = {(409, "LOCKED/7"): Rule(Action.RETRY, TransientError, "a record was locked")}
    outcome = classify(_response(mock, 409, {"anything": True}, {"Retry-After": "3"}), overrides=table,
                       vendor="Acme", read_error=reader)
    assert outcome.action is Action.RETRY and type(outcome.error) is TransientError
    assert str(outcome.error) == ("Acme: a record was locked (HTTP 409, LOCKED/7) GET " + URL
                                  + ": row locked by another update")
    error = outcome.error
    assert (error.status, error.retry_after, error.vendor_code, error.vendor_message) == (
        409, 3.0, "LOCKED/7", "row locked by another update")
    assert error.bisect is False and error.located == {}


def test_a_success_is_not_read(mock):
    def reader(response):
        raise AssertionError("a success's body is not an error body")

    assert classify(_response(mock, 200, {"ok": True}), read_error=reader).action is Action.OK


def test_raise_for_uses_the_reader(mock):
    mock.add(responses.GET, URL, status=403, json=load("salesforce_request_limit.json"))
    with pytest.raises(RateLimited, match=r"daily API quota .*REQUEST_LIMIT_EXCEEDED.*TotalRequests") as raised:
        raise_for(make_session().get(URL), overrides=SALESFORCE, vendor="Salesforce", read_error=salesforce)
    assert raised.value.vendor_code == "REQUEST_LIMIT_EXCEEDED" and raised.value.status == 403


def test_vendor_error_full_code():
    assert VendorError(code="100").full_code == "100"
    assert VendorError(code="100", subcode="2804003").full_code == "100/2804003"
