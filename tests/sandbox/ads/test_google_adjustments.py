"""The Google sandbox's uploadConversionAdjustments: Google's refusals, partial failures and adjustment state."""

from __future__ import annotations

import pytest
from support.clock import Clock

from sync.sandbox.ads.google_ads import GoogleAdsSandbox, create_app

NOW = 1_750_000_000  # 2025-06-15: the version asked for is v20, current then (v25 came out in 2026-07)
CID = GoogleAdsSandbox.CUSTOMER_ID
HEADERS = {"developer-token": GoogleAdsSandbox.DEVELOPER_TOKEN, "Authorization": "Bearer sandbox-google-oauth"}
PURCHASE = f"customers/{CID}/conversionActions/111"
ADJUST = f"/v20/customers/{CID}:uploadConversionAdjustments"


@pytest.fixture
def google():
    sandbox = GoogleAdsSandbox(clock=Clock(NOW))
    client = create_app(sandbox).test_client()
    answer = client.post(f"/v20/customers/{CID}:uploadClickConversions", headers=HEADERS, json={
        "partialFailure": True, "conversions": [{"gclid": "Cj0K-1", "conversionAction": PURCHASE, "orderId": "o-1",
                                                  "conversionDateTime": "2025-06-10 10:00:00+00:00",
                                                  "conversionValue": 100.0, "currencyCode": "EUR"}]})
    assert answer.status_code == 200 and "partialFailureError" not in answer.json
    return sandbox, client


def adjustment(**changes) -> dict:
    base = {"conversionAction": PURCHASE, "orderId": "o-1", "adjustmentType": "RESTATEMENT",
            "adjustmentDateTime": "2025-06-12 10:00:00+00:00", "restatementValue": {"adjustedValue": 60.0}}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def post(client, *adjustments, **body):
    return client.post(ADJUST, headers=HEADERS, json={"partialFailure": True,
                                                      "conversionAdjustments": list(adjustments), **body})


def codes(answer) -> list[tuple[str, str]]:
    partial = answer.json.get("partialFailureError")
    if not partial:
        return []
    return [(next(iter(e["errorCode"].values())), ".".join(
        f"{p['fieldName']}" + (f"[{p['index']}]" if "index" in p else "") for p in e["location"]["fieldPathElements"]))
        for d in partial["details"] for e in d["errors"]]


def test_a_restatement_then_a_retraction_change_what_google_holds(google):
    sandbox, client = google
    answer = post(client, adjustment())
    assert answer.status_code == 200 and codes(answer) == []
    assert answer.json["results"][0]["orderId"] == "o-1"
    assert sandbox.adjustment_ledger.value(PURCHASE, "o-1") == 60.0
    answer = post(client, adjustment(adjustmentType="RETRACTION", restatementValue=None,
                                     adjustmentDateTime="2025-06-13 10:00:00+00:00"))
    assert codes(answer) == [] and (PURCHASE, "o-1") in sandbox.adjustment_ledger.retracted
    again = post(client, adjustment(adjustmentDateTime="2025-06-14 10:00:00+00:00"))
    assert codes(again) == [("CONVERSION_ALREADY_RETRACTED", "conversion_adjustments[0]")]


@pytest.mark.parametrize(("change", "expected"), [
    ({"orderId": "never-uploaded"}, ("CONVERSION_NOT_FOUND", "conversion_adjustments[0].order_id")),
    ({"adjustmentDateTime": "2025-06-09 10:00:00+00:00"},
     ("ADJUSTMENT_PRECEDES_CONVERSION", "conversion_adjustments[0].adjustment_date_time")),
    ({"adjustmentType": "RETRACTION"}, ("VALUE_MUST_BE_UNSET", "conversion_adjustments[0].restatement_value")),
    ({"restatementValue": None}, ("REQUIRED", "conversion_adjustments[0].restatement_value")),
    ({"conversionAction": f"customers/{CID}/conversionActions/999"},
     ("NO_CONVERSION_ACTION_FOUND", "conversion_adjustments[0].conversion_action")),
    ({"gclidDateTimePair": {"gclid": "Cj0K-1", "conversionDateTime": "2025-06-10 10:00:00+00:00"}},
     ("GCLID_DATE_TIME_PAIR_AND_ORDER_ID_BOTH_SET", "conversion_adjustments[0].order_id")),
    ({"adjustmentDateTime": "2025-06-12T10:00:00Z"},
     ("INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET", "conversion_adjustments[0].adjustment_date_time")),
])
def test_refused_adjustments_get_googles_code_at_their_index_and_change_nothing(google, change, expected):
    sandbox, client = google
    answer = post(client, adjustment(**change))
    assert answer.status_code == 200 and codes(answer) == [expected]
    assert answer.json["results"] == [{}] and sandbox.adjustment_ledger.adjustments == []


def test_restatement_times_must_move_forward_and_one_conversion_is_adjusted_once_per_request(google):
    _, client = google
    assert codes(post(client, adjustment())) == []
    assert codes(post(client, adjustment(restatementValue={"adjustedValue": 50.0}))) == [
        ("RESTATEMENT_ALREADY_EXISTS", "conversion_adjustments[0].adjustment_date_time")]
    assert codes(post(client, adjustment(adjustmentDateTime="2025-06-11 10:00:00+00:00"))) == [
        ("MORE_RECENT_RESTATEMENT_FOUND", "conversion_adjustments[0].adjustment_date_time")]
    twice = post(client, adjustment(adjustmentDateTime="2025-06-13 10:00:00+00:00"),
                 adjustment(adjustmentDateTime="2025-06-14 10:00:00+00:00"))
    assert codes(twice) == [("DUPLICATE_ADJUSTMENT_IN_REQUEST", "conversion_adjustments[1].order_id")]


def test_request_level_refusals(google):
    sandbox, client = google
    assert post(client, adjustment(), partialFailure=False).json["error"]["details"][0]["errors"][0][
        "errorCode"] == {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}
    unknown = post(client, {**adjustment(), "refundReason": "x"})
    assert unknown.status_code == 400 and 'Unknown name "refundReason"' in unknown.json["error"]["message"]
    enum = post(client, adjustment(adjustmentType="REFUND"))
    assert enum.status_code == 400 and "ConversionAdjustmentType" in enum.json["error"]["message"]
    assert post(client).json["error"]["details"][0]["errors"][0]["errorCode"] == {
        "conversionAdjustmentUploadError": "TOO_MANY_ADJUSTMENTS_IN_REQUEST"}
    validate_only = post(client, adjustment(), validateOnly=True)
    assert codes(validate_only) == [] and "results" not in validate_only.json
    assert sandbox.adjustment_ledger.adjustments == []
