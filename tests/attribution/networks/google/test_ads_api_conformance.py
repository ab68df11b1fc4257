"""Google Ads API transport against Google's own client library, ``google-ads`` (its v26 messages).

Every body the ``ads_api`` transport sends — ``uploadClickConversions`` and
``uploadConversionAdjustments`` (retractions and restatements) — parses into the v26 request
message with unknown fields refused, and what the Google sandbox answers parses into the v26
response message. A field lifesync invented, misspelt or shaped wrongly fails here, whatever our
own sandbox accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.ads.googleads.v26.services.types.conversion_adjustment_upload_service import (
    UploadConversionAdjustmentsRequest,
    UploadConversionAdjustmentsResponse,
)
from google.ads.googleads.v26.services.types.conversion_upload_service import (
    UploadClickConversionsRequest,
    UploadClickConversionsResponse,
)
from google.protobuf import json_format

from sync.attribution.destination import DestinationConfig
from sync.attribution.facts import AdjustmentFacts, ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks.google import adjustments, ads_api
from sync.sandbox.ads.google_ads import GoogleAdsSandbox, create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SOLD = NOW - timedelta(days=3)
DEST = DestinationConfig(
    name="google", network="google", transport="ads_api", base_url="https://googleads.googleapis.com",
    api_version="v26", credentials={"developer_token": GoogleAdsSandbox.DEVELOPER_TOKEN,
                                    "access_token": GoogleAdsSandbox.ACCESS_TOKEN},
    account_id=GoogleAdsSandbox.CUSTOMER_ID, conversion_actions=dict(GoogleAdsSandbox.CONVERSION_ACTIONS))
CLICK = TouchpointFacts(channel="search", network="google", occurred_at=SOLD - timedelta(hours=2),
                        click_ids={"gclid": "Cj0KCQiA-sandbox-1"})
CONTACTS = [
    ContactFacts(contact_id=1, emails=("Ana.Maria+ads@gmail.com",), phones=("+34 600 111 222",),
                 consent={"ad_user_data": True, "ad_personalization": False}),
    ContactFacts(contact_id=2, emails=("bo@example.com", "bo.work@example.com"), phones=()),
    ContactFacts(contact_id=3, consent={"ad_user_data": False}),  # denied: no identifiers, the click id only
]
SALES = [
    ConversionFacts(event_id="ev-1", kind="purchase", occurred_at=SOLD, value=120.5, currency="eur", order_id="A-1"),
    ConversionFacts(event_id="ev-2", kind="lead", occurred_at=SOLD),
    ConversionFacts(event_id="ev-3", kind="booking", occurred_at=SOLD, value=40.0, currency="AED"),
]


def parses(message: type, body: dict) -> None:
    """``body`` parses into ``message`` (a proto-plus type) with unknown fields refused."""
    json_format.ParseDict(body, message.pb()(), ignore_unknown_fields=False)


def click_request() -> dict:
    conversions = [ads_api.build(sale, contact, [CLICK], DEST, now=NOW).payload
                   for sale, contact in zip(SALES, CONTACTS, strict=True)]
    return {"conversions": conversions, "partialFailure": True, "validateOnly": False}


def adjustment_request() -> dict:
    restate = AdjustmentFacts(key="adj-1", action="restate", at=SOLD + timedelta(days=1), value=60.0, currency="EUR")
    retract = AdjustmentFacts(key="adj-2", action="retract", at=SOLD + timedelta(days=1))
    built = [adjustments.ads_adjustment(restate, SALES[0], CONTACTS[0], [CLICK], DEST, action=ads_api.conversion_action,
                                        now=NOW).payload,
             adjustments.ads_adjustment(retract, SALES[2], CONTACTS[2], [CLICK], DEST, action=ads_api.conversion_action,
                                        now=NOW).payload]
    return {"conversionAdjustments": built, "partialFailure": True}


def test_every_click_conversion_lifesync_builds_is_a_v26_upload_click_conversions_request():
    body = click_request()
    parses(UploadClickConversionsRequest, body)
    assert [c.get("gclid") for c in body["conversions"]] == ["Cj0KCQiA-sandbox-1"] * 3
    assert "userIdentifiers" not in body["conversions"][2]  # ad_user_data denied


def test_a_field_google_does_not_have_is_refused_by_googles_messages():
    body = click_request()
    body["conversions"][0]["conversionValueMicros"] = 1  # not a ClickConversion field
    with pytest.raises(json_format.ParseError, match="conversionValueMicros"):
        parses(UploadClickConversionsRequest, body)


def test_every_retraction_and_restatement_is_a_v26_upload_conversion_adjustments_request():
    body = adjustment_request()
    parses(UploadConversionAdjustmentsRequest, body)
    assert [a["adjustmentType"] for a in body["conversionAdjustments"]] == ["RESTATEMENT", "RETRACTION"]


def test_the_sandboxs_answers_parse_as_googles_v26_responses():
    sandbox = GoogleAdsSandbox(clock=lambda: NOW.timestamp())
    client = create_app(sandbox).test_client()
    headers = {"developer-token": GoogleAdsSandbox.DEVELOPER_TOKEN,
               "Authorization": f"Bearer {GoogleAdsSandbox.ACCESS_TOKEN}"}
    base = f"/v26/customers/{GoogleAdsSandbox.CUSTOMER_ID}"
    uploaded = client.post(f"{base}:uploadClickConversions", headers=headers, json=click_request())
    assert uploaded.status_code == 200 and "partialFailureError" not in uploaded.json, uploaded.json
    assert len(uploaded.json["results"]) == 3
    parses(UploadClickConversionsResponse, uploaded.json)
    adjusted = client.post(f"{base}:uploadConversionAdjustments", headers=headers, json=adjustment_request())
    assert adjusted.status_code == 200 and "partialFailureError" not in adjusted.json, adjusted.json
    assert [r["adjustmentType"] for r in adjusted.json["results"]] == ["RESTATEMENT", "RETRACTION"]
    parses(UploadConversionAdjustmentsResponse, adjusted.json)
