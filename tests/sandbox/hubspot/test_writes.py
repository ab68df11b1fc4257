"""HubSpot sandbox: batch read/create/update/upsert/archive, 207 Multi-Status, value rules, lifecycle order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from support.clock import Clock

from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
BATCH = "/crm/v3/objects/contacts/batch/"
NOT_FOUND = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."




def make(**kwargs):
    clock = Clock(START.timestamp())
    sandbox = HubSpotSandbox(clock=clock, rate_per_10s=None, **kwargs)
    return sandbox, create_app(sandbox).test_client(), clock


def post(client, operation: str, inputs: list[dict], obj: str = "contacts", **extra):
    return client.post(f"/crm/v3/objects/{obj}/batch/{operation}", json={"inputs": inputs, **extra}, headers=AUTH)


def stage(sandbox, contact_id: str) -> str | None:
    return sandbox.get("contacts", contact_id)["properties"].get("lifecyclestage")


@pytest.mark.parametrize("operation", ["read", "create", "update", "upsert", "archive"])
def test_more_than_a_hundred_inputs_is_refused(operation):
    sandbox, client, _ = make()
    inputs = [{"id": str(i), "properties": {"firstname": "x"}} for i in range(101)]
    response = post(client, operation, inputs)
    assert response.status_code == 400
    assert response.json["category"] == "VALIDATION_ERROR"
    assert response.json["message"] == ("The maximum number of inputs supported in a batch is 100. "
                                        "Please reduce the number of items and try again")
    assert sandbox.records("contacts") == []


def test_a_hundred_creates_are_accepted_with_201_and_increasing_ids():
    sandbox, client, _ = make()
    response = post(client, "create", [{"properties": {"email": f"p{i}@example.com"}} for i in range(100)])
    assert response.status_code == 201
    assert response.json["status"] == "COMPLETE" and len(response.json["results"]) == 100
    ids = [int(r["id"]) for r in sandbox.records("contacts")]
    assert ids == sorted(ids) and len(set(ids)) == 100
    assert [r["id"] for r in response.json["results"]] != [str(i) for i in ids]  # order is not kept


def test_results_order_is_shuffled_deterministically():
    orders = []
    for _ in range(2):
        sandbox, client, _ = make()
        ids = [sandbox.put("contacts", {"email": f"p{i}@example.com"}) for i in range(20)]
        orders.append([r["id"] for r in post(client, "read", [{"id": i} for i in ids]).json["results"]])
    assert orders[0] == orders[1]
    assert orders[0] != ids and sorted(orders[0]) == ids


def test_update_with_an_unknown_id_is_a_207_naming_it_and_the_rest_is_written():
    sandbox, client, _ = make()
    known = sandbox.put("contacts", {"email": "a@example.com"})
    response = post(client, "update", [{"id": known, "properties": {"firstname": "Ann"}},
                                       {"id": "999999", "properties": {"firstname": "Ghost"}}])
    assert response.status_code == 207
    body = response.json
    assert body["status"] == "COMPLETE" and body["numErrors"] == 1
    assert body["errors"] == [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": NOT_FOUND,
                               "context": {"ids": ["999999"]}}]
    assert [r["id"] for r in body["results"]] == [known]
    assert body["results"][0]["properties"]["firstname"] == "Ann"
    assert {"startedAt", "completedAt"} <= set(body)
    assert sandbox.get("contacts", known)["properties"]["firstname"] == "Ann"


@pytest.mark.parametrize(("properties", "code"), [
    ({"email": "not-an-email"}, "INVALID_EMAIL"),
    ({"lifecyclestage": "hot"}, "INVALID_OPTION"),
    ({"hs_lead_status": "new"}, "INVALID_OPTION"),  # options are case-sensitive
    ({"firstname": 42}, "INVALID_PROPERTY_VALUE_TYPE"),
    ({"firstname": True}, "INVALID_PROPERTY_VALUE_TYPE"),
    ({"firstname": None}, "INVALID_PROPERTY_VALUE_TYPE"),
    ({"favourite_colour": "blue"}, "PROPERTY_DOESNT_EXIST"),
    ({"lastmodifieddate": "2026-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
    ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
])
def test_an_invalid_value_without_a_trace_id_refuses_the_whole_batch(properties, code):
    sandbox, client, _ = make()
    good = sandbox.put("contacts", {"email": "a@example.com", "firstname": "Ann"})
    bad = sandbox.put("contacts", {"email": "b@example.com"})
    response = post(client, "update", [{"id": good, "properties": {"firstname": "Anna"}},
                                       {"id": bad, "properties": properties}])
    assert response.status_code == 400
    body = response.json
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [{\"isValid\":false")
    assert body["errors"][0]["code"] == code and body["errors"][0]["in"] == next(iter(properties))
    assert sandbox.get("contacts", good)["properties"]["firstname"] == "Ann"  # nothing was written
    assert sandbox.writes == []


def test_with_trace_ids_only_the_invalid_input_fails_in_a_207():
    sandbox, client, _ = make()
    good = sandbox.put("contacts", {"email": "a@example.com"})
    bad = sandbox.put("contacts", {"email": "b@example.com"})
    response = post(client, "update", [
        {"id": good, "properties": {"firstname": "Anna"}, "objectWriteTraceId": "t-good"},
        {"id": bad, "properties": {"email": "nope", "amount": 5}, "objectWriteTraceId": "t-bad"}])
    assert response.status_code == 207
    (error,) = response.json["errors"]
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert error["context"] == {"objectWriteTraceId": ["t-bad"]}
    assert {e["in"] for e in error["errors"]} == {"email", "amount"}
    assert "Email address nope is invalid" in error["message"]
    assert response.json["results"][0]["objectWriteTraceId"] == "t-good"
    assert sandbox.get("contacts", good)["properties"]["firstname"] == "Anna"
    assert sandbox.get("contacts", bad)["properties"]["email"] == "b@example.com"


def test_unknown_ids_with_trace_ids_are_named_one_error_each():
    _, client, _ = make()
    response = post(client, "update", [{"id": "7", "properties": {}, "objectWriteTraceId": "a"},
                                       {"id": "8", "properties": {}, "objectWriteTraceId": "b"}])
    assert response.status_code == 207 and response.json["numErrors"] == 2
    assert {tuple(e["context"]["objectWriteTraceId"]) for e in response.json["errors"]} == {("a",), ("b",)}
    assert all(e["context"]["ids"] for e in response.json["errors"])


def test_duplicate_ids_in_one_update_are_refused():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com"})
    response = post(client, "update", [{"id": contact, "properties": {}}, {"id": contact, "properties": {}}])
    assert response.status_code == 400 and "Duplicate IDs" in response.json["message"]


def test_creating_an_existing_email_conflicts():
    sandbox, client, _ = make()
    existing = sandbox.put("contacts", {"email": "Ana@Example.com"})
    response = post(client, "create", [{"properties": {"email": "ana@example.com"}}])
    assert response.status_code == 409
    assert response.json["category"] == "CONFLICT"
    assert response.json["message"] == f"Contact already exists. Existing ID: {existing}"
    traced = post(client, "create", [{"properties": {"email": "ana@example.com"}, "objectWriteTraceId": "0"},
                                     {"properties": {"email": "new@example.com"}, "objectWriteTraceId": "1"}])
    assert traced.status_code == 207
    assert traced.json["errors"][0]["context"] == {"existingId": [existing], "objectWriteTraceId": ["0"]}
    assert len(sandbox.records("contacts")) == 2


def test_upsert_by_email_creates_or_updates_and_says_which():
    sandbox, client, _ = make()
    existing = sandbox.put("contacts", {"email": "old@example.com", "firstname": "Old"})
    response = post(client, "upsert", [
        {"id": "old@example.com", "idProperty": "email", "properties": {"firstname": "Still"}},
        {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}}])
    assert response.status_code == 200
    by_new = {r["new"]: r for r in response.json["results"]}
    assert by_new[False]["id"] == existing and by_new[False]["properties"]["firstname"] == "Still"
    created = sandbox.get("contacts", by_new[True]["id"])["properties"]
    assert created["email"] == "new@example.com" and created["firstname"] == "New"


def test_upsert_refuses_an_id_property_that_is_not_unique_and_an_invalid_email_id():
    _, client, _ = make()
    assert post(client, "upsert", [{"id": "Ann", "idProperty": "firstname", "properties": {}}]).status_code == 400
    invalid = post(client, "upsert", [{"id": "nope", "idProperty": "email", "properties": {}}])
    assert invalid.status_code == 400 and invalid.json["errors"][0]["code"] == "INVALID_EMAIL"


def test_deals_have_no_email_to_upsert_on():
    _, client, _ = make()
    response = post(client, "upsert", [{"id": "x@example.com", "idProperty": "email", "properties": {}}], "deals")
    assert response.status_code == 400


def test_lifecycle_moves_forward_ignores_backward_and_accepts_a_clear_then_an_earlier_stage():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com", "lifecyclestage": "lead"})

    def move(value: str) -> int:
        return post(client, "update", [{"id": contact, "properties": {"lifecyclestage": value}}]).status_code

    assert move("opportunity") == 200 and stage(sandbox, contact) == "opportunity"
    assert move("lead") == 200 and stage(sandbox, contact) == "opportunity"  # silently kept
    assert move("") == 200 and stage(sandbox, contact) is None
    assert move("lead") == 200 and stage(sandbox, contact) == "lead"
    assert [w["changed"] for w in sandbox.writes] == [["lifecyclestage"], [], ["lifecyclestage"], ["lifecyclestage"]]


def test_backward_lifecycle_can_be_accepted():
    sandbox, client, _ = make(backward_lifecycle="accept")
    contact = sandbox.put("contacts", {"email": "a@example.com", "lifecyclestage": "customer"})
    post(client, "update", [{"id": contact, "properties": {"lifecyclestage": "lead"}}])
    assert stage(sandbox, contact) == "lead"


def test_writes_move_the_modification_time_only_when_a_value_changes_and_are_logged():
    sandbox, client, clock = make()
    contact = sandbox.put("contacts", {"email": "a@example.com", "firstname": "Ann"}, at=START - timedelta(days=3))
    clock.now += 60
    post(client, "update", [{"id": contact, "properties": {"firstname": "Ann"}}])
    assert sandbox.get("contacts", contact)["updatedAt"] == "2026-11-24T10:00:00.000Z"
    post(client, "update", [{"id": contact, "properties": {"firstname": "Anna"}}])
    record = sandbox.get("contacts", contact)
    assert record["updatedAt"] == record["properties"]["lastmodifieddate"] == "2026-11-27T10:01:00.000Z"
    assert sandbox.writes[-1] == {"object": "contacts", "id": contact, "operation": "update",
                                  "properties": {"firstname": "Anna"}, "changed": ["firstname"], "source": "API",
                                  "at": "2026-11-27T10:01:00.000Z"}


def test_batch_read_returns_found_records_and_a_207_for_missing_ids():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com", "city": "Madrid"})
    response = post(client, "read", [{"id": contact}, {"id": "404040"}], properties=["city"])
    assert response.status_code == 207
    assert response.json["errors"][0]["context"] == {"ids": ["404040"]}
    assert response.json["results"][0]["properties"]["city"] == "Madrid"
    by_email = post(client, "read", [{"id": "A@example.com"}], idProperty="email")
    assert by_email.status_code == 200 and by_email.json["results"][0]["id"] == contact
    assert post(client, "read", [{"id": contact}], properties="city").status_code == 400


def test_batch_read_with_history_allows_fifty_inputs():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com"})
    assert post(client, "read", [{"id": contact}] * 51, propertiesWithHistory=["email"]).status_code == 400
    history = post(client, "read", [{"id": contact}], propertiesWithHistory=["email"]).json["results"][0]
    assert history["propertiesWithHistory"]["email"][0]["value"] == "a@example.com"


def test_archive_answers_204_and_moves_records_to_the_archive():
    sandbox, client, _ = make()
    ids = [sandbox.put("contacts", {"email": f"p{i}@example.com"}) for i in range(3)]
    response = post(client, "archive", [{"id": ids[0]}, {"id": "999999"}])
    assert response.status_code == 204 and response.data == b""
    assert [r["id"] for r in sandbox.records("contacts", archived=True)] == [ids[0]]
    assert sandbox.writes[-1]["operation"] == "archive"
    reused = post(client, "create", [{"properties": {"email": "p0@example.com"}}])
    assert reused.status_code == 201  # an archived contact's e-mail is free again


def test_created_deals_can_be_associated_with_contacts():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com"})
    response = post(client, "create", [{"properties": {"dealname": "D", "amount": "10.5", "dealstage": "closedwon"},
                                        "associations": [{"to": {"id": contact}, "types": [
                                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]}],
                    "deals")
    assert response.status_code == 201
    deal = response.json["results"][0]["id"]
    assert sandbox.associations.of("deals", int(deal), "contacts") == [int(contact)]
    missing = post(client, "create", [{"properties": {"dealname": "E"}, "associations": [
        {"to": {"id": "1"}, "types": [{"associationTypeId": 3}]}]}], "deals")
    assert missing.status_code == 400


def test_deal_amount_must_be_a_number_and_stage_an_option():
    _, client, _ = make()
    assert post(client, "create", [{"properties": {"amount": "lots"}}], "deals").json["errors"][0]["code"] == \
        "INVALID_DOUBLE"
    assert post(client, "create", [{"properties": {"dealstage": "won"}}], "deals").status_code == 400


def test_single_record_create_update_and_delete():
    sandbox, client, _ = make()
    created = client.post("/crm/v3/objects/contacts", json={"properties": {"email": "a@example.com"}}, headers=AUTH)
    assert created.status_code == 201
    contact = created.json["id"]
    updated = client.patch(f"/crm/v3/objects/contacts/{contact}", json={"properties": {"firstname": "A"}},
                           headers=AUTH)
    assert updated.status_code == 200 and updated.json["properties"]["firstname"] == "A"
    missing = client.patch("/crm/v3/objects/contacts/999999", json={"properties": {}}, headers=AUTH)
    assert missing.status_code == 404
    invalid = client.patch(f"/crm/v3/objects/contacts/{contact}", json={"properties": {"email": "x"}}, headers=AUTH)
    assert invalid.status_code == 400
    assert client.delete(f"/crm/v3/objects/contacts/{contact}", headers=AUTH).status_code == 204
    assert sandbox.records("contacts") == []


def test_v4_association_batch_read_reports_records_without_links_as_207_errors():
    sandbox, client, _ = make()
    contact = sandbox.put("contacts", {"email": "a@example.com"})
    deal, lonely = sandbox.put("deals", {"dealname": "D"}), sandbox.put("deals", {"dealname": "L"})
    sandbox.associate(deal, contact)
    response = client.post("/crm/v4/associations/deals/contacts/batch/read",
                           json={"inputs": [{"id": deal}, {"id": lonely}]}, headers=AUTH)
    assert response.status_code == 207
    assert response.json["results"] == [{"from": {"id": deal}, "to": [{"toObjectId": int(contact), "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}]}]
    (error,) = response.json["errors"]
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["message"] == f"No contact is associated with deal {lonely}."
    assert error["context"] == {"fromObjectId": [lonely], "fromObjectType": ["deal"], "toObjectType": ["contact"]}
    reverse = client.post("/crm/v4/associations/contacts/deals/batch/read", json={"inputs": [{"id": contact}]},
                          headers=AUTH)
    assert reverse.status_code == 200 and reverse.json["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 4
    assert sandbox.calls["POST /crm/v4/associations/deals/contacts/batch/read"] == 1


def test_v4_association_batch_read_allows_a_thousand_inputs():
    _, client, _ = make()
    url = "/crm/v4/associations/deals/contacts/batch/read"
    assert client.post(url, json={"inputs": [{"id": "1"}] * 1000}, headers=AUTH).status_code == 207
    too_many = client.post(url, json={"inputs": [{"id": "1"}] * 1001}, headers=AUTH)
    assert too_many.status_code == 400 and "1000" in too_many.json["message"]


def test_concurrent_creates_get_distinct_ids():
    sandbox, _, _ = make()
    app = create_app(sandbox)

    def create(worker: int) -> None:
        client = app.test_client()
        for batch in range(5):
            inputs = [{"properties": {"email": f"w{worker}b{batch}i{i}@example.com"}} for i in range(20)]
            assert post(client, "create", inputs).status_code == 201

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r["id"] for r in sandbox.records("contacts")]
    assert len(ids) == len(set(ids)) == 400
