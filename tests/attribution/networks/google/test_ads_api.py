"""Google's ads_api transport: exact click conversions, click ids, consent, batching, partial failure, errors."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses

from sync.attribution.destination import BuiltEvent, DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import sender_for
from sync.attribution.networks.google import ads_api
from sync.errors import ValidationError

NOW = datetime(2025, 3, 12, 12, 0, 0, tzinfo=UTC)
URL = "https://googleads.googleapis.com/v18/customers/1234567890:uploadClickConversions"
ACCESS = "ya29.oauth-access-token-xyz"
DEV = "dev-token-abcdef"
ACTION = "customers/1234567890/conversionActions/555"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dest(**overrides) -> DestinationConfig:
    values = dict(name="google", network="google", transport="ads_api", base_url="https://googleads.googleapis.com",
                  api_version="v18",
                  credentials={"developer_token": DEV, "access_token": ACCESS}, account_id="123-456-7890",
                  event_names={}, conversion_actions={"lead": "555", "purchase": "customers/1234567890/"
                                                                                  "conversionActions/777"})
    values.update(overrides)
    return DestinationConfig(**values)


def contact(**overrides) -> ContactFacts:
    values = dict(contact_id=42, emails=("John.Q.Smith@gmail.com",), phones=("20 7123 4567",), country="44")
    values.update(overrides)
    return ContactFacts(**values)


def conversion(**overrides) -> ConversionFacts:
    values = dict(event_id="ev-1", kind="lead", occurred_at=datetime(2025, 3, 11, 19, 3, 56, 616960, tzinfo=UTC))
    values.update(overrides)
    return ConversionFacts(**values)


def touch(at, **click_ids) -> TouchpointFacts:
    return TouchpointFacts("web", "google", at, click_ids=click_ids)


DAY = datetime(2025, 3, 10, tzinfo=UTC)


def test_click_conversion_is_exact():
    built = ads_api.build(conversion(kind="purchase", value=120.0, currency="eur", order_id="o-7"),
                             contact(consent={"ad_user_data": True, "ad_personalization": False}),
                             [touch(DAY, gclid="Cj0KCQ", gbraid="gb-1")], dest(), now=NOW)
    assert built.key == "ev-1"
    assert built.payload == {
        "gclid": "Cj0KCQ",
        "conversionAction": "customers/1234567890/conversionActions/777",
        "conversionDateTime": "2025-03-11 19:03:56+00:00",  # published vector 2025-03-11T19:03:56.616960388Z
        "conversionValue": 120.0, "currencyCode": "EUR", "orderId": "o-7",
        "consent": {"adUserData": "GRANTED", "adPersonalization": "DENIED"},
        "userIdentifiers": [{"hashedEmail": sha("johnqsmith@gmail.com")},  # every dot removed for gmail
                            {"hashedPhoneNumber": sha("+442071234567")}],  # formatToE164('20 7123 4567', '44')
    }


@pytest.mark.parametrize(("touches", "expected"), [
    ([touch(DAY, gclid="g", gbraid="b", wbraid="w")], {"gclid": "g"}),
    ([touch(DAY, gbraid="b", wbraid="w")], {"gbraid": "b"}),
    ([touch(DAY, wbraid="w")], {"wbraid": "w"}),
    ([touch(DAY - timedelta(days=5), gclid="old"), touch(DAY, gbraid="new")], {"gbraid": "new"}),  # last click
    ([touch(DAY, gclid="g"), touch(DAY + timedelta(days=2), gclid="after")], {"gclid": "g"}),  # after conversion
    ([TouchpointFacts("whatsapp", "meta", DAY, click_ids={"ctwa_clid": "c"})], {}),
])
def test_click_id_preference(touches, expected):
    built = ads_api.build(conversion(), contact(), touches, dest(), now=NOW)
    assert {k: built.payload[k] for k in ("gclid", "gbraid", "wbraid") if k in built.payload} == expected


def test_conversion_time_is_utc_and_order_id_defaults_to_event_id():
    local = datetime(2025, 3, 11, 21, 3, 56, tzinfo=timezone(timedelta(hours=2)))
    built = ads_api.build(conversion(occurred_at=local), contact(), [touch(DAY, gclid="g")], dest(), now=NOW)
    assert built.payload["conversionDateTime"] == "2025-03-11 19:03:56+00:00"
    assert built.payload["orderId"] == "ev-1"
    assert built.payload["conversionAction"] == ACTION
    assert "consent" not in built.payload  # unknown consent is left out


def test_at_most_five_identifiers_and_none_when_ad_user_data_denied():
    many = contact(emails=tuple(f"p{i}@example.com" for i in range(4)), phones=("+14155550100", "+14155550101"))
    built = ads_api.build(conversion(), many, [], dest(), now=NOW)
    assert len(built.payload["userIdentifiers"]) == 5
    denied = ads_api.build(conversion(), contact(consent={"ad_user_data": False}), [touch(DAY, gclid="g")],
                              dest(), now=NOW)
    assert "userIdentifiers" not in denied.payload and denied.payload["consent"] == {"adUserData": "DENIED"}


@pytest.mark.parametrize(("facts", "person", "touches", "says"), [
    (conversion(), contact(emails=(), phones=()), [], "no click id"),
    (conversion(), contact(consent={"ad_user_data": False}), [], "no click id"),
    (conversion(kind="booking"), contact(), [], r"conversion_actions\['booking'\]"),
    (conversion(kind="purchase"), contact(), [], "purchase needs value and currency"),
    (conversion(occurred_at=NOW + timedelta(hours=1)), contact(), [], "in the future"),
])
def test_conversions_google_would_refuse_are_refused_locally(facts, person, touches, says):
    with pytest.raises(ValidationError, match=says):
        ads_api.build(facts, person, touches, dest(), now=NOW)


# -- sending --------------------------------------------------------------------------------------------------

@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def events(n: int) -> list[BuiltEvent]:
    return [BuiltEvent(f"ev-{i}", {"gclid": f"g{i}", "conversionAction": ACTION,
                                   "conversionDateTime": "2025-03-11 19:03:56+00:00", "orderId": f"ev-{i}"})
            for i in range(n)]


def body_of(call) -> dict:
    return json.loads(call.request.body)


def sender(config=None, sleeps=None):
    return ads_api.Sender(config or dest(), sleep=(sleeps.append if sleeps is not None else lambda _s: None),
                             clock=lambda: NOW)


def failure(index: int, code: str, message: str) -> dict:
    return {"errorCode": {"conversionUploadError": code}, "message": message,
            "location": {"fieldPathElements": [{"fieldName": "conversions", "index": index},
                                               {"fieldName": "gclid"}]}}


def partial(*errors) -> dict:
    return {"partialFailureError": {"code": 3, "message": "partial", "details": [
        {"@type": "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure", "errors": list(errors)}]},
        "results": []}


def test_sender_for_builds_the_google_sender():
    built = sender_for(dest())
    assert isinstance(built, ads_api.Sender) and built.max_batch == 2000


def test_batches_to_the_maximum_with_headers_and_partial_failure(mock):
    headers = {"developer-token": DEV, "Authorization": f"Bearer {ACCESS}", "login-customer-id": "9876543210"}
    mock.add(responses.POST, URL, json={"results": []}, match=[responses.matchers.header_matcher(headers)])
    config = dest(credentials={"developer_token": DEV, "access_token": ACCESS, "login_customer_id": "987-654-3210"})
    results = sender(config).send(events(4001))
    assert [len(body_of(c)["conversions"]) for c in mock.calls] == [2000, 2000, 1]
    assert body_of(mock.calls[0])["partialFailure"] is True and body_of(mock.calls[0])["validateOnly"] is False
    assert all(r.status == "sent" for r in results)


def test_validate_only_dry_run(mock):
    mock.add(responses.POST, URL, json={})
    results = sender(dest(validate_only=True)).send(events(2))
    assert body_of(mock.calls[0])["validateOnly"] is True
    assert [r.response for r in results] == [{"validate_only": True}] * 2


def test_partial_failure_maps_errors_to_their_conversions(mock):
    mock.add(responses.POST, URL, json=partial(failure(1, "INVALID_CONVERSION_ACTION", "The action is invalid."),
                                               failure(3, "CLICK_CONVERSION_ALREADY_EXISTS", "Already uploaded."),
                                               failure(4, "ORDER_ID_ALREADY_IN_USE", "Order id recorded.")))
    results = sender().send(events(5))
    assert [r.status for r in results] == ["sent", "failed", "sent", "sent", "sent"]
    assert results[1].error == ("Google Ads API rejected the conversion: The action is invalid. "
                                "(conversionUploadError: INVALID_CONVERSION_ACTION)")
    assert results[3].response == results[4].response == {"duplicate": True}


def test_refused_request_naming_conversions_fails_them_and_resends_the_rest(mock):
    refused = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Request contains an invalid argument.",
                         "details": partial(failure(2, "INVALID_FORMAT", "Bad date."))["partialFailureError"]
                         ["details"]}}
    mock.add(responses.POST, URL, status=400, json=refused)
    mock.add(responses.POST, URL, json={"results": []})
    results = sender().send(events(4))
    assert [r.status for r in results] == ["sent", "sent", "failed", "sent"]
    assert "Bad date. (conversionUploadError: INVALID_FORMAT)" in results[2].error
    assert [c["orderId"] for c in body_of(mock.calls[1])["conversions"]] == ["ev-0", "ev-1", "ev-3"]


@pytest.mark.parametrize(("status", "body", "result", "attempts", "says"), [
    (401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid authentication."}},
     "failed", 1, "credentials were rejected"),
    (403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied", "details": [
        {"errors": [{"errorCode": {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"}, "message": "nope"}]}]}},
     "failed", 1, "may not upload to this customer"),
    (429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"errors": [{"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"}, "message": "Too many requests."}]}]}},
     "retry", 5, "quota exhausted"),
    (500, {"error": {"code": 500, "status": "INTERNAL", "message": "Internal error encountered."}},
     "retry", 5, "HTTP 500"),
    (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid customer."}},
     "failed", 1, "Invalid customer."),
    (501, {"error": {"code": 501, "status": "UNIMPLEMENTED", "message": "GRPC target method can't be resolved."}},
     "failed", 1, "sunset or does not exist (LIFESYNC_GOOGLE_ADS_API_VERSION)"),
])
def test_error_classification(mock, status, body, result, attempts, says):
    mock.add(responses.POST, URL, status=status, json=body)
    sleeps: list[float] = []
    results = sender(sleeps=sleeps).send(events(3))
    assert len(mock.calls) == attempts and len(sleeps) == attempts - 1
    assert {r.status for r in results} == {result}
    assert says in results[0].error


def test_events_invalid_at_send_time_are_not_sent(mock):
    mock.add(responses.POST, URL, json={"results": []})
    batch = [*events(2), BuiltEvent("bad", {"conversionAction": "555", "conversionDateTime": "yesterday"})]
    results = sender().send(batch)
    assert results[2].status == "failed" and results[2].error.startswith("not sent: no click id")
    assert len(body_of(mock.calls[0])["conversions"]) == 2


def test_no_tokens_in_logs(mock, caplog):
    caplog.set_level(logging.DEBUG)
    mock.add(responses.POST, URL, status=401, json={"error": {"code": 401, "message": f"bad token {ACCESS}"}})
    results = sender().send(events(1))
    text = caplog.text + (results[0].error or "")
    assert ACCESS not in text and DEV not in text
