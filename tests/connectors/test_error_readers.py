"""Every connector's error reader on its vendor's recorded refusals: the code, and the message on one short line."""

from __future__ import annotations

import pytest
from support.social_payloads import fixture as recorded

from sync.connectors.hubspot.errors import read_error as hubspot
from sync.connectors.salesforce.errors import read_error as salesforce
from sync.http.errors import MAX_MESSAGE

READERS = {  # the reader, and a URL of the vendor's it reads answers from
    "hubspot": (hubspot, "https://api.hubapi.com/crm/v3/objects/contacts"),
    "salesforce": (salesforce, "https://acme.my.salesforce.com/services/data/v61.0/queryAll"),
}


@pytest.mark.parametrize(("vendor", "status", "fixture", "code", "says"), [
    ("hubspot", 400, "http/hubspot_validation_error.json", "VALIDATION_ERROR", "Property values were not valid"),
    ("hubspot", 401, "http/hubspot_unauthorized.json", "INVALID_AUTHENTICATION",
     "Authentication credentials not found"),
    ("hubspot", 403, "http/hubspot_forbidden.json", "MISSING_SCOPES", "hasn't been granted all required scopes"),
    ("hubspot", 404, "http/hubspot_not_found.json", "OBJECT_NOT_FOUND",
     "Object not found. objectId are usually numeric."),
    ("hubspot", 409, "http/hubspot_conflict.json", "CONFLICT", "Contact already exists. Existing ID: 51"),
    ("hubspot", 429, "http/hubspot_rate_limit.json", "RATE_LIMIT", "You have reached your ten_secondly_rolling limit."),
    ("hubspot", 429, "hubspot_api/rate_limit_429.json", "RATE_LIMIT", "ten_secondly_rolling"),
    ("hubspot", 400, "hubspot_api/search_past_cap_400.json", "VALIDATION_ERROR",
     "There was a problem with the request."),
    ("hubspot", 401, "hubspot_api/unauthorized_401.json", "INVALID_AUTHENTICATION",
     "Authentication credentials not found"),
    ("hubspot", 400, "hubspot_api/oauth_bad_refresh_token_400.json", "", "missing or unknown refresh token"),
    ("salesforce", 400, "http/salesforce_field_error.json", "INVALID_EMAIL_ADDRESS",
     "Email: invalid email address: [email]"),
    ("salesforce", 401, "http/salesforce_invalid_session.json", "INVALID_SESSION_ID", "Session expired or invalid"),
    ("salesforce", 403, "http/salesforce_request_limit.json", "REQUEST_LIMIT_EXCEEDED",
     "TotalRequests Limit exceeded."),
    ("salesforce", 400, "salesforce_api/error_invalid_query_locator.json", "INVALID_QUERY_LOCATOR",
     "invalid query locator"),
    ("salesforce", 401, "salesforce_api/error_invalid_session.json", "INVALID_SESSION_ID",
     "Session expired or invalid"),
    ("salesforce", 400, "salesforce_api/error_malformed_query.json", "MALFORMED_QUERY",
     "SELECT Id FROM Lead WHERE ^ ERROR at Row:1:Column:27 unexpected token:"),  # on one line
    ("salesforce", 403, "salesforce_api/error_request_limit.json", "REQUEST_LIMIT_EXCEEDED",
     "TotalRequests Limit exceeded."),
    ("salesforce", 400, "salesforce_api/token_invalid_grant.json", "",
     "invalid_grant: expired access/refresh token"),
])
def test_recorded_bodies(answered, vendor, status, fixture, code, says):
    found = answered(*READERS[vendor])(status, recorded(fixture))
    assert found.code == code and found.full_code == code
    assert says in found.message and "\n" not in found.message and len(found.message) <= MAX_MESSAGE
