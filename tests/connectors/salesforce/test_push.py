"""Write-back: sObject Collections update and upsert bodies, per-record outcomes, conflicts, call options, limits."""

from __future__ import annotations

import logging

import pytest
import responses
from connectors.salesforce.helpers import (
    DATA,
    FIELDS,
    STORED_TOKEN,
    TOKEN_URL,
    MemoryTokens,
    describe,
    lead,
    load,
    query,
    settings,
    stored_session,
    usage,
)
from responses import matchers

from sync.connectors.crm import PushItem, PushResult
from sync.connectors.salesforce import SalesforceConnector
from sync.errors import PermanentError

WRITE_HEADERS = matchers.header_matcher({"Sforce-Call-Options": "client=lifesync",
                                         "Authorization": f"Bearer {STORED_TOKEN}"})
LEADS = ["00Q5g00000A1b2CEAR", "00Q5g00000A1b2DEAR", "00Q5g00000A1b2EEAR", "00Q5g00000A1b2FEAR"]


@pytest.fixture
def connector(connect):
    return connect()


def test_known_records_are_updated_in_one_collection_call_with_per_record_outcomes(mock, connector):
    items = [PushItem(10 + n, "Lead", lead_id, {"Status": "Working - Contacted", "Phone": "+14155552671"})
             for n, lead_id in enumerate(LEADS)]
    records = [{"attributes": {"type": "Lead"}, "Id": lead_id, "Status": "Working - Contacted",
                "Phone": "+14155552671"} for lead_id in LEADS]
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects", json=load("collection_update_results.json"),
             headers=usage(12), match=[matchers.json_params_matcher({"allOrNone": False, "records": records}),
                                       WRITE_HEADERS])
    results = connector.push("Lead", items)
    assert results[0] == PushResult(10, "ok", vendor_id=LEADS[0])
    assert (results[1].status, results[1].vendor_id) == ("failed", LEADS[1])
    assert results[1].error == "CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead"
    assert results[2].status == "failed" and results[2].error.startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone")
    assert "maria@example.com" not in results[2].error and "415 555" not in results[2].error  # redacted
    assert results[3].status == "retry" and "UNABLE_TO_LOCK_ROW" in results[3].error
    assert connector.stats.api_calls == 1


def test_new_records_are_upserted_by_the_external_id_and_multiple_matches_are_conflicts(mock, connector):
    items = [PushItem(1, "Contact", None, {"LastName": "Lopez"}, external_id="c-101"),
             PushItem(2, "Contact", None, {"LastName": "Sato"}, external_id="c-102"),
             PushItem(3, "Contact", None, {"LastName": "Smith"}, external_id="c-103")]
    records = [{"attributes": {"type": "Contact"}, "Lifesync_Id__c": f"c-10{n}", "LastName": name}
               for n, name in ((1, "Lopez"), (2, "Sato"), (3, "Smith"))]
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects/Contact/Lifesync_Id__c",
             json=load("collection_upsert_results.json"),
             match=[matchers.json_params_matcher({"allOrNone": False, "records": records}), WRITE_HEADERS])
    results = connector.push("Contact", items)
    assert [(r.key, r.status, r.vendor_id) for r in results] == [
        (1, "ok", "0035g00000XyZ20AAB"), (2, "ok", "0035g00000XyZ21AAB"), (3, "conflict", None)]
    assert "DUPLICATE_EXTERNAL_ID" in results[2].error and "more than one record" in results[2].error


