"""The classification table: every status/exception maps to one action and one typed error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses

from sync.errors import AuthError, PermanentError, RateLimited, TransientError, ValidationError
from sync.http import Action, Rule, classify, make_session, raise_for

URL = "https://api.hubapi.com/crm/v3/objects/contacts"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "http"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def _response(mock, status, body=None, headers=None, url=URL):
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"body": body or ""}
    mock.add(responses.GET, url, status=status, headers=headers or {}, **kwargs)
    return make_session().get(url)


@pytest.mark.parametrize(("status", "body", "headers", "action", "error", "says", "retry_after"), [
    (200, {"results": []}, None, Action.OK, None, None, None),
    (204, None, None, Action.OK, None, None, None),
    (400, load("hubspot_validation_error.json"), None, Action.FAIL, ValidationError,
     "Property values were not valid", None),
    (400, load("salesforce_field_error.json"), None, Action.FAIL, ValidationError, "invalid email address", None),
    (401, load("hubspot_unauthorized.json"), None, Action.AUTH, AuthError, "Authentication credentials not found",
     None),
    (403, load("hubspot_forbidden.json"), None, Action.FAIL, AuthError, "granted all required scopes", None),
    (404, load("hubspot_not_found.json"), None, Action.FAIL, PermanentError, "Object not found", None),
    (409, load("hubspot_conflict.json"), None, Action.FAIL, PermanentError, "Contact already exists", None),
    (422, {"message": "bad"}, None, Action.FAIL, ValidationError, "bad", None),
    (418, "teapot", None, Action.FAIL, PermanentError, "teapot", None),
    (429, load("hubspot_rate_limit.json"), {"Retry-After": "7"}, Action.RATE_LIMITED, RateLimited,
     "ten_secondly_rolling", 7.0),
    (429, load("hubspot_rate_limit.json"), None, Action.RATE_LIMITED, RateLimited, "RATE_LIMIT", None),
    (500, {"message": "internal error"}, None, Action.RETRY, TransientError, "HTTP 500", None),
    (502, "<html>Bad Gateway</html>", None, Action.RETRY, TransientError, "HTTP 502", None),
    (503, "", {"Retry-After": "12"}, Action.RETRY, TransientError, "HTTP 503", 12.0),
    (599, "", None, Action.RETRY, TransientError, "HTTP 599", None),
])
def test_status_table(mock, status, body, headers, action, error, says, retry_after):
    outcome = classify(_response(mock, status, body, headers), vendor="HubSpot")
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
    message = str(classify(response).error)
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
    outcome = classify(_response(mock, status, load(fixture)), overrides=SALESFORCE, vendor="Salesforce")
    assert outcome.action is action and type(outcome.error) is error and says in str(outcome.error)


def test_raise_for_returns_ok_and_raises_the_typed_error(mock):
    mock.add(responses.GET, URL, json={"ok": True})
    mock.add(responses.GET, URL, status=404, json=load("hubspot_not_found.json"))
    session = make_session()
    assert raise_for(session.get(URL)).json() == {"ok": True}
    with pytest.raises(PermanentError, match="Object not found"):
        raise_for(session.get(URL))
