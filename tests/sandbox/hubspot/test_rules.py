"""HubSpot sandbox: the portal's validation rules, enforced on API writes from version 2026-09 only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from support.clock import Clock

from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
DEALS = "/crm/objects/2026-09/deals/batch/"


def make():
    sandbox = HubSpotSandbox(clock=Clock(START.timestamp()), rate_per_10s=None)
    sandbox.add_validation_rule("deals", "closedate", when=("dealstage", "closedwon"))
    sandbox.add_validation_rule("contacts", "jobtitle", on_create=True)
    return sandbox, create_app(sandbox).test_client()


def won(trace: str | None, **extra: str) -> dict:
    item = {"properties": {"dealname": f"Deal {trace}", "dealstage": "closedwon", **extra}}
    return item | ({"objectWriteTraceId": trace} if trace else {})


def test_a_record_breaking_a_rule_fails_alone_in_a_207_in_hubspots_shape():
    sandbox, client = make()
    answer = client.post(DEALS + "create", json={"inputs": [won("1"), won("2", closedate="2026-12-01")]}, headers=AUTH)
    assert answer.status_code == 207 and answer.json["numErrors"] == 1
    (error,) = answer.json["errors"]
    assert error["category"] == "VALIDATION_ERROR" and error["context"] == {"objectWriteTraceId": ["1"]}
    assert error["message"].startswith("Property values were not valid: ")
    (result,) = json.loads(error["message"].removeprefix("Property values were not valid: "))
    reason = "closedate is required when dealstage is closedwon (a validation rule of this portal)."
    assert result == {"isValid": False, "name": "closedate", "error": "MISSING_REQUIRED_PROPERTY", "message": reason}
    assert error["errors"] == [{"message": result["message"], "code": "MISSING_REQUIRED_PROPERTY", "in": "closedate",
                                "context": {"propertyName": ["closedate"]}}]
    assert [r["properties"]["dealname"] for r in sandbox.records("deals")] == ["Deal 2"]


def test_without_trace_ids_one_broken_rule_refuses_the_whole_batch():
    sandbox, client = make()
    answer = client.post(DEALS + "create", json={"inputs": [won(None), won(None, closedate="2026-12-01")]},
                         headers=AUTH)
    assert answer.status_code == 400 and answer.json["category"] == "VALIDATION_ERROR"
    assert "closedate is required when dealstage is closedwon" in answer.json["message"]
    assert sandbox.records("deals") == []


@pytest.mark.parametrize("path", ["/crm/v3/objects/deals/batch/create", "/crm/objects/2026-03/deals/batch/create"])
def test_the_legacy_paths_and_2026_03_ignore_the_rules(path):
    sandbox, client = make()
    answer = client.post(path, json={"inputs": [won("1")]}, headers=AUTH)
    assert answer.status_code == 201 and len(sandbox.records("deals")) == 1


def test_an_update_is_judged_on_the_record_it_leaves():
    sandbox, client = make()
    kept = sandbox.put("deals", {"dealname": "Kept", "dealstage": "contractsent", "closedate": "2026-12-01"})
    bare = sandbox.put("deals", {"dealname": "Bare", "dealstage": "contractsent"})
    inputs = [{"id": kept, "properties": {"dealstage": "closedwon"}, "objectWriteTraceId": "1"},  # has its date
              {"id": bare, "properties": {"dealstage": "closedwon"}, "objectWriteTraceId": "2"}]
    answer = client.post(DEALS + "update", json={"inputs": inputs}, headers=AUTH)
    assert answer.status_code == 207 and [e["context"] for e in answer.json["errors"]] == [
        {"objectWriteTraceId": ["2"]}]
    assert sandbox.get("deals", kept)["properties"]["dealstage"] == "closedwon"
    assert sandbox.get("deals", bare)["properties"]["dealstage"] == "contractsent"
    cleared = client.post(DEALS + "update", json={"inputs": [{"id": kept, "properties": {"closedate": ""},
                                                              "objectWriteTraceId": "3"}]}, headers=AUTH)
    assert cleared.status_code == 207 and sandbox.get("deals", kept)["properties"]["closedate"]


def test_a_create_form_rule_applies_to_new_records_only():
    sandbox, client = make()
    known = sandbox.put("contacts", {"email": "ana@example.com"})
    inputs = [{"idProperty": "email", "id": "ana@example.com", "properties": {"firstname": "Ana"},
               "objectWriteTraceId": "1"},
              {"idProperty": "email", "id": "zoe@example.com", "properties": {"firstname": "Zoe"},
               "objectWriteTraceId": "2"}]
    answer = client.post("/crm/objects/2026-09/contacts/batch/upsert", json={"inputs": inputs}, headers=AUTH)
    assert answer.status_code == 207 and answer.json["errors"][0]["context"] == {"objectWriteTraceId": ["2"]}
    assert "jobtitle is required to create this record" in answer.json["errors"][0]["message"]
    assert [r["id"] for r in answer.json["results"]] == [known]
    single = client.post("/crm/objects/2026-09/contacts", json={"properties": {"email": "eve@example.com"}},
                         headers=AUTH)
    assert single.status_code == 400 and single.json["category"] == "VALIDATION_ERROR"
    made = client.post("/crm/objects/2026-09/contacts",
                       json={"properties": {"email": "eve@example.com", "jobtitle": "CTO"}}, headers=AUTH)
    assert made.status_code == 201
