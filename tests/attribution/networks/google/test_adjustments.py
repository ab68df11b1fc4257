"""Google's adjustments: the Ads API ConversionAdjustment, the Data Manager restatement, the adjustment sender."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import responses

from sync.attribution.destination import BuiltEvent, DestinationConfig
from sync.attribution.facts import AdjustmentFacts, ContactFacts, ConversionFacts
from sync.attribution.networks import network
from sync.attribution.networks.google import adjustments as google_adjustments
from sync.attribution.networks.google import ads_api as google_ads
from sync.attribution.networks.google import data_manager
from sync.errors import ValidationError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SOLD = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
URL = "https://googleads.googleapis.com/v25/customers/1234567890:uploadConversionAdjustments"
DEST = DestinationConfig(name="google", network="google", base_url="https://googleads.googleapis.com",
                         api_version="v25", credentials={"developer_token": "dev-token-abc",
                                                         "access_token": "ya29.token-xyz"},
                         account_id="123-456-7890", conversion_actions={"purchase": "777"}, transport="ads_api")
CONTACT = ContactFacts(contact_id=1, emails=("ana@example.com",))
SALE = ConversionFacts(event_id="ev-1", kind="purchase", occurred_at=SOLD, value=100.0, currency="EUR",
                       order_id="A-1001")


ADS_ADJUSTMENT = network("google").transport("ads_api").adjust.build  # with Google Ads' conversion action names


def facts(action: str, *, at: datetime = SOLD + timedelta(days=2), value: float | None = 60.0) -> AdjustmentFacts:
    return AdjustmentFacts(key="adj-1", action=action, at=at, value=value, currency="eur")


def test_google_declares_adjustments_and_meta_tiktok_say_they_cannot():
    assert network("google").transport("ads_api").adjust.build.func is google_adjustments.ads_adjustment
    restates = network("google").adjust  # the default transport, Data Manager: restatements only
    assert restates.build.func is google_adjustments.data_manager_restatement
    assert restates.build.keywords["build"] is data_manager.build and restates.retracts is False
    for name in ("meta", "tiktok"):
        assert network(name).adjust is None
        assert network(name).no_adjust.startswith(f"not supported by {network(name).vendor}")


def test_a_restatement_names_the_conversion_by_the_order_id_it_was_uploaded_with():
    event = ADS_ADJUSTMENT(facts("restate"), SALE, CONTACT, [], DEST, now=NOW)
    assert event == BuiltEvent("ev-1", {
        "conversionAction": "customers/1234567890/conversionActions/777", "adjustmentType": "RESTATEMENT",
        "orderId": "A-1001", "adjustmentDateTime": "2026-12-03 09:30:00+00:00",
        "restatementValue": {"adjustedValue": 60.0, "currencyCode": "EUR"}})
    no_order = replace(SALE, order_id=None)  # uploaded with its event id as the order id
    assert ADS_ADJUSTMENT(facts("restate"), no_order, CONTACT, [], DEST, now=NOW).payload[
        "orderId"] == "ev-1"


def test_a_retraction_has_no_value_and_its_time_is_after_the_conversion_and_not_in_the_future():
    same_instant = ADS_ADJUSTMENT(facts("retract", at=SOLD), SALE, CONTACT, [], DEST, now=NOW)
    assert same_instant.payload["adjustmentType"] == "RETRACTION" and "restatementValue" not in same_instant.payload
    assert same_instant.payload["adjustmentDateTime"] == "2026-12-01 09:30:01+00:00"
    future = ADS_ADJUSTMENT(facts("retract", at=NOW + timedelta(days=1)), SALE, CONTACT, [],
                                               DEST, now=NOW)
    assert future.payload["adjustmentDateTime"] == "2026-12-06 12:00:00+00:00"
    assert google_adjustments.validate(same_instant.payload) is None
    assert google_adjustments.validate({**same_instant.payload, "restatementValue": {"adjustedValue": 1}}) == \
        "restatementValue must not be set on a RETRACTION"


def dm_build(conversion, contact, touchpoints, dest, *, now=None, cache=None) -> BuiltEvent:
    """A Data Manager ``Event`` as the transport's own builder shapes one (transactionId: order id, else event id)."""
    return BuiltEvent(conversion.event_id, {"transactionId": conversion.order_id or conversion.event_id,
                                            "conversionValue": conversion.value, "currency": conversion.currency,
                                            "eventTimestamp": conversion.occurred_at.isoformat()})


def test_data_manager_restates_by_sending_the_event_again_with_its_transaction_id_and_the_new_value():
    event = google_adjustments.data_manager_restatement(facts("restate"), SALE, CONTACT, [], DEST, build=dm_build)
    assert event.payload == {"transactionId": "A-1001", "conversionValue": 60.0, "currency": "eur",
                             "eventTimestamp": SOLD.isoformat()}


def test_data_manager_has_no_retraction_and_a_restatement_must_keep_the_transaction_id():
    with pytest.raises(ValidationError, match="not supported by the Data Manager API"):
        google_adjustments.data_manager_restatement(facts("retract"), SALE, CONTACT, [], DEST, build=dm_build)

    def other_id(conversion, *args, **kwargs):
        return BuiltEvent(conversion.event_id, {"transactionId": "something-else"})

    with pytest.raises(ValidationError, match="must carry transactionId 'A-1001'"):
        google_adjustments.data_manager_restatement(facts("restate"), SALE, CONTACT, [], DEST, build=other_id)


@responses.activate
def test_the_sender_maps_partial_failures_to_their_adjustments_and_counts_already_done_as_sent():
    failure = {"code": 3, "message": "x", "details": [{"@type": "type.googleapis.com/google.ads.googleads.v25.errors."
                                                                 "GoogleAdsFailure", "errors": [
        {"errorCode": {"conversionAdjustmentUploadError": "CONVERSION_NOT_FOUND"}, "message": "not found",
         "location": {"fieldPathElements": [{"fieldName": "conversion_adjustments", "index": 1}]}},
        {"errorCode": {"conversionAdjustmentUploadError": "CONVERSION_ALREADY_RETRACTED"}, "message": "already",
         "location": {"fieldPathElements": [{"fieldName": "conversion_adjustments", "index": 2}]}}]}]}
    responses.post(URL, json={"partialFailureError": failure, "results": [{}, {}, {}]})
    sender = google_ads.NETWORK.adjust.sender(DEST, None, sleep=lambda _s: None)
    sales = [replace(SALE, event_id=f"ev-{n}", order_id=f"A-{n}") for n in range(3)]
    events = [ADS_ADJUSTMENT(facts("retract"), sale, CONTACT, [], DEST, now=NOW) for sale in sales]
    results = sender.send(events)
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert "CONVERSION_NOT_FOUND" in results[1].error and results[2].response == {"duplicate": True}
    body = json.loads(responses.calls[0].request.body)
    assert body["partialFailure"] is True and len(body["conversionAdjustments"]) == 3
    assert responses.calls[0].request.headers["developer-token"] == "dev-token-abc"
