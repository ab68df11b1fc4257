"""The Google checker of bench/vendor_requests.py: bodies must parse into Google's own request protos."""

from __future__ import annotations

import copy
import json

import pytest
from google.ads.datamanager_v1 import IngestEventsRequest

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, check
from bench.vendor_refs.google import ads_versions
from sync.sandbox.recording import RecordedRequest

HASH = "a" * 64
INGEST = {
    "destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
                      "productDestinationId": "555"}],
    "events": [{"adIdentifiers": {"gclid": "Cj0KCQiA"}, "eventTimestamp": "2026-12-01T10:00:00Z",
                "transactionId": "o-1", "conversionValue": 12.5, "currency": "EUR", "eventSource": "WEB",
                "userData": {"userIdentifiers": [{"emailAddress": HASH}]},
                "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}}],
    "encoding": "HEX", "validateOnly": True}
UPLOAD = {"conversions": [{"gclid": "Cj0KCQiA", "conversionAction": "customers/1234567890/conversionActions/555",
                           "conversionDateTime": "2026-12-01 10:00:00+00:00", "conversionValue": 12.5,
                           "currencyCode": "EUR", "orderId": "o-1",
                           "userIdentifiers": [{"hashedEmail": HASH}],
                           "consent": {"adUserData": "GRANTED"}}],
          "partialFailure": True, "validateOnly": False}


def recorded(path: str, body, sandbox: str = "google", method: str = "POST") -> RecordedRequest:
    return RecordedRequest(sandbox, method, path, "", "application/json", json.dumps(body).encode(), 200)


def edited(body: dict, edit) -> dict:
    copy_ = copy.deepcopy(body)
    edit(copy_)
    return copy_


def test_a_data_manager_ingest_google_would_parse_is_accepted_on_either_mount():
    for sandbox in ("google", "datamanager"):
        verdict = check(recorded("/v1/events:ingest", INGEST, sandbox))
        assert (verdict.vendor, verdict.endpoint, verdict.outcome, verdict.items) == \
            ("Google", "POST /v1/events:ingest", ACCEPTED, 1)
    # the same body really is an IngestEventsRequest: proto-plus reads it too
    assert IngestEventsRequest.from_json(json.dumps(INGEST)).events[0].ad_identifiers.gclid == "Cj0KCQiA"


@pytest.mark.parametrize(("body", "reason"), [
    (edited(INGEST, lambda b: b["events"][0].update(gclid="x")), 'has no field named "gclid"'),
    (edited(INGEST, lambda b: b.update(encoding="BASE32")), "Invalid enum value BASE32"),
    (edited(INGEST, lambda b: b["events"][0]["userData"]["userIdentifiers"][0].update(phoneNumber=HASH)),
     'should not have multiple "identifier" oneof fields'),
    (edited(INGEST, lambda b: b["events"][0].update(conversionValue="12,5")), "conversionValue"),
])
def test_a_data_manager_ingest_the_protos_refuse_is_refused_with_protobufs_message(body, reason):
    verdict = check(recorded("/v1/events:ingest", body))
    assert verdict.outcome == REFUSED and reason in verdict.reasons[0], verdict.reasons


def test_an_ads_upload_at_a_shipped_version_is_checked_at_that_version():
    newest = ads_versions()[-1]
    path = f"/{newest}/customers/1234567890:uploadClickConversions"
    good = check(recorded(path, UPLOAD))
    assert (good.outcome, good.items, good.endpoint) == \
        (ACCEPTED, 1, "POST /{version}/customers/{customerId}:uploadClickConversions")
    assert newest in good.reference
    bad = check(recorded(path, edited(UPLOAD, lambda b: b["conversions"][0].update(clickId="x"))))
    assert bad.outcome == REFUSED and 'no field named "clickId"' in bad.reasons[0]


def test_a_version_google_ads_does_not_ship_is_refused_and_the_body_still_judged():
    assert "v18" not in ads_versions()
    verdict = check(recorded("/v18/customers/1234567890:uploadClickConversions", UPLOAD))
    assert verdict.outcome == REFUSED
    assert verdict.reasons[0].startswith("v18: not a version google-ads") and "it parses at" in verdict.reasons[0]
    worse = check(recorded("/v18/customers/1234567890:uploadClickConversions",
                           edited(UPLOAD, lambda b: b.update(partial_failure_mode=True))))
    assert "does not parse at" in worse.reasons[0]


def test_other_google_paths_are_not_checked():
    assert check(recorded("/v1/whatever", {})).outcome == UNCHECKED
