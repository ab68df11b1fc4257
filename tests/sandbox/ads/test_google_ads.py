"""The Google Ads click-conversion sandbox: auth, request-level refusals, partial failures, duplicates, quotas."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from support.clock import Clock
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from sync.sandbox.ads.google_ads import GoogleAdsSandbox, create_app
from sync.sandbox.faults import Faults

NOW = 1_750_000_000
CID = GoogleAdsSandbox.CUSTOMER_ID
PATH = f"/v18/customers/{CID}:uploadClickConversions"
HEADERS = {"developer-token": GoogleAdsSandbox.DEVELOPER_TOKEN, "Authorization": "Bearer sandbox-google-oauth"}
EMAIL = hashlib.sha256(b"ana@example.com").hexdigest()
PHONE = hashlib.sha256(b"+442071234567").hexdigest()
PURCHASE = f"customers/{CID}/conversionActions/111"
FAILURE = "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure"




@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def sandbox(clock: Clock) -> GoogleAdsSandbox:
    return GoogleAdsSandbox(clock=clock)


@pytest.fixture
def client(sandbox: GoogleAdsSandbox):
    return create_app(sandbox).test_client()


def conversion(n: int = 1, **changes) -> dict:
    base = {"gclid": f"Cj0KCQjw-sandbox-{n}", "conversionAction": PURCHASE,
            "conversionDateTime": "2025-03-11 19:03:56+00:00", "conversionValue": 99.5, "currencyCode": "EUR",
            "orderId": f"order-{n}", "consent": {"adUserData": "GRANTED", "adPersonalization": "DENIED"}}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def upload(client, conversions, *, path: str = PATH, headers=HEADERS, **body):
    body.setdefault("partialFailure", True)
    return client.post(path, json={"conversions": conversions, **body}, headers=headers)


def only_error(answer) -> dict:
    details = answer.json["error"]["details"]
    assert len(details) == 1 and len(details[0]["errors"]) == 1
    return details[0]["errors"][0]


def test_valid_conversions_are_recorded_with_one_result_each(client, sandbox):
    answer = upload(client, [conversion(1), conversion(2, gclid=None, gbraid="0AAAAAC-sandbox-braid")])

    assert answer.status_code == 200
    assert answer.json["results"] == [
        {"gclid": "Cj0KCQjw-sandbox-1", "conversionAction": PURCHASE,
         "conversionDateTime": "2025-03-11 19:03:56+00:00"},
        {"gbraid": "0AAAAAC-sandbox-braid", "conversionAction": PURCHASE,
         "conversionDateTime": "2025-03-11 19:03:56+00:00"}]
    assert "partialFailureError" not in answer.json and answer.json["jobId"]
    assert [c["orderId"] for c in sandbox.accepted] == ["order-1", "order-2"] and sandbox.accepted[0]["request"] == 1


def test_snake_case_field_names_are_read_like_camel_case(client, sandbox):
    body = {"conversions": [{"gclid": "Cj0KCQjw-a", "conversion_action": PURCHASE,
                             "conversion_date_time": "2025-03-11 20:03:56+01:00", "currency_code": "USD",
                             "conversion_value": "12.5", "consent": {"ad_user_data": "GRANTED"}}],
            "partial_failure": True, "job_id": 77}

    answer = client.post(PATH, json=body, headers=HEADERS)

    assert answer.status_code == 200 and answer.json["jobId"] == "77"
    assert sandbox.accepted[0]["conversionAction"] == PURCHASE
    assert sandbox.accepted[0]["consent"] == {"adUserData": "GRANTED"}


def test_enhanced_conversions_for_leads_need_no_click_id(client, sandbox):
    lead = conversion(1, gclid=None, conversionAction=f"customers/{CID}/conversionActions/222",
                      userIdentifiers=[{"hashedEmail": EMAIL, "userIdentifierSource": "FIRST_PARTY"},
                                       {"hashed_phone_number": PHONE}])

    answer = upload(client, [lead])

    assert answer.json["results"][0]["userIdentifiers"][1] == {"hashedPhoneNumber": PHONE}
    assert len(sandbox.accepted) == 1


@pytest.mark.parametrize(("headers", "path", "status", "code"), [
    pytest.param({"Authorization": HEADERS["Authorization"]}, PATH, 400,
                 {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}, id="no developer token"),
    pytest.param({**HEADERS, "developer-token": "wrong"}, PATH, 401,
                 {"authenticationError": "DEVELOPER_TOKEN_INVALID"}, id="wrong developer token"),
    pytest.param({"developer-token": HEADERS["developer-token"]}, PATH, 401,
                 {"authenticationError": "OAUTH_TOKEN_INVALID"}, id="no bearer token"),
    pytest.param({**HEADERS, "Authorization": "Bearer expired"}, PATH, 401,
                 {"authenticationError": "OAUTH_TOKEN_INVALID"}, id="wrong bearer token"),
    pytest.param(HEADERS, "/v18/customers/123-456-7890:uploadClickConversions", 400,
                 {"requestError": "INVALID_CUSTOMER_ID"}, id="customer id with dashes"),
    pytest.param(HEADERS, "/v18/customers/5555555555:uploadClickConversions", 403,
                 {"authorizationError": "USER_PERMISSION_DENIED"}, id="someone else's account"),
    pytest.param({**HEADERS, "login-customer-id": "1111111111"}, PATH, 403,
                 {"authorizationError": "USER_PERMISSION_DENIED"}, id="a manager that does not manage us"),
    pytest.param({**HEADERS, "login-customer-id": "987-654-3210"}, PATH, 400,
                 {"headerError": "INVALID_LOGIN_CUSTOMER_ID"}, id="login customer id with dashes"),
])
def test_auth_and_account_errors(client, sandbox, headers, path, status, code):
    answer = upload(client, [conversion()], path=path, headers=headers)

    assert answer.status_code == status
    names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}
    assert (answer.json["error"]["code"], answer.json["error"]["status"]) == (status, names[status])
    assert answer.json["error"]["details"][0]["@type"] == FAILURE
    assert only_error(answer)["errorCode"] == code
    assert sandbox.accepted == [] and (sandbox.rejected_batches, sandbox.rejected_events) == (1, 1)


def test_the_manager_account_may_log_in_for_the_client(client, sandbox):
    answer = upload(client, [conversion()], headers={**HEADERS, "login-customer-id": GoogleAdsSandbox.MANAGER_ID})

    assert answer.status_code == 200 and len(sandbox.accepted) == 1


def test_other_methods_are_not_found(client):
    assert upload(client, [conversion()], path=f"/v18/customers/{CID}:uploadCallConversions").status_code == 404


@pytest.mark.parametrize(("body", "code", "field"), [
    pytest.param({"partialFailure": False}, {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}, None,
                 id="partial failure off"),
    pytest.param({"partialFailure": None}, {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}, None,
                 id="partial failure missing"),
    pytest.param({"conversions": []}, {"fieldError": "REQUIRED_NONEMPTY_LIST"}, "conversions", id="no conversions"),
    pytest.param({"conversions": [conversion(i) for i in range(2001)]},
                 {"conversionUploadError": "TOO_MANY_CONVERSIONS_IN_REQUEST"}, "conversions", id="2001 conversions"),
])
def test_request_level_refusals(client, sandbox, body, code, field):
    payload = {"conversions": [conversion()], "partialFailure": True, **body}
    payload = {key: value for key, value in payload.items() if value is not None}

    answer = client.post(PATH, json=payload, headers=HEADERS)

    assert answer.status_code == 400 and answer.json["error"]["status"] == "INVALID_ARGUMENT"
    error = only_error(answer)
    assert error["errorCode"] == code
    assert error.get("location", {}).get("fieldPathElements") == ([{"fieldName": field}] if field else None)
    assert sandbox.accepted == [] and sandbox.rejected_batches == 1


def test_two_thousand_conversions_are_one_request(client, sandbox):
    answer = upload(client, [conversion(i) for i in range(2000)])

    assert "partialFailureError" not in answer.json and len(sandbox.accepted) == 2000


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"orderNumber": "x"}, "conversions[0]", id="unknown field"),
    pytest.param({"consent": {"adUserData": "YES"}}, "conversions[0].consent.ad_user_data", id="consent value"),
    pytest.param({"consent": {"adStorage": "GRANTED"}}, "conversions[0].consent", id="unknown consent field"),
    pytest.param({"conversionEnvironment": "MOBILE"}, "conversions[0].conversion_environment", id="environment"),
    pytest.param({"userIdentifiers": [{"hashedEmail": EMAIL, "userIdentifierSource": "CRM"}]},
                 "conversions[0].user_identifiers[0].user_identifier_source", id="identifier source"),
    pytest.param({"userIdentifiers": [{"hashedEmail": EMAIL, "hashedPhoneNumber": PHONE}]},
                 "conversions[0].user_identifiers[0]", id="two members of the identifier oneof"),
    pytest.param({"conversionValue": "ninety"}, "conversions[0].conversion_value", id="value not a number"),
])
def test_what_the_json_parser_refuses_fails_the_whole_request(client, sandbox, change, field):
    answer = upload(client, [conversion(1, **change), conversion(2)])

    assert answer.status_code == 400 and answer.json["error"]["status"] == "INVALID_ARGUMENT"
    detail = answer.json["error"]["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["fieldViolations"][0]["field"] == field
    assert answer.json["error"]["message"] == detail["fieldViolations"][0]["description"]
    assert sandbox.accepted == [] and (sandbox.rejected_batches, sandbox.rejected_events) == (1, 2)


def test_malformed_json_fails_the_request(client):
    answer = client.post(PATH, data=b'{"conversions": [', headers=HEADERS, content_type="application/json")

    assert answer.status_code == 400 and answer.json["error"]["status"] == "INVALID_ARGUMENT"


INVALID_CONVERSIONS = [  # (name, change, error code, field)
    ("no click id or identifiers", {"gclid": None}, {"fieldError": "REQUIRED"}, "gclid"),
    ("gbraid and wbraid", {"gclid": None, "gbraid": "0AAAA-b", "wbraid": "0AAAA-w"},
     {"conversionUploadError": "GBRAID_WBRAID_BOTH_SET"}, "wbraid"),
    ("gclid and gbraid", {"gbraid": "0AAAA-b"}, {"fieldError": "VALUE_MUST_BE_UNSET"}, "gbraid"),
    ("gclid with a space", {"gclid": "Cj0 KCQ"}, {"conversionUploadError": "UNPARSEABLE_GCLID"}, "gclid"),
    ("hashed gclid", {"gclid": hashlib.sha256(b"click").hexdigest()}, {"conversionUploadError": "UNPARSEABLE_GCLID"},
     "gclid"),
    ("gbraid with a slash", {"gclid": None, "gbraid": "0AAA/A"}, {"conversionUploadError": "UNPARSEABLE_GBRAID"},
     "gbraid"),
    ("no conversion action", {"conversionAction": None}, {"fieldError": "REQUIRED"}, "conversion_action"),
    ("action by name", {"conversionAction": "purchase"}, {"requestError": "RESOURCE_NAME_MALFORMED"},
     "conversion_action"),
    ("unknown action", {"conversionAction": f"customers/{CID}/conversionActions/999"},
     {"conversionUploadError": "NO_CONVERSION_ACTION_FOUND"}, "conversion_action"),
    ("another account's action", {"conversionAction": "customers/5555555555/conversionActions/111"},
     {"conversionUploadError": "NO_CONVERSION_ACTION_FOUND"}, "conversion_action"),
    ("no conversion time", {"conversionDateTime": None}, {"fieldError": "REQUIRED"}, "conversion_date_time"),
    ("ISO time", {"conversionDateTime": "2025-03-11T19:03:56Z"},
     {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"}, "conversion_date_time"),
    ("time without offset", {"conversionDateTime": "2025-03-11 19:03:56"},
     {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"}, "conversion_date_time"),
    ("month 13", {"conversionDateTime": "2025-13-11 19:03:56+00:00"},
     {"dateError": "INVALID_FIELD_VALUES_IN_DATE_TIME"}, "conversion_date_time"),
    ("lowercase currency", {"currencyCode": "eur"}, {"currencyCodeError": "UNSUPPORTED"}, "currency_code"),
    ("currency name", {"currencyCode": "EURO"}, {"currencyCodeError": "UNSUPPORTED"}, "currency_code"),
    ("e-mail as order id", {"orderId": "ana@example.com"}, {"conversionUploadError": "ORDER_ID_CONTAINS_PII"},
     "order_id"),
    ("six identifiers", {"userIdentifiers": [{"hashedEmail": EMAIL}] * 6}, {"collectionSizeError": "TOO_MANY"},
     "user_identifiers"),
    ("e-mail in clear", {"userIdentifiers": [{"hashedEmail": "ana@example.com"}]},
     {"conversionUploadError": "INVALID_USER_IDENTIFIER"}, "user_identifiers"),
    ("uppercase phone digest", {"userIdentifiers": [{"hashedPhoneNumber": PHONE.upper()}]},
     {"conversionUploadError": "INVALID_USER_IDENTIFIER"}, "user_identifiers"),
    ("empty identifier", {"userIdentifiers": [{"userIdentifierSource": "FIRST_PARTY"}]},
     {"conversionUploadError": "INVALID_USER_IDENTIFIER"}, "user_identifiers"),
    ("mobile id", {"userIdentifiers": [{"mobileId": "38400000-8cf0-11bd-b23e-10b96e40000d"}]},
     {"conversionUploadError": "UNSUPPORTED_USER_IDENTIFIER"}, "user_identifiers"),
]


@pytest.mark.parametrize(("change", "code", "field"),
                         [pytest.param(c, e, f, id=n) for n, c, e, f in INVALID_CONVERSIONS])
def test_an_invalid_conversion_fails_alone(client, sandbox, change, code, field):
    answer = upload(client, [conversion(1), conversion(2, **change), conversion(3)])

    assert answer.status_code == 200
    failure = answer.json["partialFailureError"]
    assert failure["code"] == 3 and failure["message"].endswith(f", at conversions[1].{field}")
    detail = failure["details"][0]
    assert detail["@type"] == FAILURE and len(detail["errors"]) == 1
    error = detail["errors"][0]
    assert error["errorCode"] == code and error["message"]
    assert error["location"]["fieldPathElements"] == [{"fieldName": "conversions", "index": 1}, {"fieldName": field}]
    assert [bool(result) for result in answer.json["results"]] == [True, False, True]
    assert [c["orderId"] for c in sandbox.accepted] == ["order-1", "order-3"]
    assert (sandbox.rejected_batches, sandbox.rejected_events, sandbox.duplicates) == (0, 1, 0)


def test_the_failure_type_follows_the_api_version(client):
    answer = upload(client, [conversion(1, gclid="bad id")], path=f"/v19/customers/{CID}:uploadClickConversions")

    assert answer.json["partialFailureError"]["details"][0]["@type"].endswith(".v19.errors.GoogleAdsFailure")


@pytest.mark.parametrize(("second", "code"), [
    pytest.param(conversion(9, orderId="order-1"), "ORDER_ID_ALREADY_IN_USE", id="order id again"),
    pytest.param(conversion(1, orderId=None, conversionDateTime="2025-03-11 20:03:56+01:00"),
                 "CLICK_CONVERSION_ALREADY_EXISTS", id="same click at the same instant"),
])
def test_duplicates_of_earlier_uploads_are_refused_and_counted(client, sandbox, second, code):
    upload(client, [conversion(1)])

    answer = upload(client, [second])

    error = answer.json["partialFailureError"]["details"][0]["errors"][0]
    assert error["errorCode"] == {"conversionUploadError": code}
    assert answer.json["results"] == [{}]
    assert len(sandbox.accepted) == 1 and sandbox.duplicates == 1 and sandbox.rejected_events == 0
    assert sandbox.duplicate_events[0]["request"] == 2 and sandbox.duplicate_events[0]["error"] == code


@pytest.mark.parametrize(("second", "code"), [
    pytest.param(conversion(2, orderId="order-1"), "DUPLICATE_ORDER_ID", id="same order id"),
    pytest.param(conversion(1, orderId="order-2"), "DUPLICATE_CLICK_CONVERSION_IN_REQUEST", id="same click and time"),
])
def test_duplicates_inside_one_request(client, sandbox, second, code):
    answer = upload(client, [conversion(1), second])

    assert answer.json["partialFailureError"]["details"][0]["errors"][0]["errorCode"]["conversionUploadError"] == code
    assert len(sandbox.accepted) == 1 and sandbox.duplicates == 1


def test_not_duplicates(client, sandbox):
    upload(client, [conversion(1)])
    later = conversion(1, orderId="order-1b", conversionDateTime="2025-03-12 09:00:00+00:00")
    other_action = conversion(5, orderId="order-1", conversionAction=f"customers/{CID}/conversionActions/333")

    answer = upload(client, [later, other_action])

    assert "partialFailureError" not in answer.json
    assert len(sandbox.accepted) == 3 and sandbox.duplicates == 0


def test_validate_only_reports_errors_and_records_nothing(client, sandbox):
    answer = upload(client, [conversion(1), conversion(2, gclid="bad id")], validateOnly=True)

    assert "results" not in answer.json
    assert answer.json["partialFailureError"]["details"][0]["errors"][0]["errorCode"] == {
        "conversionUploadError": "UNPARSEABLE_GCLID"}
    assert sandbox.accepted == [] and (sandbox.rejected_events, sandbox.duplicates) == (0, 0)
    assert "partialFailureError" not in upload(client, [conversion(1)]).json  # not a duplicate of the dry run


def test_rate_limit_answers_429_with_a_retry_delay(clock):
    sandbox = GoogleAdsSandbox(rate_limit=2, clock=clock)
    client = create_app(sandbox).test_client()

    upload(client, [conversion(1)])
    clock.now += 15
    upload(client, [conversion(2)])
    limited = upload(client, [conversion(3)])

    assert limited.status_code == 429 and limited.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    error = only_error(limited)
    assert error["errorCode"] == {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}
    assert error["details"]["quotaErrorDetails"]["retryDelay"] == "45s"
    clock.now += 45
    assert upload(client, [conversion(3)]).status_code == 200 and len(sandbox.accepted) == 3


@pytest.mark.parametrize(("fault", "status", "name", "code"), [
    (429, 429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}),
    (500, 500, "INTERNAL", {"internalError": "INTERNAL_ERROR"}),
    (503, 503, "UNAVAILABLE", {"internalError": "TRANSIENT_ERROR"}),
])
def test_faults_in_googles_shape(clock, fault, status, name, code):
    faults = Faults(fail_paths={"uploadClickConversions": fault})
    sandbox = GoogleAdsSandbox(faults=faults, clock=clock)
    client = create_app(sandbox).test_client()

    answer = upload(client, [conversion()])

    assert answer.status_code == status and answer.json["error"]["status"] == name
    assert only_error(answer)["errorCode"] == code
    assert sandbox.accepted == [] and (sandbox.requests, faults.injected) == (1, 1)


def test_a_storm_carries_its_retry_delay(clock):
    faults = Faults()
    sandbox = GoogleAdsSandbox(faults=faults, clock=clock)
    client = create_app(sandbox).test_client()
    faults.storm(1, retry_after=5)

    storm = upload(client, [conversion()])

    assert only_error(storm)["details"]["quotaErrorDetails"]["retryDelay"] == "5s"
    assert upload(client, [conversion()]).status_code == 200


def test_mounted_under_a_prefix(sandbox):
    client = Client(DispatcherMiddleware(Flask("root"), {"/google": create_app(sandbox)}))

    answer = client.post(f"/google{PATH}", json={"conversions": [conversion()], "partialFailure": True},
                         headers=HEADERS)

    assert answer.status_code == 200 and len(sandbox.accepted) == 1


TODAY = 1_796_558_400  # 2026-12-06: v18-v22 are sunset, v23-v26 current


@pytest.mark.parametrize(("version", "status"), [("v18", 501), ("v22", 501), ("v99", 501), ("v26", 200), ("v23", 200)])
def test_sunset_and_unknown_versions_are_refused_as_google_refuses_a_method_it_cannot_route(version, status):
    sandbox = GoogleAdsSandbox(clock=lambda: TODAY)
    client = create_app(sandbox).test_client()
    answer = upload(client, [conversion()], path=f"/{version}/customers/{CID}:uploadClickConversions")
    assert answer.status_code == status
    if status == 501:
        assert answer.json == {"error": {"code": 501, "message": "GRPC target method can't be resolved.",
                                         "status": "UNIMPLEMENTED"}}
        assert sandbox.accepted == []
    listed = client.get(f"/{version}/customers:listAccessibleCustomers", headers=HEADERS)
    assert listed.status_code == (501 if status == 501 else 200)


def test_a_version_is_refused_from_the_day_google_sunsets_it():
    day = Clock(1_786_060_800)  # 2026-08-07, two days after v21's sunset
    client = create_app(GoogleAdsSandbox(clock=day)).test_client()
    assert upload(client, [conversion()], path=f"/v21/customers/{CID}:uploadClickConversions").status_code == 501
    day.now -= 3 * 86_400  # 2026-08-04: still served
    assert upload(client, [conversion(2)], path=f"/v21/customers/{CID}:uploadClickConversions").status_code == 200


@pytest.mark.parametrize(("version", "status"), [("v18", 400), ("v19", 200)])
def test_fields_exist_from_the_version_that_added_them(client, version, status):
    answer = upload(client, [conversion(customerType="NEW")], path=f"/{version}/customers/{CID}:uploadClickConversions")
    assert answer.status_code == status
    if status == 400:
        assert 'Unknown name "customerType"' in answer.json["error"]["message"]
