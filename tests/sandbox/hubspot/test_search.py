"""HubSpot sandbox: the search endpoint's filters, sorts, limits, paging, 10,000-result cap and index lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.clock import Clock

from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
SEARCH = "/crm/v3/objects/contacts/search"




def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


@pytest.fixture
def people():
    """Five contacts with known values, modified one hour apart (ids in the same order)."""
    clock = Clock(START.timestamp())
    sandbox = HubSpotSandbox(clock=clock, rate_per_10s=None, search_per_second=None)
    rows = [
        {"email": "ana@example.org", "firstname": "Ana", "lifecyclestage": "lead", "city": "Madrid"},
        {"email": "ben@example.com", "firstname": "Ben", "lifecyclestage": "customer", "city": "London"},
        {"email": "cy@example.org", "firstname": "Cy", "lifecyclestage": "lead"},
        {"email": "dee@example.com", "firstname": "Dee", "lifecyclestage": "opportunity", "city": "Dubai"},
        {"email": "eve@example.net", "firstname": "Eve", "lifecyclestage": "customer", "city": "Madrid"},
    ]
    ids = [sandbox.put("contacts", row, at=START - timedelta(hours=5 - i)) for i, row in enumerate(rows)]
    return sandbox, create_app(sandbox).test_client(), ids, clock


def search(client, *filters, groups=None, **body):
    if groups is None:
        groups = [{"filters": list(filters)}] if filters else []
    return client.post(SEARCH, json={"filterGroups": groups, **body}, headers=AUTH)


def found(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [r["id"] for r in response.json["results"]]


def f(prop: str, op: str, value=None, **extra) -> dict:
    spec = {"propertyName": prop, "operator": op, **extra}
    if value is not None:
        spec["value"] = value
    return spec


@pytest.mark.parametrize(("spec", "expected"), [
    (f("lifecyclestage", "EQ", "customer"), [1, 4]),
    (f("firstname", "EQ", "ana"), [0]),  # string comparisons ignore case
    (f("lifecyclestage", "NEQ", "lead"), [1, 3, 4]),
    (f("lifecyclestage", "IN", values=["lead", "opportunity"]), [0, 2, 3]),
    (f("lifecyclestage", "NOT_IN", values=["lead", "opportunity"]), [1, 4]),
    (f("city", "HAS_PROPERTY"), [0, 1, 3, 4]),
    (f("city", "NOT_HAS_PROPERTY"), [2]),
    (f("email", "CONTAINS_TOKEN", "*@example.org"), [0, 2]),
    (f("email", "NOT_CONTAINS_TOKEN", "*@example.org"), [1, 3, 4]),
    (f("firstname", "LT", "c"), [0, 1]),
    (f("lastmodifieddate", "GT", ms(START - timedelta(hours=3))), [3, 4]),
    (f("lastmodifieddate", "GTE", ms(START - timedelta(hours=3))), [2, 3, 4]),
    (f("lastmodifieddate", "GTE", "2026-11-27T07:00:00.000Z"), [2, 3, 4]),  # ISO and epoch ms agree
    (f("lastmodifieddate", "LTE", "2026-11-27T06:00:00Z"), [0, 1]),
    (f("lastmodifieddate", "LT", ms(START - timedelta(hours=4))), [0]),
    (f("lastmodifieddate", "BETWEEN", ms(START - timedelta(hours=4)), highValue="2026-11-27T08:00:00.000Z"),
     [1, 2, 3]),
    (f("lastmodifieddate", "EQ", "2026-11-27T09:00:00.000Z"), [4]),
])
def test_operators(people, spec, expected):
    _, client, ids, _ = people
    assert found(search(client, spec)) == [ids[i] for i in expected]


def test_hs_object_id_compares_as_a_number(people):
    _, client, ids, _ = people
    assert found(search(client, f("hs_object_id", "GT", ids[2]))) == ids[3:]
    assert found(search(client, f("hs_object_id", "IN", values=[ids[1], ids[4]]))) == [ids[1], ids[4]]


def test_filters_in_a_group_and_groups_or(people):
    _, client, ids, _ = people
    madrid_customers = [{"filters": [f("city", "EQ", "Madrid"), f("lifecyclestage", "EQ", "customer")]}]
    assert found(search(client, groups=madrid_customers)) == [ids[4]]
    either = [{"filters": [f("city", "EQ", "Dubai")]}, {"filters": [f("firstname", "EQ", "Ana")]}]
    assert found(search(client, groups=either)) == [ids[0], ids[3]]


def test_cleared_values_do_not_count_as_having_the_property(people):
    sandbox, client, ids, _ = people
    sandbox.put("contacts", {"city": ""}, id=ids[0])
    assert ids[0] in found(search(client, f("city", "NOT_HAS_PROPERTY")))


def test_sorts_long_and_short_forms_ties_by_id(people):
    sandbox, client, ids, _ = people
    descending = [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}]
    assert found(search(client, sorts=descending)) == list(reversed(ids))
    assert found(search(client, sorts=["-lastmodifieddate"])) == list(reversed(ids))
    assert found(search(client, sorts=["firstname"])) == ids
    sandbox.put("contacts", {}, id=ids[4], at=START - timedelta(hours=5))  # same time as ids[0]
    assert found(search(client, sorts=["lastmodifieddate"]))[:2] == [ids[0], ids[4]]


def test_records_without_the_sort_value_come_last(people):
    _, client, ids, _ = people
    assert found(search(client, sorts=[{"propertyName": "city", "direction": "ASCENDING"}]))[-1] == ids[2]


def test_properties_select_what_search_returns(people):
    _, client, _, _ = people
    result = search(client, properties=["city"]).json["results"][0]
    assert set(result["properties"]) == {"city", "hs_object_id", "createdate", "lastmodifieddate"}


def test_free_text_query(people):
    _, client, ids, _ = people
    assert found(search(client, query="example.net")) == [ids[4]]
    assert found(search(client, f("lifecyclestage", "EQ", "lead"), query="cy")) == [ids[2]]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"filterGroups": [{"filters": [f("city", "HAS_PROPERTY")]}] * 6}, "filter groups"),
    ({"filterGroups": [{"filters": [f("city", "HAS_PROPERTY")] * 11}]}, "filter group allows at most 10"),
    ({"filterGroups": [{"filters": [f("city", "HAS_PROPERTY")] * 9}] * 3}, "at most 25"),
    ({"limit": 201}, "limit"),
    ({"sorts": ["city", "email"]}, "one sort"),
    ({"sorts": [{"propertyName": "city", "direction": "UP"}]}, "direction"),
    ({"filterGroups": [{"filters": [f("city", "LIKE", "x")]}]}, "operator"),
    ({"filterGroups": [{"filters": [f("city", "IN")]}]}, "values"),
    ({"filterGroups": [{"filters": [f("city", "EQ")]}]}, "value"),
    ({"filterGroups": [{"filters": [f("lastmodifieddate", "GT", "yesterday")]}]}, "not a valid date"),
    ({"filterGroups": [{"filters": [f("lastmodifieddate", "BETWEEN", "1")]}]}, "highValue"),
    ({"after": "abc"}, "after"),
])
def test_invalid_searches_are_refused_with_a_validation_error(people, body, fragment):
    _, client, _, _ = people
    response = client.post(SEARCH, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json["category"] == "VALIDATION_ERROR"
    assert fragment in response.json["message"]


def test_the_largest_allowed_query_is_accepted(people):
    _, client, _, _ = people
    groups = [{"filters": [f("city", "HAS_PROPERTY")] * 5}] * 5
    assert search(client, groups=groups, limit=200).status_code == 200


def test_a_body_that_is_not_json_is_a_400(people):
    _, client, _, _ = people
    response = client.post(SEARCH, data="{filterGroups:", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["category"] == "VALIDATION_ERROR"


def test_default_limit_total_and_paging(people):
    sandbox, client, _, _ = people
    for i in range(20):
        sandbox.put("contacts", {"email": f"x{i}@example.com"}, at=START - timedelta(days=1))
    first = search(client).json
    assert len(first["results"]) == 10 and first["total"] == 25
    assert first["paging"] == {"next": {"after": "10"}}
    last = search(client, after="20").json
    assert len(last["results"]) == 5 and "paging" not in last


def test_archived_records_never_appear(people):
    sandbox, client, ids, _ = people
    sandbox.archive("contacts", ids[1])
    assert ids[1] not in found(search(client, limit=100))
    assert search(client).json["total"] == 4


def test_index_lag_hides_fresh_writes_until_the_index_catches_up():
    clock = Clock(START.timestamp())
    sandbox = HubSpotSandbox(clock=clock, index_lag=5.0, rate_per_10s=None, search_per_second=None)
    client = create_app(sandbox).test_client()
    old = sandbox.put("contacts", {"email": "old@example.com"}, at=START - timedelta(minutes=1))
    fresh = sandbox.put("contacts", {"email": "fresh@example.com"})
    assert found(search(client)) == [old]
    assert search(client).json["total"] == 1
    assert client.get(f"/crm/v3/objects/contacts/{fresh}", headers=AUTH).status_code == 200  # reads are current
    clock.now += 4.9
    assert found(search(client)) == [old]
    clock.now += 0.2
    assert found(search(client)) == [old, fresh]


def test_a_write_is_seen_by_the_next_search_without_lag(people):
    sandbox, client, ids, _ = people
    assert found(search(client, f("firstname", "EQ", "Zed"))) == []
    sandbox.put("contacts", {"firstname": "Zed"}, id=ids[2])
    assert found(search(client, f("firstname", "EQ", "Zed"))) == [ids[2]]


@pytest.fixture(scope="module")
def crowd():
    """10,050 contacts all modified at the same instant (the case that loops naive cursors)."""
    sandbox = HubSpotSandbox.seeded(10_050, clock=lambda: START.timestamp(), rate_per_10s=None, search_per_second=None)
    for record_id in [r["id"] for r in sandbox.records("contacts")]:
        sandbox.put("contacts", {}, id=record_id, at=START - timedelta(days=1))
    return sandbox, create_app(sandbox).test_client()


def test_paging_stops_at_ten_thousand_results(crowd):
    _, client = crowd
    page = client.post(SEARCH, json={"limit": 200, "after": "9800"}, headers=AUTH).json
    assert page["total"] == 10_050 and len(page["results"]) == 200
    assert page["paging"]["next"]["after"] == "10000"  # HubSpot still offers the cursor it will refuse
    refused = client.post(SEARCH, json={"limit": 200, "after": page["paging"]["next"]["after"]}, headers=AUTH)
    assert refused.status_code == 400
    assert refused.json["category"] == "VALIDATION_ERROR" and refused.json["status"] == "error"
    assert "10000" in refused.json["message"]


def test_a_page_that_would_cross_the_cap_is_cut_at_it(crowd):
    _, client = crowd
    page = client.post(SEARCH, json={"limit": 200, "after": 9900}, headers=AUTH).json
    assert len(page["results"]) == 100 and page["paging"]["next"]["after"] == "10000"


def test_an_id_floor_reads_past_the_cap_without_missing_or_repeating(crowd):
    sandbox, client = crowd
    seen: list[str] = []
    floor = "0"
    while True:
        after = 0
        while True:
            body = {"filterGroups": [{"filters": [f("hs_object_id", "GT", floor),
                                                  f("lastmodifieddate", "LTE", ms(START))]}],
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}], "limit": 200,
                    "after": after, "properties": ["email"]}
            page = client.post(SEARCH, json=body, headers=AUTH).json
            seen.extend(r["id"] for r in page["results"])
            nxt = page.get("paging", {}).get("next", {}).get("after")
            if nxt is None or int(nxt) >= 10_000:
                break
            after = int(nxt)
        if nxt is None:
            break
        floor = seen[-1]
    assert seen == [r["id"] for r in sandbox.records("contacts")]
