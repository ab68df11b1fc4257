"""HubSpot's error bodies read for the HTTP layer: the code is errorType or category, the message redacted."""

from __future__ import annotations

import pytest
import responses
from support.social_payloads import fixture as recorded

from sync.connectors.crm import SyncStats
from sync.connectors.hubspot.client import HubSpotApi, Meter, token_poster
from sync.connectors.hubspot.errors import read_error
from sync.errors import AuthError, PermanentError
from sync.http import RetryPolicy, VendorError

URL = "https://api.hubapi.com/crm/v3/objects/contacts"


@pytest.fixture
def answer(answered):
    return answered(read_error, URL)


def test_errortype_wins_over_category(answer):
    assert answer(429, {"message": "slow", "errorType": "RATE_LIMIT", "category": "OTHER"}).code == "RATE_LIMIT"


def test_personal_data_in_the_message_is_blanked(answer):
    found = answer(400, recorded("http/hubspot_validation_error.json"))
    assert "jane.doe@example.com" not in found.message and "[email]" in found.message
    assert "555" not in found.message and "[phone]" in found.message


@pytest.mark.parametrize(("body", "message"), [
    ({"status": "BAD_REFRESH_TOKEN", "error": "invalid_grant", "error_description": "unknown token"},
     "invalid_grant"),  # the OAuth endpoint's RFC 6749 fields
    ({"status": "error", "error_description": "unknown token"}, "unknown token"),
    ({"status": "error", "errors": [{"message": "one"}]}, "[{'message': 'one'}]"),
    ({"status": "error"}, ""),
])
def test_message_fallbacks(answer, body, message):
    assert answer(400, body) == VendorError(code="", message=message)


def test_a_body_that_is_not_an_object_is_read_as_the_default_reader_does(answer):
    assert answer(502, "<html>Bad Gateway</html>") == VendorError(message="<html>Bad Gateway</html>")
    assert answer(400, [{"errorCode": "NOT_HUBSPOT", "message": "m"}]).code == ""  # no list shape at HubSpot


def test_the_api_client_and_the_token_poster_read_hubspot_bodies():
    meter = Meter(SyncStats, sleep=lambda _seconds: None)
    base = "https://api.hubapi.com"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add(responses.GET, URL, status=404, json=recorded("http/hubspot_not_found.json"))
        mock.add(responses.POST, f"{base}/oauth/v1/token", status=400,
                 json=recorded("hubspot_api/oauth_bad_refresh_token_400.json"))
        with pytest.raises(PermanentError) as raised:
            HubSpotApi(base, meter, policy=RetryPolicy(max_attempts=1)).get("/crm/v3/objects/contacts")
        assert raised.value.vendor_code == "OBJECT_NOT_FOUND" and raised.value.status == 404
        assert "(HTTP 404, OBJECT_NOT_FOUND)" in str(raised.value)
        post = token_poster(base, meter, "/oauth/v1/token", "LIFESYNC_HUBSPOT_REFRESH_TOKEN")
        with pytest.raises(AuthError) as refused:
            post({"grant_type": "refresh_token"})
        assert refused.value.vendor_message == "missing or unknown refresh token"
