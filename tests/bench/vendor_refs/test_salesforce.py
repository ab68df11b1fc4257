"""The Salesforce checker of bench/vendor_requests.py: simple-salesforce's own methods must send the same request."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, check
from sync.sandbox.recording import RecordedRequest

DATA = "/services/data/v61.0"


def recorded(method: str, path: str, query: dict | None = None, body=None) -> RecordedRequest:
    raw = b"" if body is None else json.dumps(body).encode()
    return RecordedRequest("salesforce", method, path, urlencode(query or {}), "application/json", raw, 200)


@pytest.mark.parametrize(("request_", "method"), [
    (recorded("GET", f"{DATA}/queryAll", {"q": "SELECT Id FROM Lead"}), "query"),
    (recorded("GET", f"{DATA}/query/", {"q": "SELECT Id, Email FROM Contact WHERE Email != null"}), "query"),
    (recorded("GET", f"{DATA}/queryAll/01gD0000002HU6KIAW-2000"), "query_more"),
    (recorded("GET", f"{DATA}/sobjects/Lead/describe"), "describe"),
    (recorded("GET", f"{DATA}/limits"), "limits"),
    (recorded("POST", f"{DATA}/sobjects/Lead", body={"LastName": "Lee", "Company": "Acme"}), "create"),
    (recorded("PATCH", f"{DATA}/sobjects/Lead/Lifesync_Id__c/42", body={"LastName": "Lee"}), "upsert"),
    (recorded("PATCH", f"{DATA}/sobjects/Contact/0035g0000000001AAA", body={"Phone": "+15125550100"}), "update"),
])
def test_requests_simple_salesforce_sends_the_same_way_are_accepted(request_, method):
    verdict = check(request_)
    assert (verdict.vendor, verdict.outcome, verdict.reasons) == ("Salesforce", ACCEPTED, ())
    assert verdict.reference.startswith("simple-salesforce ") and verdict.reference.endswith(f" {method}")


@pytest.mark.parametrize(("request_", "reason"), [
    (recorded("GET", f"{DATA}/queryAll", {"q": "SELECT Id FROM Lead", "batchSize": "200"}),
     "simple-salesforce has no method that sends this request"),
    (recorded("POST", f"{DATA}/query", {"q": "SELECT Id FROM Lead"}),
     "simple-salesforce has no method that sends this request"),
    (recorded("GET", f"{DATA}/sobjects/Lead/describe/layouts"),
     "simple-salesforce has no method that sends this request"),
    (recorded("GET", "/services/data/query", {"q": "SELECT Id FROM Lead"}), "not a /services/data/vNN.N/ request"),
])
def test_requests_simple_salesforce_cannot_express_are_refused(request_, reason):
    verdict = check(request_)
    assert verdict.outcome == REFUSED and verdict.reasons == (reason,)


def test_collections_and_the_refresh_grant_have_no_reference_and_say_so():
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Lifesync_Id__c": "3"}]}
    collections = check(recorded("PATCH", f"{DATA}/composite/sobjects/Lead/Lifesync_Id__c", body=body))
    assert (collections.outcome, collections.items) == (UNCHECKED, 1)
    assert collections.endpoint == "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{external_id_field}"
    assert "no method for them" in collections.reasons[0]
    token = check(RecordedRequest("salesforce", "POST", "/services/oauth2/token", "",
                                  "application/x-www-form-urlencoded", b"grant_type=refresh_token", 200))
    assert token.outcome == UNCHECKED and "never with a refresh token" in token.reasons[0]
