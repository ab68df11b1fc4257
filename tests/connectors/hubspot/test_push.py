"""HubSpot write-back: update by id, upsert by e-mail, 207s matched per input, stages moved back in two steps."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import responses
from connectors.hubspot.hubspot_fakes import BASE, PATHS, fixture
from responses import matchers

from sync.connectors.crm import PushItem, PushResult
from sync.errors import AuthError, TransientError, ValidationError

UPDATE = f"{BASE}{PATHS.batch('contacts', 'update')}"
UPSERT = f"{BASE}{PATHS.batch('contacts', 'upsert')}"
STAGES = f"{BASE}{PATHS.property('contacts', 'lifecyclestage')}"


def item(key: int, vendor_id: str | None = None, known: dict | None = None, **properties) -> PushItem:
    return PushItem(key=key, object="contacts", vendor_id=vendor_id, properties=properties, known=known or {})


def body(*inputs: dict) -> list:
    return [matchers.json_params_matcher({"inputs": list(inputs)}, strict_match=True)]


def test_updates_by_id_and_upserts_by_email_with_every_value_as_text(make, mock):
    mock.add(responses.POST, UPDATE, json={"status": "COMPLETE", "results": [{"id": "51", "properties": {}}]},
             match=body({"id": "51", "objectWriteTraceId": "1", "properties": {
                 "firstname": "Ana", "phone": "", "hs_email_optout": "true", "num_employees": "12",
                 "annualrevenue": "1250.5", "score": "3", "closedate": "2026-03-05", "hs_buying_role": "A;B",
                 "last_seen": "2026-03-05T10:00:00.000Z"}}))
    mock.add(responses.POST, UPSERT, json=fixture("contacts_batch_upsert_200.json"),
             match=body({"idProperty": "email", "id": "zoe.new@example.com", "objectWriteTraceId": "2",
                         "properties": {"email": "zoe.new@example.com", "firstname": "Zoe"}},
                        {"idProperty": "email", "id": "Yan.Old@example.com", "objectWriteTraceId": "3",
                         "properties": {"email": "Yan.Old@example.com", "firstname": "Yan"}}))
    connector = make()
    results = connector.push("contacts", [
        item(1, "51", firstname="Ana", phone=None, hs_email_optout=True, num_employees=12, annualrevenue=1250.5,
             score=3.0, closedate=date(2026, 3, 5), hs_buying_role=["A", "B"],
             last_seen=datetime(2026, 3, 5, 10, tzinfo=UTC)),
        item(2, email="zoe.new@example.com", firstname="Zoe"),
        item(3, email="Yan.Old@example.com", firstname="Yan"),
    ])
    # results come back unordered and without trace ids: upserts are matched by e-mail, case-insensitively
    assert results == [PushResult(1, "ok", "51"), PushResult(2, "ok", "90210"), PushResult(3, "ok", "88")]
    assert connector.stats.api_calls == 2


def test_an_item_with_neither_id_nor_email_fails_without_a_request(make):
    assert make().push("contacts", [item(9, firstname="Nobody")]) == [
        PushResult(9, "failed", error="no HubSpot id or e-mail")]


def test_batches_over_100_items_are_refused(make):
    with pytest.raises(ValueError, match="at most 100"):
        make().push("contacts", [item(i, str(i)) for i in range(101)])


def test_a_207_maps_each_error_to_its_input_whatever_the_order(make, mock):
    mock.add(responses.POST, UPDATE, status=207, json=fixture("contacts_batch_update_207.json"))
    results = make().push("contacts", [item(101, "51", firstname="Ana"), item(103, "53", firstname="Dee"),
                                       item(104, "54", email="eve@@example.com"), item(105, "999", firstname="X")])
    assert [(r.key, r.status, r.vendor_id) for r in results] == [
        (101, "ok", "51"), (103, "ok", "53"), (104, "failed", "54"), (105, "failed", "999")]
    assert results[2].error.startswith("VALIDATION_ERROR: Property values were not valid")
    assert "eve@" not in results[2].error and "[email]" in results[2].error
    assert results[3].error.startswith("OBJECT_NOT_FOUND")


@pytest.mark.parametrize(("category", "status"), [("CONFLICT", "conflict"), ("RATE_LIMITS", "retry"),
                                                  ("VALIDATION_ERROR", "failed")])
def test_error_categories_become_result_statuses(make, mock, category, status):
    answer = {"status": "COMPLETE", "results": [], "numErrors": 1, "errors": [
        {"status": "error", "category": category, "message": "Contact already exists. Existing ID: 77",
         "context": {"objectWriteTraceId": ["7"]}}]}
    mock.add(responses.POST, UPSERT, status=207, json=answer)
    (result,) = make().push("contacts", [item(7, email="dup@example.com")])
    assert result.status == status and result.error == f"{category}: Contact already exists. Existing ID: 77"


def test_errors_naming_no_input_leave_the_unmatched_inputs_to_retry(make, mock):
    answer = {"status": "COMPLETE", "results": [{"id": "51"}], "numErrors": 1,
              "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Something failed"}]}
    mock.add(responses.POST, UPDATE, status=207, json=answer)
    results = make().push("contacts", [item(1, "51", firstname="A"), item(2, "52", firstname="B"),
                                       item(3, "53", firstname="C")])
    assert [(r.status, r.vendor_id) for r in results] == [("ok", "51"), ("retry", "52"), ("retry", "53")]
    assert "naming no input" in results[1].error


def test_inputs_sharing_an_id_go_in_separate_requests(make, mock):
    mock.add(responses.POST, UPDATE, json={"results": [{"id": "51"}, {"id": "52"}]},
             match=body({"id": "51", "objectWriteTraceId": "1", "properties": {"firstname": "A"}},
                        {"id": "52", "objectWriteTraceId": "3", "properties": {"firstname": "C"}}))
    mock.add(responses.POST, UPDATE, json={"results": [{"id": "51"}]},
             match=body({"id": "51", "objectWriteTraceId": "2", "properties": {"lastname": "B"}}))
    results = make().push("contacts", [item(1, "51", firstname="A"), item(2, "51", lastname="B"),
                                       item(3, "52", firstname="C")])
    assert [r.status for r in results] == ["ok", "ok", "ok"]


def test_a_backward_stage_move_is_a_clear_then_a_separate_later_set(make, mock):
    mock.add(responses.GET, STAGES, json=fixture("lifecyclestage_property.json"))  # once: cached
    mock.add(responses.POST, UPDATE, json={"results": [{"id": "51"}, {"id": "52"}]}, match=body(
        {"id": "51", "objectWriteTraceId": "1", "properties": {"lifecyclestage": "", "firstname": "Ana"}},
        {"id": "52", "objectWriteTraceId": "2", "properties": {"lifecyclestage": "customer"}}))
    mock.add(responses.POST, UPSERT, json={"results": [{"id": "90210", "properties": {"email": "zoe@example.com"}}]},
             match=body({"idProperty": "email", "id": "zoe@example.com", "objectWriteTraceId": "3",
                         "properties": {"email": "zoe@example.com", "lifecyclestage": ""}}))
    mock.add(responses.POST, UPDATE, json={"results": [{"id": "51"}, {"id": "90210"}]}, match=body(
        {"id": "51", "objectWriteTraceId": "1", "properties": {"lifecyclestage": "lead"}},
        {"id": "90210", "objectWriteTraceId": "3", "properties": {"lifecyclestage": "subscriber"}}))
    connector = make()
    results = connector.push("contacts", [
        item(1, "51", known={"lifecyclestage": "customer"}, lifecyclestage="lead", firstname="Ana"),  # backward
        item(2, "52", known={"lifecyclestage": "lead"}, lifecyclestage="customer"),  # forward: as is
        item(3, email="zoe@example.com", known={"lifecyclestage": "opportunity"}, lifecyclestage="subscriber"),
    ])
    assert [(r.status, r.vendor_id) for r in results] == [("ok", "51"), ("ok", "52"), ("ok", "90210")]
    assert [c.request.method for c in mock.calls] == ["GET", "POST", "POST", "POST"]
    assert mock.calls[-1].request.url == UPDATE  # the earlier stage goes last, on its own

    mock.add(responses.POST, UPDATE, json={"results": [{"id": "53"}]})
    connector.push("contacts", [item(4, "53", known={"lifecyclestage": "lead"}, lifecyclestage="opportunity")])
    assert [c.request.url for c in mock.calls].count(STAGES) == 1  # options read once per connector


def test_a_stage_that_is_no_portal_option_fails_that_item_only(make, mock):
    mock.add(responses.GET, STAGES, json=fixture("lifecyclestage_property.json"))
    mock.add(responses.POST, UPDATE, json={"results": [{"id": "52"}]},
             match=body({"id": "52", "objectWriteTraceId": "2", "properties": {"lifecyclestage": "lead"}}))
    results = make().push("contacts", [item(1, "51", lifecyclestage="Hot Lead"), item(2, "52", lifecyclestage="lead")])
    assert results[0].status == "failed" and "'Hot Lead' is not an option" in results[0].error
    assert results[1] == PushResult(2, "ok", "52")


def test_a_failed_clear_sends_no_earlier_stage(make, mock):
    mock.add(responses.GET, STAGES, json=fixture("lifecyclestage_property.json"))
    answer = {"status": "COMPLETE", "results": [], "numErrors": 1, "errors": [
        {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["51"]}}]}
    mock.add(responses.POST, UPDATE, status=207, json=answer)
    (result,) = make().push("contacts", [item(1, "51", known={"lifecyclestage": "customer"}, lifecyclestage="lead")])
    assert result.status == "failed" and len(mock.calls) == 2


@pytest.mark.parametrize(("status", "error"), [(400, ValidationError), (403, AuthError), (401, AuthError)])
def test_whole_request_failures_raise_typed_errors(make, mock, status, error):
    mock.add(responses.POST, UPDATE, status=status, json={"status": "error", "message": "refused",
                                                           "category": "VALIDATION_ERROR"})
    with pytest.raises(error):
        make().push("contacts", [item(1, "51", firstname="A")])


def test_server_errors_are_retried_then_raised_as_transient(make, mock, clock):
    for _ in range(5):
        mock.add(responses.POST, UPDATE, status=503, json={"status": "error", "message": "unavailable"})
    connector = make()
    with pytest.raises(TransientError):
        connector.push("contacts", [item(1, "51", firstname="A")])
    assert connector.stats.api_calls == 5 and len(clock.slept) == 4 and connector.stats.rate_limit_waits == 0


def test_deals_are_updated_by_id_only(make, mock):
    mock.add(responses.POST, f"{BASE}{PATHS.batch('deals', 'update')}", json={"results": [{"id": "7"}]})
    results = make().push("deals", [PushItem(1, "deals", "7", {"dealstage": "closedwon"}),
                                    PushItem(2, "deals", None, {"dealstage": "closedwon"})])
    assert results == [PushResult(1, "ok", "7"), PushResult(2, "failed", error="no HubSpot id")]


RULE_REFUSAL = {
    "status": "error", "category": "VALIDATION_ERROR", "correlationId": "c0ffee00-0000-4000-8000-000000000001",
    "message": 'Property values were not valid: [{"isValid":false,"message":"jobtitle is required to create '
               'this record (a validation rule of this portal).","error":"MISSING_REQUIRED_PROPERTY",'
               '"name":"jobtitle"}]'}


def refusing(*bad_keys: str):
    """A batch endpoint answering HubSpot's whole-request 400 while the batch holds an input in ``bad_keys``."""
    def answer(request):
        inputs = json.loads(request.body)["inputs"]
        if any(i["objectWriteTraceId"] in bad_keys for i in inputs):
            return 400, {}, json.dumps(RULE_REFUSAL)
        return 200, {}, json.dumps({"status": "COMPLETE", "results": [{"id": i["id"], "properties": {}}
                                                                       for i in inputs]})
    return answer


