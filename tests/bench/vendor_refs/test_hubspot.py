"""The HubSpot checker of bench/vendor_requests.py: hubspot-api-client's models decide, strictly."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.objects import (
    ApiClient,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
)

from bench.vendor_refs import ACCEPTED, REFUSED, check
from sync.sandbox.recording import RecordedRequest


def recorded(method: str, path: str, body=None, query: str = "") -> RecordedRequest:
    raw = b"" if body is None else json.dumps(body).encode()
    return RecordedRequest("hubspot", method, path, query, "application/json", raw, 200)


def sdk_body(model) -> dict:
    """What the SDK itself sends for a model: the known-good body."""
    return ApiClient().sanitize_for_serialization(model)


UPDATE = sdk_body(BatchInputSimplePublicObjectBatchInput(inputs=[
    SimplePublicObjectBatchInput(id="101", properties={"lifecyclestage": "lead"}, object_write_trace_id="7")]))
UPSERT = sdk_body(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
    SimplePublicObjectBatchInputUpsert(id="ann@example.com", id_property="email", properties={"firstname": "Ann"})]))
SEARCH = sdk_body(PublicObjectSearchRequest(
    filter_groups=[FilterGroup(filters=[Filter(property_name="lastmodifieddate", operator="GTE", value="0")])],
    sorts=["hs_object_id"], properties=["email"], limit=100, after="0"))


@pytest.mark.parametrize(("path", "body"), [
    ("/crm/v3/objects/contacts/batch/update", UPDATE),
    ("/crm/objects/2026-09/contacts/batch/update", UPDATE),
    ("/crm/objects/2026-09/contacts/batch/upsert", UPSERT),
    ("/crm/objects/2026-09/deals/search", SEARCH),
    ("/crm/associations/2026-09/deals/contacts/batch/read", {"inputs": [{"id": "55"}]}),
])
def test_what_the_sdk_itself_sends_is_accepted(path, body):
    verdict = check(recorded("POST", path, body))
    assert (verdict.vendor, verdict.outcome, verdict.reasons) == ("HubSpot", ACCEPTED, ())
    assert verdict.items == len(body.get("inputs", []))
    assert ("2026-09" in path) == any("dated path 2026-09" in note for note in verdict.notes)


def changed(body: dict, edit) -> dict:
    copy = json.loads(json.dumps(body))
    edit(copy)
    return copy


@pytest.mark.parametrize(("path", "body", "reason"), [
    ("/crm/v3/objects/contacts/batch/update", changed(UPDATE, lambda b: b["inputs"][0].update(propertys={})),
     "body.inputs[0].propertys: not an attribute of SimplePublicObjectBatchInput"),
    ("/crm/v3/objects/contacts/batch/update", changed(UPDATE, lambda b: b["inputs"][0]["properties"].update(n=5)),
     "body.inputs[0].properties.n: the SDK types it str, got int"),
    ("/crm/v3/objects/contacts/batch/update", {"records": []},
     "body.records: not an attribute of BatchInputSimplePublicObjectBatchInput"),
    ("/crm/v3/objects/contacts/batch/upsert", changed(UPSERT, lambda b: b["inputs"][0].pop("id")),
     "Invalid value for `id`, must not be `None`"),  # required by the SDK's client-side validation
    ("/crm/v3/objects/contacts/search",
     changed(SEARCH, lambda b: b.update(sorts=[{"propertyName": "hs_object_id", "direction": "UP"}])),
     "body.sorts[0]: a sort object has exactly propertyName (a string) and direction"),
    ("/crm/v3/objects/contacts/search",
     changed(SEARCH, lambda b: b.update(sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING",
                                               "nulls": "FIRST"}])),
     "body.sorts[0]: a sort object has exactly propertyName (a string) and direction"),
    ("/crm/v3/objects/contacts/search",
     changed(SEARCH, lambda b: b.update(sorts=[{"propertyName": 7, "direction": "ASCENDING"}, 5])),
     "body.sorts[0]: a sort object has exactly propertyName (a string) and direction"),
    ("/crm/v3/objects/contacts/search",
     changed(SEARCH, lambda b: b["filterGroups"][0]["filters"][0].update(operator="AFTER")),
     "Invalid value for `operator` (AFTER)"),
])
def test_what_the_sdk_would_not_send_is_refused_with_the_sdks_reason(path, body, reason):
    verdict = check(recorded("POST", path, body))
    assert verdict.outcome == REFUSED
    assert any(reason in why for why in verdict.reasons), verdict.reasons


def test_the_documented_sort_objects_pass_by_shape_with_a_note_on_the_sdks_typing():
    body = changed(SEARCH, lambda b: b.update(sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]))
    verdict = check(recorded("POST", "/crm/objects/2026-09/contacts/search", body))
    assert (verdict.outcome, verdict.reasons) == (ACCEPTED, ())
    assert any("hubspot-api-python#236" in note for note in verdict.notes)
    assert not any("#236" in note for note in check(recorded("POST", "/crm/v3/objects/contacts/search",
                                                              SEARCH)).notes)  # strings: nothing to note


def test_a_listing_is_replayed_through_the_sdks_get_page():
    query = "limit=100&after=200&properties=email%2Cfirstname&archived=false"
    assert check(recorded("GET", "/crm/objects/2026-09/contacts", query=query)).outcome == ACCEPTED
    unknown = check(recorded("GET", "/crm/v3/objects/contacts", query="limit=100&sort=email"))
    assert unknown.outcome == REFUSED and unknown.reasons == ("query sort: no such parameter in the SDK's get_page",)


def test_a_property_read_is_replayed_through_the_sdks_get_by_name():
    ok = check(recorded("GET", "/crm/properties/2026-09/contacts/lifecyclestage"))
    assert (ok.outcome, ok.endpoint) == (ACCEPTED, "GET /crm/properties/{version}/{type}/{name}")
    assert check(recorded("GET", "/crm/v3/properties/contacts/email", query="limit=5")).outcome == REFUSED


def test_a_body_that_is_not_json_is_refused():
    verdict = check(RecordedRequest("hubspot", "POST", "/crm/v3/objects/contacts/batch/update", "", "text/plain",
                                    b"inputs=1", 200))
    assert verdict.outcome == REFUSED and "not JSON" in verdict.reasons[0]
