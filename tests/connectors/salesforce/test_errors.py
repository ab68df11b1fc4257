"""Salesforce's error bodies read for the HTTP layer: errorCode of an error array, OAuth's error object."""

from __future__ import annotations

import pytest
from support.social_payloads import fixture as recorded

from sync.connectors.salesforce.errors import read_error
from sync.http import VendorError
from sync.http.errors import MAX_MESSAGE

URL = "https://acme.my.salesforce.com/services/data/v61.0/queryAll"



@pytest.fixture
def answer(answered):
    return answered(read_error, URL)


@pytest.mark.parametrize(("status", "fixture", "code", "says"), [
    (400, "http/salesforce_field_error.json", "INVALID_EMAIL_ADDRESS", "Email: invalid email address: [email]"),
    (401, "http/salesforce_invalid_session.json", "INVALID_SESSION_ID", "Session expired or invalid"),
    (403, "http/salesforce_request_limit.json", "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    (400, "salesforce_api/error_invalid_query_locator.json", "INVALID_QUERY_LOCATOR", "invalid query locator"),
    (401, "salesforce_api/error_invalid_session.json", "INVALID_SESSION_ID", "Session expired or invalid"),
    (400, "salesforce_api/error_malformed_query.json", "MALFORMED_QUERY",
     "SELECT Id FROM Lead WHERE ^ ERROR at Row:1:Column:27 unexpected token:"),  # on one line
    (403, "salesforce_api/error_request_limit.json", "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    (400, "salesforce_api/token_invalid_grant.json", "", "invalid_grant"),
])
def test_recorded_bodies(answer, status, fixture, code, says):
    found = answer(status, recorded(fixture))
    assert found.code == code and found.full_code == code
    assert says in found.message
    assert "\n" not in found.message and len(found.message) <= MAX_MESSAGE


def test_the_first_three_entries_are_quoted_and_the_first_code_counts(answer):
    body = [{"message": f"problem {i}", "errorCode": f"CODE_{i}"} for i in range(1, 5)] + ["stray"]
    assert answer(400, body) == VendorError(code="CODE_1", message="problem 1; problem 2; problem 3")
    assert answer(400, [{"errorCode": "NO_MESSAGE"}, "plain text"]) == VendorError(
        code="NO_MESSAGE", message="{'errorCode': 'NO_MESSAGE'}; plain text")
    assert answer(400, ["not an object"]) == VendorError(code="", message="not an object")
    assert answer(400, []) == VendorError()


@pytest.mark.parametrize(("body", "found"), [
    ({"error": "invalid_grant", "error_description": "authentication failure"}, VendorError(message="invalid_grant")),
    ({"error": "", "error_description": "authentication failure"}, VendorError(message="authentication failure")),
    ({"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"},
     VendorError(code="NOT_FOUND", message="The requested resource does not exist")),
])
def test_objects(answer, body, found):
    assert answer(400, body) == found


def test_a_body_that_is_not_json_is_read_as_text(answer):
    assert answer(503, "Service   Unavailable\n") == VendorError(message="Service Unavailable")