def test_a_batch_refused_whole_for_one_record_fails_that_record_alone_with_hubspots_message(make, mock):
    mock.add_callback(responses.POST, UPDATE, callback=refusing("3"), content_type="application/json")
    connector = make()
    results = connector.push("contacts", [item(k, str(50 + k), firstname="A") for k in (1, 2, 3, 4)])
    assert [(r.key, r.status, r.vendor_id) for r in results] == [(1, "ok", "51"), (2, "ok", "52"), (3, "failed", "53"),
                                                                  (4, "ok", "54")]
    assert "jobtitle is required to create this record" in results[2].error
    assert connector.stats.api_calls == 5  # [1 2 3 4] refused, [1 2] sent, [3 4] refused, [3] refused, [4] sent


def test_when_every_record_is_refused_each_fails_alone_and_nothing_raises(make, mock):
    mock.add_callback(responses.POST, UPDATE, callback=refusing("1", "2", "3"), content_type="application/json")
    connector = make()
    results = connector.push("contacts", [item(k, str(50 + k), firstname="A") for k in (1, 2, 3)])
    assert [r.status for r in results] == ["failed"] * 3 and connector.stats.api_calls == 5  # 2n - 1


def test_a_2026_09_validation_rule_refusal_in_a_207_fails_its_record_only(make, mock):
    refusal = {**RULE_REFUSAL, "context": {"objectWriteTraceId": ["2"]},
               "errors": [{"message": "jobtitle is required", "code": "MISSING_REQUIRED_PROPERTY", "in": "jobtitle"}]}
    mock.add(responses.POST, UPSERT, status=207, json={
        "status": "COMPLETE", "numErrors": 1, "errors": [refusal],
        "results": [{"id": "71", "properties": {"email": "ana@example.com"}, "objectWriteTraceId": "1"}]})
    results = make().push("contacts", [item(1, email="ana@example.com", jobtitle="CEO"),
                                       item(2, email="bo@example.com")])
    assert (results[0].status, results[0].vendor_id, results[1].status) == ("ok", "71", "failed")
    assert results[1].error.startswith("VALIDATION_ERROR: Property values were not valid")
    assert "jobtitle is required to create this record" in results[1].error


