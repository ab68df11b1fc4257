"""HubSpot sandbox: list paging, get, archived records, associations, properties API, seeding, call counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}


def seeded(contacts: int = 0, deals: int = 0, **kwargs):
    sandbox = HubSpotSandbox.seeded(contacts, deals, clock=lambda: START.timestamp(), rate_per_10s=None,
                                    search_per_second=None, **kwargs)
    return sandbox, create_app(sandbox).test_client()


def walk(client, path: str, **params) -> list[dict]:
    """Every record of a listing, following paging.next.after."""
    records, after, pages = [], None, 0
    while True:
        query = {**params, **({"after": after} if after else {})}
        body = client.get(path, query_string=query, headers=AUTH).json
        records.extend(body["results"])
        pages += 1
        assert pages < 1000
        if "paging" not in body:
            return records
        after = body["paging"]["next"]["after"]


def test_list_defaults_to_ten_records_in_id_order_with_a_next_cursor():
    _, client = seeded(25)
    body = client.get("/crm/v3/objects/contacts", headers=AUTH).json
    ids = [int(r["id"]) for r in body["results"]]
    assert len(ids) == 10 and ids == sorted(ids)
    nxt = body["paging"]["next"]
    assert int(nxt["after"]) > ids[-1]
    assert nxt["link"].endswith(f"/crm/v3/objects/contacts?after={nxt['after']}")


def test_walking_the_cursor_returns_every_record_exactly_once():
    sandbox, client = seeded(257)
    records = walk(client, "/crm/v3/objects/contacts", limit=100)
    assert [r["id"] for r in records] == [r["id"] for r in sandbox.records("contacts")]
    assert len(records) == 257
    assert sandbox.calls["GET /crm/v3/objects/contacts"] == 3


def test_the_next_link_repeats_the_request_parameters():
    _, client = seeded(12)
    first = client.get("/crm/v3/objects/contacts?limit=5&properties=email&properties=city", headers=AUTH).json
    link = first["paging"]["next"]["link"]
    assert "limit=5" in link and "properties=email" in link and "properties=city" in link
    second = client.get(link, headers=AUTH).json
    assert len(second["results"]) == 5
    assert second["results"][0]["id"] == first["paging"]["next"]["after"]
    assert "city" in second["results"][0]["properties"]


def test_an_empty_properties_parameter_means_the_defaults():
    sandbox, client = seeded()
    sandbox.put("contacts", {"email": "a@example.com", "firstname": "A", "city": "X"})
    props = client.get("/crm/v3/objects/contacts?properties=", headers=AUTH).json["results"][0]["properties"]
    assert set(props) == {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}


@pytest.mark.parametrize("limit", ["101", "0", "-1", "ten"])
def test_list_refuses_a_bad_limit(limit):
    _, client = seeded(3)
    response = client.get("/crm/v3/objects/contacts", query_string={"limit": limit}, headers=AUTH)
    assert response.status_code == 400
    assert response.json["category"] == "VALIDATION_ERROR"


def test_properties_selects_what_comes_back_unknown_ones_are_absent_and_unset_ones_null():
    sandbox, client = seeded()
    sandbox.put("contacts", {"email": "ana@example.com", "firstname": "Ana"})
    body = client.get("/crm/v3/objects/contacts", query_string={"properties": "email,phone,nonsense"},
                      headers=AUTH).json
    props = body["results"][0]["properties"]
    assert set(props) == {"email", "phone", "hs_object_id", "createdate", "lastmodifieddate"}
    assert props["phone"] is None and props["email"] == "ana@example.com"


def test_repeated_properties_parameters_are_merged():
    sandbox, client = seeded()
    sandbox.put("contacts", {"email": "ana@example.com", "firstname": "Ana", "city": "Madrid"})
    response = client.get("/crm/v3/objects/contacts?properties=firstname&properties=city", headers=AUTH)
    assert {"firstname", "city"} <= set(response.json["results"][0]["properties"])
    assert "email" not in response.json["results"][0]["properties"]


def test_records_carry_iso_millisecond_timestamps_and_the_modification_property():
    sandbox, client = seeded()
    at = START - timedelta(days=2)
    contact = sandbox.put("contacts", {"email": "a@example.com"}, at=at)
    deal = sandbox.put("deals", {"dealname": "Big one"}, at=at)
    c = client.get(f"/crm/v3/objects/contacts/{contact}", headers=AUTH).json
    d = client.get(f"/crm/v3/objects/deals/{deal}", headers=AUTH).json
    assert c["updatedAt"] == c["properties"]["lastmodifieddate"] == "2026-11-25T10:00:00.000Z"
    assert d["updatedAt"] == d["properties"]["hs_lastmodifieddate"] == "2026-11-25T10:00:00.000Z"
    assert "lastmodifieddate" not in d["properties"]
    assert c["archived"] is False and c["properties"]["hs_object_id"] == contact == c["id"]


def test_archived_records_leave_the_listing_and_appear_only_with_archived_true():
    sandbox, client = seeded(5)
    victim = sandbox.records("contacts")[2]["id"]
    sandbox.archive("contacts", victim, at=START - timedelta(hours=1))
    live = walk(client, "/crm/v3/objects/contacts")
    archived = walk(client, "/crm/v3/objects/contacts", archived="true")
    assert victim not in [r["id"] for r in live] and len(live) == 4
    assert [r["id"] for r in archived] == [victim]
    assert archived[0]["archived"] is True and archived[0]["archivedAt"] == "2026-11-27T09:00:00.000Z"
    assert client.get(f"/crm/v3/objects/contacts/{victim}", headers=AUTH).status_code == 404
    assert client.get(f"/crm/v3/objects/contacts/{victim}?archived=true", headers=AUTH).status_code == 200


def test_deals_list_their_contacts_when_asked():
    sandbox, client = seeded(3, 4)
    deal = sandbox.records("deals")[0]["id"]
    contact = sandbox.put("contacts", {"email": "extra@example.com"})
    sandbox.associate(deal, contact)
    body = client.get("/crm/v3/objects/deals", query_string={"associations": "contacts", "limit": 100},
                      headers=AUTH).json
    first = body["results"][0]
    links = first["associations"]["contacts"]["results"]
    assert {"id": contact, "type": "deal_to_contact"} in links and len(links) == 2
    plain = client.get("/crm/v3/objects/deals", headers=AUTH).json["results"][0]
    assert "associations" not in plain
    back = client.get(f"/crm/v3/objects/contacts/{contact}?associations=deals", headers=AUTH).json
    assert back["associations"]["deals"]["results"] == [{"id": deal, "type": "contact_to_deal"}]


def test_get_by_email_and_hubspots_404():
    sandbox, client = seeded()
    contact = sandbox.put("contacts", {"email": "Ana.Lopez@Example.com"})
    found = client.get("/crm/v3/objects/contacts/ana.lopez@example.com?idProperty=email", headers=AUTH)
    assert found.status_code == 200 and found.json["id"] == contact
    missing = client.get("/crm/v3/objects/contacts/999999", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json["category"] == "OBJECT_NOT_FOUND"
    assert missing.json["context"] == {"id": ["999999"]}
    bad = client.get("/crm/v3/objects/contacts/x?idProperty=firstname", headers=AUTH)
    assert bad.status_code == 400


def test_properties_api_describes_enumerations_in_order():
    _, client = seeded()
    stage = client.get("/crm/v3/properties/contacts/lifecyclestage", headers=AUTH).json
    assert stage["name"] == "lifecyclestage" and stage["type"] == "enumeration"
    assert [o["value"] for o in stage["options"]] == [
        "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
        "evangelist", "other"]
    assert [o["displayOrder"] for o in stage["options"]] == list(range(8))
    assert stage["options"][3]["label"] == "Sales Qualified Lead" and stage["options"][3]["hidden"] is False
    status = client.get("/crm/v3/properties/contacts/hs_lead_status", headers=AUTH).json
    assert "ATTEMPTED_TO_CONTACT" in [o["value"] for o in status["options"]]
    deal_stage = client.get("/crm/v3/properties/deals/dealstage", headers=AUTH).json
    assert [o["value"] for o in deal_stage["options"]][-2:] == ["closedwon", "closedlost"]
    missing = client.get("/crm/v3/properties/contacts/favourite_colour", headers=AUTH)
    assert missing.status_code == 404 and missing.json["status"] == "error"


def test_custom_properties_can_be_added_and_then_described():
    sandbox, client = seeded()
    sandbox.add_property("contacts", "lifesync_stage", options=("New Lead", "Customer"))
    described = client.get("/crm/v3/properties/contacts/lifesync_stage", headers=AUTH).json
    assert [o["value"] for o in described["options"]] == ["New Lead", "Customer"]


def test_unknown_object_type_route_and_method_answer_json():
    _, client = seeded()
    tickets = client.get("/crm/v3/objects/tickets", headers=AUTH)
    assert tickets.status_code == 400 and tickets.json["message"] == "Unable to infer object type from: tickets"
    nowhere = client.get("/crm/v3/nowhere", headers=AUTH)
    assert nowhere.status_code == 404 and nowhere.json["status"] == "error"
    wrong_method = client.put("/crm/v3/objects/contacts/search", headers=AUTH)
    assert wrong_method.status_code == 405 and wrong_method.is_json


def test_object_type_ids_and_singular_names_are_accepted():
    sandbox, client = seeded(2)
    assert len(client.get("/crm/v3/objects/0-1", headers=AUTH).json["results"]) == 2
    assert sandbox.calls["GET /crm/v3/objects/0-1"] == 1


def test_calls_are_counted_by_method_and_path_template():
    sandbox, client = seeded(2)
    contact = sandbox.records("contacts")[0]["id"]
    client.get(f"/crm/v3/objects/contacts/{contact}", headers=AUTH)
    client.get("/crm/v3/objects/contacts/1", headers=AUTH)
    client.get("/crm/v3/properties/contacts/lifecyclestage", headers=AUTH)
    client.post("/crm/v3/objects/contacts/batch/read", json={"inputs": []}, headers=AUTH)
    client.get("/crm/v3/objects/contacts")  # refused (401) but still a call
    assert sandbox.calls == {"GET /crm/v3/objects/contacts/{id}": 2, "GET /crm/v3/properties/contacts/{name}": 1,
                             "POST /crm/v3/objects/contacts/batch/read": 1, "GET /crm/v3/objects/contacts": 1}
    assert sandbox.api_calls == 5


def test_test_hooks_are_not_api_calls():
    sandbox, _ = seeded()
    contact = sandbox.put("contacts", {"email": "a@example.com"})
    sandbox.put("contacts", {"firstname": "Ann"}, id=contact)
    sandbox.get("contacts", contact)
    sandbox.records("contacts")
    assert sandbox.api_calls == 0 and sandbox.writes == []
    assert sandbox.get("contacts", contact)["properties"]["firstname"] == "Ann"
    with pytest.raises(KeyError):
        sandbox.get("contacts", "424242")


def test_put_with_an_explicit_id_creates_it_and_later_ids_follow():
    sandbox, _ = seeded()
    assert sandbox.put("contacts", {"email": "a@example.com"}, id="5000") == "5000"
    assert int(sandbox.put("contacts", {"email": "b@example.com"})) > 5000


def test_seeding_is_deterministic_and_spreads_modification_over_thirty_days():
    a, _ = seeded(300, 40, seed=9)
    b, _ = seeded(300, 40, seed=9)
    c, _ = seeded(300, 40, seed=10)
    assert a.records("contacts") == b.records("contacts") and a.records("deals") == b.records("deals")
    assert a.records("contacts") != c.records("contacts")
    contacts = a.records("contacts")
    updated = [datetime.fromisoformat(r["updatedAt"]) for r in contacts]
    assert all(START - timedelta(days=30) <= u <= START for u in updated)
    assert max(updated) - min(updated) > timedelta(days=20)
    assert all(r["createdAt"] <= r["updatedAt"] for r in contacts)
    stages = {r["properties"]["lifecyclestage"] for r in contacts}
    assert stages == {"lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"}
    assert all(r["properties"]["phone"].startswith("+") for r in contacts)


def test_seeded_deals_are_complete_and_each_points_at_a_contact():
    sandbox, client = seeded(50, 30)
    contact_ids = {r["id"] for r in sandbox.records("contacts")}
    for deal in walk(client, "/crm/v3/objects/deals", associations="contacts",
                     properties="dealname,amount,dealstage,closedate,deal_currency_code,pipeline"):
        props = deal["properties"]
        assert all(props[name] for name in ("dealname", "amount", "dealstage", "closedate", "pipeline"))
        float(props["amount"])
        assert props["deal_currency_code"] in {"USD", "GBP", "EUR", "MXN", "AED"}
        (link,) = deal["associations"]["contacts"]["results"]
        assert link["id"] in contact_ids


def test_seeding_twenty_thousand_contacts_and_paging_them_all():
    sandbox, client = seeded(20_000)
    assert len(walk(client, "/crm/v3/objects/contacts", limit=100, properties="email")) == 20_000
    assert sandbox.calls["GET /crm/v3/objects/contacts"] == 200


def test_backward_lifecycle_must_be_a_known_mode():
    with pytest.raises(ValueError, match="backward_lifecycle"):
        HubSpotSandbox(backward_lifecycle="sometimes")
