"""HubSpot pulls: list paging, search windows paged by id, bookmarks, resumable cursors, deletes, associations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from connectors.hubspot.hubspot_fakes import BASE, PATHS, Portal, fixture, ms, record
from responses import matchers

from sync.errors import PermanentError
from sync.mappings import apply, load_mapping

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the simulated clock's time: every run's start
BOOKMARK = "2026-03-01T10:00:00.000Z"
CONTACT_PROPERTIES = "email,firstname,lastmodifieddate,lastname,lifecyclestage"
SHAPE = {"id", "properties", "createdAt", "updatedAt", "archived"}


def cursor(bookmark: str | None = BOOKMARK) -> dict:
    return {"v": 1, "bookmark": bookmark, "run": None}


def no_archived(mock, obj: str = "contacts") -> None:
    mock.add(responses.GET, f"{BASE}{PATHS.objects(obj)}", json={"results": []},
             match=[matchers.query_param_matcher({"limit": "100", "archived": "true"}, strict_match=False)])


def ids(pages) -> list[str]:
    return [r["id"] for p in pages for r in p.records]


def test_first_sync_lists_every_page_with_the_mapping_properties_and_bookmarks_the_run_start(make, mock):
    url = f"{BASE}{PATHS.objects('contacts')}"
    mock.add(responses.GET, url, json=fixture("contacts_list_page1.json"),
             match=[matchers.query_param_matcher({"limit": "100", "properties": CONTACT_PROPERTIES})])
    mock.add(responses.GET, url, json=fixture("contacts_list_page2.json"),
             match=[matchers.query_param_matcher({"limit": "100", "properties": CONTACT_PROPERTIES, "after": "53"})])
    connector = make()
    pages = list(connector.pull("contacts", {}))

    assert [p.object for p in pages] == ["contacts", "contacts"]
    assert ids(pages) == ["51", "52", "77"]
    assert all(set(r) == SHAPE for p in pages for r in p.records)
    assert pages[0].records[0]["properties"]["email"] == "ana.lopez@example.com"
    assert pages[0].cursor["run"]["mode"] == "list" and pages[0].cursor["run"]["after"] == "53"
    # a first sync has nothing to delete: no archived pass; the next run searches from the run start
    assert pages[-1].cursor == cursor("2026-03-01T12:00:00.000Z")
    assert connector.stats.as_dict() == {"records": 3, "pages": 2, "api_calls": 2, "rate_limit_waits": 0,
                                         "rate_limit_seconds": 0.0, "deleted": 0}


def test_records_have_the_shape_the_bundled_contacts_mapping_reads(make, mock):
    mock.add(responses.GET, f"{BASE}{PATHS.objects('contacts')}", json=fixture("contacts_list_page2.json"))
    (page,) = make().pull("contacts", {})
    patch = apply(load_mapping("config/mappings/hubspot_contacts.yaml"), page.records[0])
    assert patch.record_id == "77" and patch.stage == "Customer" and not patch.deleted
    assert ("hubspot", "77") in {(i.kind, i.value) for i in patch.identities}
    assert patch.source_time == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_incremental_search_request_is_exact(make, mock):
    body = {
        "filterGroups": [{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(ms("2026-03-01T09:55:00Z"))},
            {"propertyName": "lastmodifieddate", "operator": "LTE", "value": str(ms("2026-03-01T12:00:00Z"))},
            {"propertyName": "hs_object_id", "operator": "GTE", "value": "0"},
        ]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": ["email", "firstname", "lastmodifieddate", "lastname", "lifecyclestage"],
        "limit": 200,
    }
    found = [record("contacts", 51, "2026-03-01T11:00:00.000Z")]
    mock.add(responses.POST, f"{BASE}{PATHS.search('contacts')}", json={"total": 1, "results": found},
             match=[matchers.json_params_matcher(body, strict_match=True)])
    no_archived(mock)
    pages = list(make().pull("contacts", cursor()))
    assert ids(pages) == ["51"]
    assert pages[-1].cursor == cursor("2026-03-01T11:00:00.000Z")


def test_deals_search_filters_on_hs_lastmodifieddate(make, mock):
    portal = Portal("deals", [record("deals", 7, "2026-03-01T11:00:00.000Z")]).install(mock)
    mock.add(responses.POST, f"{BASE}{PATHS.associations('deals', 'contacts')}", json={"results": []})
    no_archived(mock, "deals")
    pages = list(make().pull("deals", cursor()))
    assert ids(pages) == ["7"]
    filters = portal.bodies[0]["filterGroups"][0]["filters"]
    assert [f["propertyName"] for f in filters] == ["hs_lastmodifieddate", "hs_lastmodifieddate", "hs_object_id"]
    assert portal.bodies[0]["properties"] == ["amount", "dealstage", "hs_lastmodifieddate"]


def test_lookback_window_rereads_what_the_search_index_may_have_missed(make, mock):
    bookmark = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    def at(delta: timedelta) -> str:
        return (bookmark + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    portal = Portal("contacts", [record("contacts", 1, at(timedelta(seconds=-90))),
                                 record("contacts", 2, at(timedelta(seconds=-30))),
                                 record("contacts", 3, at(timedelta(minutes=30)))]).install(mock)
    no_archived(mock)
    connector = make({"LIFESYNC_HUBSPOT_TOKEN": "pat-x", "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "60"})
    pages = list(connector.pull("contacts", cursor()))
    assert ids(pages) == ["2", "3"]  # 30 s before the bookmark: inside the 60 s lookback; 90 s: outside
    assert portal.bodies[0]["filterGroups"][0]["filters"][0]["value"] == str(ms("2026-03-01T09:59:00Z"))


@pytest.mark.parametrize(("answer", "previous", "expected"), [
    (["2026-03-01T11:30:00.000Z", "2026-03-01T10:30:00.000Z"], BOOKMARK, "2026-03-01T11:30:00.000Z"),
    # a record newer than the run start (index quirk): the bookmark stays at the run start
    (["2026-03-01T12:05:00.000Z"], BOOKMARK, "2026-03-01T12:00:00.000Z"),
    ([], BOOKMARK, BOOKMARK),  # nothing changed: keep the bookmark
    (["2026-03-01T09:58:00.000Z"], BOOKMARK, BOOKMARK),  # only lookback re-reads: never move backwards
])
def test_bookmark_is_the_min_of_the_max_seen_and_the_run_start(make, mock, answer, previous, expected):
    found = [record("contacts", 10 + i, t) for i, t in enumerate(answer)]
    mock.add(responses.POST, f"{BASE}{PATHS.search('contacts')}", json={"total": len(found), "results": found})
    no_archived(mock)
    pages = list(make().pull("contacts", cursor(previous)))
    assert pages[-1].cursor == cursor(expected)


def test_more_than_10000_records_sharing_one_timestamp_are_all_read_once_without_hitting_the_cap(make, mock):
    same = "2026-03-01T11:00:00.000Z"
    total = 10_450
    portal = Portal("contacts", [record("contacts", 1000 + i, same) for i in range(total)]).install(mock)
    no_archived(mock)
    connector = make()
    pages = list(connector.pull("contacts", cursor()))

    read = ids(pages)
    assert len(read) == total and len(set(read)) == total  # none missed, none repeated
    assert portal.refused == 0 and all("after" not in b for b in portal.bodies)
    floors = [int(b["filterGroups"][0]["filters"][2]["value"]) for b in portal.bodies]
    assert floors == sorted(set(floors)) and floors[0] == 0  # the id floor only rises: the loop ends
    assert len(portal.bodies) == -(-total // 200)
    assert pages[-1].cursor == cursor(same)
    # the simulation enforces HubSpot's cap: offset paging to result 10,001 is refused
    refused = requests.post(f"{BASE}{PATHS.search('contacts')}",
                            json={**portal.bodies[0], "after": "10000"}, timeout=5)
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"


def test_resuming_from_any_page_cursor_repeats_nothing_and_misses_nothing(make, mock, clock):
    found = [record("contacts", 100 + i, f"2026-03-01T11:{i % 60:02d}:00.000Z") for i in range(450)]
    Portal("contacts", found).install(mock)
    mock.add(responses.GET, f"{BASE}{PATHS.objects('contacts')}", json=fixture("contacts_archived_page.json"),
             match=[matchers.query_param_matcher({"archived": "true"}, strict_match=False)])
    whole = list(make().pull("contacts", cursor()))
    assert [len(p.records) for p in whole] == [200, 200, 50, 2]  # three search pages, then the deletes

    for k, page in enumerate(whole[:-1]):
        clock.now += 3600  # a restart later: the interrupted run keeps its own start and window
        rest = list(make().pull("contacts", json.loads(json.dumps(page.cursor))))
        assert ids(rest) == ids(whole[k + 1:])
        assert rest[-1].cursor == whole[-1].cursor


def test_resuming_a_full_list_run_continues_after_the_last_page(make, mock):
    mock.add(responses.GET, f"{BASE}{PATHS.objects('contacts')}", json=fixture("contacts_list_page2.json"),
             match=[matchers.query_param_matcher({"after": "53"}, strict_match=False)])
    run = {"mode": "list", "phase": "live", "start": "2026-02-01T00:00:00.000Z", "after": "53", "id_floor": 0,
           "max_seen": None}
    interrupted = {"v": 1, "bookmark": None, "run": run}
    pages = list(make().pull("contacts", interrupted, full=True))
    assert ids(pages) == ["77"]
    assert pages[-1].cursor == cursor("2026-02-01T00:00:00.000Z")  # the interrupted run's start, not now


def test_archived_records_changed_since_the_bookmark_are_yielded_as_deleted(make, mock):
    mock.add(responses.POST, f"{BASE}{PATHS.search('contacts')}", json={"total": 0, "results": []})
    mock.add(responses.GET, f"{BASE}{PATHS.objects('contacts')}", json=fixture("contacts_archived_page.json"),
             match=[matchers.query_param_matcher({"limit": "100", "archived": "true",
                                                  "properties": CONTACT_PROPERTIES})])
    connector = make()
    (page,) = list(connector.pull("contacts", cursor()))
    # 40 was archived in January (before bookmark - lookback): already synced back then
    assert [(r["id"], r["archived"], r["updatedAt"]) for r in page.records] == [
        ("61", True, "2026-03-01T11:58:00.000Z"),  # dated by its archive time
        ("62", True, "2026-03-01T11:57:30.000Z"),
    ]
    assert all(set(r) == SHAPE for r in page.records)
    assert page.cursor == cursor(BOOKMARK) and connector.stats.deleted == 2
    assert apply(load_mapping("config/mappings/hubspot_contacts.yaml"), page.records[0]).deleted is True


def test_full_resync_reads_deletes_since_the_previous_bookmark(make, mock):
    url = f"{BASE}{PATHS.objects('contacts')}"
    mock.add(responses.GET, url, json=fixture("contacts_list_page2.json"),
             match=[matchers.query_param_matcher({"limit": "100", "properties": CONTACT_PROPERTIES})])
    mock.add(responses.GET, url, json=fixture("contacts_archived_page.json"),
             match=[matchers.query_param_matcher({"archived": "true"}, strict_match=False)])
    pages = list(make().pull("contacts", cursor(), full=True))
    assert [ids([p]) for p in pages] == [["77"], ["61", "62"]]
    assert pages[0].cursor["run"]["phase"] == "archived"
    assert pages[-1].cursor == cursor("2026-03-01T12:00:00.000Z")


def test_deals_get_contact_associations_from_one_v4_batch_read_per_page(make, mock):
    mock.add(responses.GET, f"{BASE}{PATHS.objects('deals')}", json=fixture("deals_list_page.json"))
    mock.add(responses.POST, f"{BASE}{PATHS.associations('deals', 'contacts')}",
             status=207, json=fixture("deals_contacts_associations_207.json"),
             match=[matchers.json_params_matcher({"inputs": [{"id": "18423950071"}, {"id": "18423950099"}]},
                                                 strict_match=True)])
    connector = make()
    (page,) = list(connector.pull("deals", {}))
    won, open_deal = page.records
    assert won["associations"] == {"contacts": {"results": [{"id": "51", "type": "deal_to_contact"},
                                                            {"id": "77", "type": "Decision maker"}]}}
    assert open_deal["associations"] == {"contacts": {"results": []}}
    assert set(won) == SHAPE | {"associations"} and connector.stats.api_calls == 2
    patch = apply(load_mapping("config/mappings/hubspot_deals.yaml"), won)
    assert ("hubspot", "51") in {(i.kind, i.value) for i in patch.identities}
    assert patch.stage == "Customer" and patch.conversions[0].kind == "purchase"


def test_deal_associations_beyond_one_answer_are_paged_per_deal(make, mock):
    url = f"{BASE}{PATHS.associations('deals', 'contacts')}"
    mock.add(responses.GET, f"{BASE}{PATHS.objects('deals')}", json=fixture("deals_list_page.json"))
    first = {"status": "COMPLETE", "results": [
        {"from": {"id": "18423950071"}, "to": [{"toObjectId": 51, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}],
         "paging": {"next": {"after": "MC0yLTUx"}}},
        {"from": {"id": "18423950099"}, "to": [{"toObjectId": 60, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}]}]}
    second = {"status": "COMPLETE", "results": [
        {"from": {"id": "18423950071"}, "to": [{"toObjectId": 52, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}]}]}
    mock.add(responses.POST, url, json=first)
    mock.add(responses.POST, url, json=second, match=[matchers.json_params_matcher(
        {"inputs": [{"id": "18423950071", "after": "MC0yLTUx"}]})])
    (page,) = list(make().pull("deals", {}))
    assert [[a["id"] for a in r["associations"]["contacts"]["results"]] for r in page.records] == [["51", "52"], ["60"]]


def test_unknown_objects_are_refused(make):
    with pytest.raises(ValueError, match="companies"):
        make().pull("companies", {})


RUN = {"mode": "search", "phase": "live", "start": "2026-03-01T12:00:00.000Z", "after": None, "id_floor": 0,
       "max_seen": None}


@pytest.mark.parametrize("bad", [
    {"v": 1, "bookmark": "yesterday", "run": None},
    {"v": 2, "bookmark": BOOKMARK, "run": None},
    {"v": 1, "bookmark": BOOKMARK, "run": {**RUN, "mode": "scan"}},
    {"v": 1, "bookmark": BOOKMARK, "run": {**RUN, "id_floor": "100"}},
    {"v": 1, "bookmark": BOOKMARK, "run": {**RUN, "page": 3}},
    {"v": 1, "bookmark": None, "run": RUN},  # a search needs a bookmark to start from
])
def test_unreadable_cursors_are_refused_with_what_to_do(make, mock, bad):
    with pytest.raises(PermanentError, match="full sync"):
        list(make().pull("contacts", bad))
    mock.add(responses.GET, f"{BASE}{PATHS.objects('contacts')}", json=fixture("contacts_list_page2.json"))
    assert ids(make().pull("contacts", bad, full=True)) == ["77"]  # which a full sync replaces