def test_a_mixed_batch_makes_one_call_per_kind_and_answers_in_input_order(mock, sleeps):
    connector = SalesforceConnector(settings(external_id_field="Contact_Key__c"), tokens=stored_session(),
                                    sleep=sleeps.append)
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects/Contact/Contact_Key__c",
             json=[{"id": "0035g00000XyZ30AAB", "success": True, "errors": [], "created": True}],
             match=[matchers.json_params_matcher({"allOrNone": False, "records": [
                 {"attributes": {"type": "Contact"}, "Contact_Key__c": "c-7", "Email": "new@example.com"}]})])
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects",
             json=[{"id": "0035g00000XyZ12AAB", "success": True, "errors": []}],
             match=[matchers.json_params_matcher({"allOrNone": False, "records": [
                 {"attributes": {"type": "Contact"}, "Id": "0035g00000XyZ12AAB", "Title": "CEO"}]})])
    results = connector.push("Contact", [
        PushItem(1, "Contact", None, {"Email": "new@example.com", "Id": "0035g00000XyZ99AAB"}, external_id="c-7"),
        PushItem(2, "Contact", None, {"Title": "Nobody"}),
        PushItem(3, "Contact", "0035g00000XyZ12AAB", {"Title": "CEO", "id": "ignored"}, external_id="c-8"),
    ])
    assert [(r.key, r.status, r.vendor_id) for r in results] == [
        (1, "ok", "0035g00000XyZ30AAB"), (2, "failed", None), (3, "ok", "0035g00000XyZ12AAB")]
    assert results[1].error == "neither a Salesforce id nor an external id"
    assert connector.stats.api_calls == 2


def test_more_than_200_items_or_other_objects_are_refused_before_any_call(connector):
    items = [PushItem(n, "Lead", f"00Q5g0000{n:09d}", {"Status": "Open"}) for n in range(201)]
    with pytest.raises(ValueError, match="at most 200"):
        connector.push("Lead", items)
    with pytest.raises(ValueError, match="Lead, Contact"):
        connector.push("Opportunity", items[:1])
    assert connector.max_batch == 200 and connector.stats.api_calls == 0


def test_a_whole_request_failure_raises_the_typed_error(mock, connector, sleeps):
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects", status=400,
             json=[{"message": "No such column 'Lifesync_Stage__c' on sobject of type Lead",
                    "errorCode": "INVALID_FIELD"}])
    with pytest.raises(PermanentError, match=r"INVALID_FIELD.*No such column"):
        connector.push("Lead", [PushItem(1, "Lead", LEADS[0], {"Lifesync_Stage__c": "Customer"})])
    assert sleeps == []


def test_a_result_list_that_does_not_match_the_request_is_an_error(mock, connector):
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects", json=[])
    with pytest.raises(PermanentError, match="0 results for 1 Lead records"):
        connector.push("Lead", [PushItem(1, "Lead", LEADS[0], {"Status": "Open"})])


def test_no_token_secret_or_email_reaches_the_logs(mock, caplog, sleeps):
    tokens = MemoryTokens({("salesforce", "default"): {"access_token": STORED_TOKEN,
                                                       "instance_url": "https://acme.my.salesforce.com"}})
    connector = SalesforceConnector(settings(), tokens=tokens, fields=FIELDS, sleep=sleeps.append)
    fresh = load("token_refresh.json")
    describe(mock, "Lead")
    mock.add(responses.GET, f"{DATA}/queryAll", status=401, json=load("error_invalid_session.json"))
    mock.add(responses.POST, TOKEN_URL, json={**fresh, "refresh_token": "5Aep861rotated.secret"})
    query(mock, None, [lead(1, Email="oliver.smith@example.co.uk")])
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects", status=503,
             json=[{"message": "unavailable for oliver.smith@example.co.uk", "errorCode": "SERVER_UNAVAILABLE"}])
    mock.add(responses.PATCH, f"{DATA}/composite/sobjects", json=load("collection_update_results.json")[2:3])
    with caplog.at_level(logging.DEBUG):
        pages = list(connector.pull("Lead", {"bookmark": "2026-11-27T09:50:00Z"}))
        result = connector.push("Lead", [PushItem(1, "Lead", LEADS[0], {"Email": "oliver.smith@example.co.uk"})])
    assert pages[0].records[0]["Email"] == "oliver.smith@example.co.uk"
    assert result[0].status == "failed"
    logged = caplog.text + repr(connector) + repr(connector.auth) + repr(connector.client)
    assert "retrying" in caplog.text and "new session" in caplog.text  # the log did record what happened
    for secret in (STORED_TOKEN, fresh["access_token"], "5Aep861rotated.secret", "5Aep861env.refresh.token",
                   "cs-7f3c9a", "oliver.smith@example.co.uk", "maria@example.com"):
        assert secret not in logged
