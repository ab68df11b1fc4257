"""Google's data_manager transport: exact events, destinations per action, batching, fast-fail errors, diagnostics."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses

from sync.attribution.destination import BuiltEvent, DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import sender_for
from sync.attribution.networks.google import data_manager
from sync.errors import ValidationError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
INGEST = "https://datamanager.googleapis.com/v1/events:ingest"
STATUS = "https://datamanager.googleapis.com/v1/requestStatus:retrieve"
ACCESS = "ya29.datamanager-token-xyz"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dest(**overrides) -> DestinationConfig:
    values = dict(name="google", network="google", base_url="https://datamanager.googleapis.com", api_version="v1",
                  credentials={"access_token": ACCESS}, account_id="1234567890",
                  conversion_actions={"lead": "555", "purchase": "customers/1234567890/conversionActions/777"})
    values.update(overrides)
    return DestinationConfig(**values)


def contact(**overrides) -> ContactFacts:
    values = dict(contact_id=42, emails=("John.Q.Smith+crm@gmail.com",), phones=("+442071234567",), country="GB")
    values.update(overrides)
    return ContactFacts(**values)


def conversion(**overrides) -> ConversionFacts:
    values = dict(event_id="ev-1", kind="lead", occurred_at=datetime(2026, 12, 5, 19, 3, 56, 616960, tzinfo=UTC))
    values.update(overrides)
    return ConversionFacts(**values)


DAY = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_event_is_exact():
    built = data_manager.build(conversion(kind="purchase", value=120.0, currency="eur", order_id="o-7"),
                               contact(consent={"ad_user_data": True, "ad_personalization": False}, first_name="Ana",
                                       last_name="Díaz", zip="SW1A 1AA"),
                               [TouchpointFacts("web", "google", DAY, click_ids={"gclid": "Cj0KCQ", "gbraid": "g"})],
                               dest(), now=NOW)
    assert built.key == "ev-1"
    assert built.payload == {
        "destinationReferences": ["777"], "transactionId": "o-7", "eventTimestamp": "2026-12-05T19:03:56Z",
        "eventSource": "OTHER", "adIdentifiers": {"gclid": "Cj0KCQ"},
        "userData": {"userIdentifiers": [
            {"emailAddress": sha("johnqsmith@gmail.com")}, {"phoneNumber": sha("+442071234567")},
            {"address": {"givenName": sha("ana"), "familyName": sha("díaz"), "regionCode": "GB",
                         "postalCode": "SW1A 1AA"}}]},
        "conversionValue": 120.0, "currency": "EUR",
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}}


def test_the_transaction_id_defaults_to_the_event_id_and_denied_user_data_sends_no_identifiers():
    built = data_manager.build(conversion(), contact(consent={"ad_user_data": False}),
                               [TouchpointFacts("web", "google", DAY, click_ids={"wbraid": "w-1"})], dest(), now=NOW)
    assert built.payload["transactionId"] == "ev-1" and "userData" not in built.payload
    assert built.payload["adIdentifiers"] == {"wbraid": "w-1"}
    assert built.payload["consent"] == {"adUserData": "CONSENT_DENIED"}


def test_the_event_builder_is_reusable_for_a_restatement():
    first = data_manager.event(conversion(order_id="o-1", value=10, currency="EUR"), contact(), [], dest())
    again = data_manager.event(conversion(order_id="o-1", value=4, currency="EUR"), contact(), [], dest())
    assert first["transactionId"] == again["transactionId"] == "o-1"
    assert (first["conversionValue"], again["conversionValue"]) == (10, 4)


@pytest.mark.parametrize(("facts", "person", "says"), [
    (conversion(kind="trial"), contact(), "conversion kind 'trial' has no Google conversion action"),
    (conversion(), contact(emails=(), phones=()), r"no click id \(gclid, gbraid or wbraid\) and no user identifier"),
    (conversion(occurred_at=NOW + timedelta(hours=1)), contact(), "eventTimestamp is in the future"),
    (conversion(kind="purchase"), contact(), "a purchase needs value and currency"),
    (conversion(value=-1, currency="EUR"), contact(), "value must be a non-negative number"),
])
def test_events_google_would_refuse_are_refused_locally(facts, person, says):
    with pytest.raises(ValidationError, match=says):
        data_manager.build(facts, person, [], dest(), now=NOW)


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def events(n: int, actions=("555",)) -> list[BuiltEvent]:
    return [BuiltEvent(f"ev-{i}", {"destinationReferences": [actions[i % len(actions)]], "transactionId": f"ev-{i}",
                                   "eventTimestamp": "2026-12-05T10:00:00Z", "eventSource": "OTHER",
                                   "adIdentifiers": {"gclid": f"g{i}"}}) for i in range(n)]


def body_of(call) -> dict:
    return json.loads(call.request.body)


def sender(config=None, sleeps=None):
    return data_manager.Sender(config or dest(), sleep=(sleeps.append if sleeps is not None else lambda _s: None),
                               clock=lambda: NOW)


def test_sender_for_builds_the_data_manager_sender_without_a_developer_token():
    built = sender_for(dest())
    assert isinstance(built, data_manager.Sender) and built.max_batch == 2000


def test_batches_of_2000_with_one_destination_per_action_and_the_request_id_in_each_result(mock):
    headers = {"Authorization": f"Bearer {ACCESS}"}
    mock.add(responses.POST, INGEST, json={"requestId": "req-1"}, match=[responses.matchers.header_matcher(headers)])
    mock.add(responses.POST, INGEST, json={"requestId": "req-2"})
    config = dest(credentials={"access_token": ACCESS, "login_customer_id": "987-654-3210"})
    results = sender(config).send(events(2001, actions=("555", "777")))
    assert [len(body_of(c)["events"]) for c in mock.calls] == [2000, 1]
    first = body_of(mock.calls[0])
    assert first["destinations"] == [
        {"reference": ref, "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
         "productDestinationId": ref, "loginAccount": {"accountType": "GOOGLE_ADS", "accountId": "9876543210"}}
        for ref in ("555", "777")]
    assert (first["encoding"], first["validateOnly"]) == ("HEX", False)
    assert "developer-token" not in mock.calls[0].request.headers
    assert [r.response["request_id"] for r in (results[0], results[1999], results[2000])] == ["req-1", "req-1",
                                                                                              "req-2"]
    assert {r.status for r in results} == {"sent"}
    assert [r.response["product_destination_id"] for r in results[:3]] == ["555", "777", "555"]


def test_more_than_ten_conversion_actions_are_split_into_requests_of_ten(mock):
    mock.add(responses.POST, INGEST, json={"requestId": "a"})
    mock.add(responses.POST, INGEST, json={"requestId": "b"})
    actions = tuple(str(100 + i) for i in range(12))
    results = sender().send(events(24, actions=actions))
    assert [len(body_of(c)["destinations"]) for c in mock.calls] == [10, 2]
    assert {r.response["request_id"] for r in results[:10]} == {"a"} and results[10].response["request_id"] == "b"


def test_validate_only_dry_run(mock):
    mock.add(responses.POST, INGEST, json={})
    results = sender(dest(validate_only=True)).send(events(2))
    assert body_of(mock.calls[0])["validateOnly"] is True
    assert [r.response for r in results] == [{"validate_only": True, "product_destination_id": "555"}] * 2


def bad_request(*violations, reason="INVALID_ARGUMENT") -> dict:
    return {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT",
                      "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                                   "domain": "datamanager.googleapis.com"},
                                  {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                                      {"field": f, "description": d, "reason": r} for f, d, r in violations]}]}}


def test_a_refused_request_fails_the_events_it_names_and_sends_the_rest_again(mock):
    mock.add(responses.POST, INGEST, status=400, json=bad_request(
        ("events[1].currency", "The currency code is not valid.", "INVALID_CURRENCY_CODE"),
        reason="INVALID_CURRENCY_CODE"))
    mock.add(responses.POST, INGEST, json={"requestId": "req-2"})
    results = sender().send(events(3))
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert "The currency code is not valid. (events[1].currency, INVALID_CURRENCY_CODE)" in results[1].error
    assert [e["transactionId"] for e in body_of(mock.calls[1])["events"]] == ["ev-0", "ev-2"]


def test_a_refused_destination_fails_every_event_of_its_conversion_action(mock):
    mock.add(responses.POST, INGEST, status=400, json=bad_request(
        ("destinations[1].product_destination_id", "The conversion action ID is not valid.",
         "INVALID_CONVERSION_ACTION_ID"), reason="INVALID_CONVERSION_ACTION_ID"))
    mock.add(responses.POST, INGEST, json={"requestId": "req-2"})
    results = sender().send(events(4, actions=("555", "777")))
    assert [r.status for r in results] == ["sent", "failed", "sent", "failed"]
    assert "INVALID_CONVERSION_ACTION_ID" in results[1].error
    assert body_of(mock.calls[1])["destinations"][0]["productDestinationId"] == "555"


@pytest.mark.parametrize(("status", "body", "result", "attempts", "says"), [
    (401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid authentication "
                     "credentials.", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                  "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED"}]}},
     "failed", 1, "credentials were rejected"),
    (403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "The caller does not have permission",
                     "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                  "reason": "PERMISSION_DENIED"}]}},
     "failed", 1, "may not send data to this account"),
    (429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RESOURCE_EXHAUSTED"}]}},
     "retry", 5, "quota exhausted"),
    (503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "The service is currently unavailable."}},
     "retry", 5, "HTTP 503"),
])
def test_error_classification(mock, status, body, result, attempts, says):
    mock.add(responses.POST, INGEST, status=status, json=body)
    sleeps: list[float] = []
    results = sender(sleeps=sleeps).send(events(2))
    assert len(mock.calls) == attempts and len(sleeps) == attempts - 1
    assert {r.status for r in results} == {result}
    assert says in results[0].error


def test_the_connection_check_is_one_validate_only_ingest_to_every_action(mock):
    mock.add(responses.POST, INGEST, json={})
    said = data_manager.check(dest())
    body = body_of(mock.calls[0])
    assert body["validateOnly"] is True and [d["productDestinationId"] for d in body["destinations"]] == ["555", "777"]
    assert said == "validateOnly ingest accepted for customer 1234567890, conversion action(s) 555, 777"


def test_diagnose_reads_the_request_status(mock):
    mock.add(responses.GET, STATUS, json={"requestStatusPerDestination": [{"requestStatus": "SUCCESS"}]},
             match=[responses.matchers.query_param_matcher({"requestId": "req-9"})])
    assert data_manager.diagnose(dest(), "req-9") == {"requestStatusPerDestination": [{"requestStatus": "SUCCESS"}]}


def test_no_token_in_logs(mock, caplog):
    caplog.set_level(logging.DEBUG)
    mock.add(responses.POST, INGEST, status=401, json={"error": {"code": 401, "message": f"bad token {ACCESS}",
                                                                 "status": "UNAUTHENTICATED"}})
    results = sender().send(events(1))
    assert ACCESS not in caplog.text + (results[0].error or "")
