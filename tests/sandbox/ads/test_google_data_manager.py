"""The Data Manager sandbox: auth, fast-fail validation in Google's words, limits, validateOnly, request status."""

from __future__ import annotations

import hashlib

import pytest
from support.clock import Clock

from sync.sandbox.ads.google_ads import GoogleAdsSandbox, create_app
from sync.sandbox.faults import Faults

NOW = 1_796_558_400  # 2026-12-06T12:00:00Z
CID = GoogleAdsSandbox.CUSTOMER_ID
HEADERS = {"Authorization": f"Bearer {GoogleAdsSandbox.ACCESS_TOKEN}"}
EMAIL = hashlib.sha256(b"ana@example.com").hexdigest()
DAY = 86_400


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def sandbox(clock: Clock) -> GoogleAdsSandbox:
    return GoogleAdsSandbox(clock=clock)


@pytest.fixture
def client(sandbox: GoogleAdsSandbox):
    return create_app(sandbox).test_client()


def destination(action: str = "111", **changes) -> dict:
    base = {"reference": action, "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": CID},
            "productDestinationId": action}
    base.update(changes)
    return base


def event(n: int = 1, **changes) -> dict:
    base = {"destinationReferences": ["111"], "transactionId": f"order-{n}", "eventTimestamp": "2026-12-05T10:00:00Z",
            "eventSource": "OTHER", "adIdentifiers": {"gclid": f"Cj0KCQ-{n}"}, "conversionValue": 10.5,
            "currency": "EUR", "userData": {"userIdentifiers": [{"emailAddress": EMAIL}]}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def ingest(client, events, *, destinations=None, headers=HEADERS, **body):
    body.setdefault("encoding", "HEX")
    return client.post("/v1/events:ingest", json={"destinations": destinations or [destination()], "events": events,
                                                  **body}, headers=headers)


def detail(answer, kind: str) -> dict:
    return next(d for d in answer.json["error"]["details"] if d["@type"].endswith(kind))


def test_valid_events_are_recorded_and_the_request_id_answers_with_its_status(client, sandbox):
    answer = ingest(client, [event(1), event(2)])
    assert answer.status_code == 200 and answer.json == {"requestId": "dm-sandbox-00000001"}
    assert [e["transactionId"] for e in sandbox.accepted] == ["order-1", "order-2"]
    assert sandbox.accepted[0]["productDestinationId"] == "111" and sandbox.accepted[0]["request"] == 1
    status = client.get("/v1/requestStatus:retrieve?requestId=dm-sandbox-00000001", headers=HEADERS)
    assert status.json == {"requestStatusPerDestination": [
        {"destination": destination(), "requestStatus": "SUCCESS", "eventsIngestionStatus": {"recordCount": "2"}}]}


def test_one_request_carries_every_conversion_action_by_reference(client, sandbox):
    answer = ingest(client, [event(1), event(2, destinationReferences=["222"])],
                    destinations=[destination("111"), destination("222")])
    assert answer.status_code == 200
    assert [e["productDestinationId"] for e in sandbox.accepted] == ["111", "222"]


@pytest.mark.parametrize(("headers", "status", "reason", "says"), [
    ({}, 401, "CREDENTIALS_MISSING", "Request is missing required authentication credential."),
    ({"Authorization": "Bearer nope"}, 401, "ACCESS_TOKEN_TYPE_UNSUPPORTED",
     "Request had invalid authentication credentials."),
])
def test_auth_is_refused_in_googles_words(client, sandbox, headers, status, reason, says):
    answer = ingest(client, [event()], headers=headers)
    assert answer.status_code == status and answer.json["error"]["status"] == "UNAUTHENTICATED"
    assert answer.json["error"]["message"].startswith(says) and detail(answer, "ErrorInfo")["reason"] == reason
    assert sandbox.accepted == [] and sandbox.rejected_batches == 1


@pytest.mark.parametrize(("destinations", "status"), [
    ([destination(operatingAccount={"accountType": "GOOGLE_ADS", "accountId": "555"})], 403),
    ([destination(loginAccount={"accountType": "GOOGLE_ADS", "accountId": "1"})], 403),
])
def test_accounts_that_are_not_ours_are_permission_denied(client, destinations, status):
    answer = ingest(client, [event()], destinations=destinations)
    assert answer.status_code == status and answer.json["error"]["status"] == "PERMISSION_DENIED"


def test_the_manager_may_log_in(client, sandbox):
    login = {"accountType": "GOOGLE_ADS", "accountId": GoogleAdsSandbox.MANAGER_ID}
    assert ingest(client, [event()], destinations=[destination(loginAccount=login)]).status_code == 200


@pytest.mark.parametrize(("events", "destinations", "body", "reason", "field"), [
    ([event()] * 2001, None, {}, "TOO_MANY_EVENTS", "events"),
    ([], None, {}, "REQUIRED_FIELD_MISSING", "events"),
    ([event()], [destination(str(100 + i)) for i in range(11)], {}, "TOO_MANY_DESTINATIONS", "destinations"),
    ([event()], [destination("999")], {}, "INVALID_CONVERSION_ACTION_ID", "destinations[0].product_destination_id"),
    ([event()], [destination(), destination()], {}, "DUPLICATE_DESTINATION_REFERENCE", "destinations[1].reference"),
    ([event(), event(2, eventTimestamp="yesterday")], None, {}, "EVENT_TIME_INVALID", "events[1].event_timestamp"),
    ([event(eventTimestamp="2026-12-07T10:00:00Z")], None, {}, "EVENT_TIME_INVALID", "events[0].event_timestamp"),
    ([event(adIdentifiers=None, userData=None)], None, {}, "NO_IDENTIFIERS_PROVIDED", "events[0]"),
    ([event(userData={"userIdentifiers": [{"emailAddress": EMAIL}] * 11})], None, {}, "TOO_MANY_USER_IDENTIFIERS",
     "events[0].user_data.user_identifiers"),
    ([event(userData={"userIdentifiers": [{"emailAddress": "ana@example.com"}]})], None, {}, "INVALID_HEX_ENCODING",
     "events[0].user_data.user_identifiers[0].emailAddress"),
    ([event(userData={"userIdentifiers": [{"emailAddress": EMAIL[:62]}]})], None, {}, "INVALID_SHA256_FORMAT",
     "events[0].user_data.user_identifiers[0].emailAddress"),
    ([event(userData={"userIdentifiers": [{"emailAddress": "ana@example"}]})], None, {"encoding": "BASE64"},
     "INVALID_BASE64_ENCODING", "events[0].user_data.user_identifiers[0].emailAddress"),
    ([event()], None, {"encoding": "BASE64"}, "INVALID_SHA256_FORMAT",  # hex read as base64: 48 bytes, not 32
     "events[0].user_data.user_identifiers[0].emailAddress"),
    ([event()], None, {"encoding": None}, "REQUIRED_FIELD_MISSING", "encoding"),
    ([event(userData={"userIdentifiers": [{"address": {"givenName": EMAIL, "familyName": EMAIL, "regionCode": "uk",
                                                       "postalCode": "SW1A"}}]})], None, {}, "INVALID_COUNTRY_CODE",
     "events[0].user_data.user_identifiers[0].address.region_code"),
    ([event(currency="euro")], None, {}, "INVALID_CURRENCY_CODE", "events[0].currency"),
    ([event(destinationReferences=["777"])], None, {}, "INVALID_DESTINATION", "events[0].destination_references"),
])
def test_one_bad_record_refuses_the_whole_request_naming_the_field(client, sandbox, events, destinations, body,
                                                                    reason, field):
    payload = {"destinations": destinations or [destination()], "events": events, "encoding": "HEX", **body}
    answer = client.post("/v1/events:ingest", json={k: v for k, v in payload.items() if v is not None},
                         headers=HEADERS)
    assert answer.status_code == 400 and answer.json["error"]["status"] == "INVALID_ARGUMENT"
    assert detail(answer, "ErrorInfo") == {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                                           "domain": "datamanager.googleapis.com",
                                           "metadata": {"service": "datamanager.googleapis.com"}}
    assert detail(answer, "BadRequest")["fieldViolations"][0]["field"] == field
    assert sandbox.accepted == [] and sandbox.rejected_batches == 1 and sandbox.rejected_events == len(events)


@pytest.mark.parametrize(("change", "field"), [
    ({"colour": "red"}, "events[0]"),
    ({"consent": {"adUserData": "GRANTED"}}, "events[0].consent.ad_user_data"),
    ({"eventSource": "CRM"}, "events[0].event_source"),
    ({"userData": {"userIdentifiers": [{"emailAddress": EMAIL, "phoneNumber": EMAIL}]}},
     "events[0].user_data.user_identifiers[0]"),
])
def test_what_the_json_parser_refuses_fails_the_request(client, change, field):
    answer = ingest(client, [event(**change)])
    assert answer.status_code == 400
    violation = detail(answer, "BadRequest")["fieldViolations"][0]
    assert violation["field"] == field and violation["description"].startswith("Invalid JSON payload received.")


def test_snake_case_names_are_read_like_camel_case(client, sandbox):
    snake = {"destination_references": ["111"], "transaction_id": "t-1", "event_timestamp": "2026-12-05T10:00:00Z",
             "ad_identifiers": {"gclid": "Cj0-1"}}
    assert ingest(client, [snake]).status_code == 200 and sandbox.accepted[0]["transactionId"] == "t-1"


def test_validate_only_validates_and_records_nothing(client, sandbox):
    assert ingest(client, [event()], validateOnly=True).json == {}
    assert ingest(client, [event(currency="x")], validateOnly=True).status_code == 400
    assert sandbox.accepted == [] and sandbox.request_statuses == {}


def test_what_google_finds_later_is_in_the_request_status(client, sandbox, clock):
    old = event(1, eventTimestamp="2026-09-01T10:00:00Z")  # 96 days: past the 90-day click window
    twin = event(4, transactionId="order-2")
    answer = ingest(client, [old, event(2), event(3, adIdentifiers={"gclid": EMAIL}), twin])
    status = client.get(f"/v1/requestStatus:retrieve?requestId={answer.json['requestId']}", headers=HEADERS).json
    only = status["requestStatusPerDestination"][0]
    assert only["requestStatus"] == "PARTIAL_SUCCESS" and only["eventsIngestionStatus"] == {"recordCount": "4"}
    assert only["errorInfo"] == {"errorCounts": [
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"},
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"},
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_INVALID_GCLID"}]}
    assert [e["transactionId"] for e in sandbox.accepted] == ["order-2"] and sandbox.duplicates == 1


@pytest.mark.parametrize(("query", "reason"), [("", "REQUIRED_FIELD_MISSING"),
                                              ("?requestId=nope", "INVALID_REQUEST_ID")])
def test_an_unknown_request_id_is_refused(client, query, reason):
    answer = client.get(f"/v1/requestStatus:retrieve{query}", headers=HEADERS)
    assert answer.status_code == 400 and detail(answer, "ErrorInfo")["reason"] == reason


def test_rate_limit_is_resource_exhausted_with_a_retry_delay(clock):
    sandbox = GoogleAdsSandbox(clock=clock, rate_limit=1)
    client = create_app(sandbox).test_client()
    assert ingest(client, [event(1)]).status_code == 200
    answer = ingest(client, [event(2)])
    assert answer.status_code == 429 and answer.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert detail(answer, "RetryInfo")["retryDelay"] == "60s"


def test_faults_answer_in_data_manager_shape(clock):
    faults = Faults(fail_paths={"events:ingest": 503})
    client = create_app(GoogleAdsSandbox(clock=clock, faults=faults)).test_client()
    answer = ingest(client, [event()])
    assert answer.status_code == 503 and answer.json["error"]["status"] == "UNAVAILABLE"
    assert detail(answer, "ErrorInfo")["reason"] == "INTERNAL_ERROR"