UNSUBSCRIBE = f"{BASE}/communication-preferences/2026-09/statuses/ana%40example.com/unsubscribe-all"
WIDE = {"status": "COMPLETE", "startedAt": "2026-12-07T10:00:00.000Z", "completedAt": "2026-12-07T10:00:00.100Z",
        "results": [{"subscriberIdString": "ana@example.com", "channel": "EMAIL", "status": "UNSUBSCRIBED",
                     "wideStatusType": "PORTAL_WIDE", "timestamp": "2026-12-07T10:00:00.000Z"}]}


FORBIDDEN = json.loads((Path(__file__).parents[2] / "fixtures/http/hubspot_forbidden.json").read_text())


def opting_out(key: int, value: bool = True, **properties) -> PushItem:
    return PushItem(key=key, object="contacts", vendor_id="51", properties=properties,
                    extra={"unsubscribe_all": {"EMAIL": value}}, emails=("ana@example.com",))


def test_an_opt_out_patches_the_writable_properties_then_unsubscribes_the_email_from_all_email(make, mock):
    mock.add(responses.POST, UPDATE, json={"status": "COMPLETE", "results": [{"id": "51", "properties": {}}]},
             match=body({"id": "51", "objectWriteTraceId": "1", "properties": {"firstname": "Ana"}}))
    mock.add(responses.POST, UNSUBSCRIBE, json=WIDE, match=[matchers.query_param_matcher({"channel": "EMAIL"})])
    assert make().push("contacts", [opting_out(1, firstname="Ana")]) == [PushResult(1, "ok", "51")]
    assert [c.request.method + " " + c.request.url.split("?")[1] for c in mock.calls[1:]] == ["POST channel=EMAIL"]


def test_an_opt_out_alone_sends_no_patch_and_a_grant_sends_nothing(make, mock):
    mock.add(responses.POST, UNSUBSCRIBE, json=WIDE)
    connector = make(env={"LIFESYNC_HUBSPOT_TOKEN": "pat-x",
                          "LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION": "2026-09"})
    assert connector.push("contacts", [opting_out(1), opting_out(2, value=False)]) == [
        PushResult(1, "ok", "51"), PushResult(2, "ok", "51")]
    assert connector.stats.api_calls == 1  # the one unsubscribe: no PATCH, and nothing for the grant


def test_a_missing_scope_fails_that_item_with_hubspots_reason(make, mock):
    mock.add(responses.POST, UNSUBSCRIBE, status=403, json=FORBIDDEN)
    [result] = make().push("contacts", [opting_out(1)])
    assert (result.status, result.vendor_id) == ("failed", "51")
    assert "unsubscribe the contact from all e-mail" in result.error and "MISSING_SCOPES" in result.error
    assert "communication_preferences.statuses.write" in result.error and "ana" not in result.error  # no e-mail
