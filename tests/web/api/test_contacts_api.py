"""/api/contacts: filters, keyset pages, and the detail of a contact the real pipeline built."""

from __future__ import annotations

import json
import threading

import pytest
from support.contacts import WA_NUMBER, add_contacts, build_ana
from web.api.conftest import bearer

from sync.web.api.schemas import encode_cursor


@pytest.fixture
def viewer(role_tokens):
    return bearer(role_tokens["viewer"])


def page_ids(api, headers, **query) -> list[int]:
    ids, cursor = [], None
    while True:
        res = api.get("/api/contacts", query_string={**query, **({"cursor": cursor} if cursor else {})},
                      headers=headers)
        assert res.status_code == 200, res.json
        ids += [c["id"] for c in res.json["items"]]
        if not (cursor := res.json["next"]):
            return ids


def test_detail_of_a_contact_built_by_the_pipeline(api, store, config, viewer):
    cid = build_ana(store, config)
    res = api.get(f"/api/contacts/{cid}", headers=viewer)
    assert res.status_code == 200, res.json
    doc = res.json
    assert doc["id"] == cid and doc["name"] == "Ana López"
    assert {"email:ana.lopez@example.com", "hubspot:51", f"whatsapp:{WA_NUMBER}"} <= set(doc["identities"])
    assert {i["source"] for i in doc["identity_details"]} >= {"hubspot", "whatsapp", "salesforce"}
    first = doc["fields"]["first_name"]
    assert first["rule"] == {"name": "prefer", "sources": ["salesforce"]} and first["decided_by"] == "prefer"
    assert {c["source"]: c["value"] for c in first["candidates"]} == {"hubspot": "Ana María", "salesforce": "Ana",
                                                                       "whatsapp": "Oliver"}  # the profile name
    assert first["value"] == "Ana" and first["winner_source"] == "salesforce"
    assert [c["source"] for c in first["candidates"] if c["wins"]] == ["salesforce"]
    assert doc["stage"] and doc["phase"] and doc["stage_history"][0]["source"] in ("hubspot", "salesforce")
    assert doc["activity_count"] >= 1 and doc["activities"][0]["channel"] == "whatsapp"
    assert [m["via"] for m in doc["merges"]] and doc["merges"][0]["kept_contact_id"] == cid
    assert any(c["field"] == "first_name" and c["winner_source"] == "salesforce" for c in doc["conflicts"])
    sent = [d for conv in doc["conversions"] for d in conv["deliveries"] if d["delivery"]]
    assert doc["conversions"] and sent and sent[0]["destination"] == "meta"
    assert sent[0]["delivery"]["status"] == "sent" and sent[0]["delivery"]["response"]["fbtrace_id"] == "AbC"


def test_the_cli_prints_the_same_detail(api, store, config, viewer, monkeypatch, database_url):
    from click.testing import CliRunner

    from sync.cli.main import main

    cid = build_ana(store, config)
    monkeypatch.setenv("DATABASE_URL", database_url)
    res = CliRunner().invoke(main, ["contacts", "get", "email:ana.lopez@example.com"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == api.get(f"/api/contacts/{cid}", headers=viewer).json
    res = CliRunner().invoke(main, ["contacts", "search", "--q", "ana", "--has-conversions"])
    assert res.exit_code == 0, res.output
    assert [c["id"] for c in json.loads(res.output)] == [cid]
    res = CliRunner().invoke(main, ["contacts", "search", "--stage", "Nope"])
    assert res.exit_code == 1 and "stage" in res.output


@pytest.mark.parametrize("cid", [987654321, 2**63, 10**30, 0])
def test_unknown_contact_is_404(api, viewer, cid):
    res = api.get(f"/api/contacts/{cid}", headers=viewer)
    assert res.status_code == 404 and res.json["status"] == 404
    if 0 < cid < 2**63:  # beyond a row id's range the route itself does not match (sync.web.api.RowId)
        assert str(cid) in res.json["message"]


@pytest.mark.parametrize(("query", "field"), [
    ({"stage": "No Such Stage"}, "stage"), ({"lost_stage": "Hot Lead"}, "lost_stage"), ({"phase": "orbit"}, "phase"),
    ({"identity": "no-colon"}, "identity"), ({"updated_since": "yesterday"}, "updated_since"),
    ({"updated_since": "2026-01-01T00:00:00"}, "updated_since"), ({"has_conversions": "maybe"}, "has_conversions"),
    ({"limit": 0}, "limit"), ({"q": "x" * 201}, "q"), ({"q": "   "}, "q"), ({"cursor": encode_cursor("x")}, "cursor"),
    ({"cursor": encode_cursor(True)}, "cursor"), ({"cursor": encode_cursor(2**63)}, "cursor"),
    ({"cursor": encode_cursor(-1)}, "cursor"), ({"q": "a\x00"}, "q"), ({"source": "\x00"}, "source"),
    ({"identity": "email:\x00@x"}, "identity"), ({"stage": "New\x00"}, "stage"),
])
def test_bad_filters_are_422_naming_the_field(api, viewer, query, field):
    res = api.get("/api/contacts", query_string=query, headers=viewer)
    assert res.status_code == 422, res.json
    assert field in json.dumps(res.json["errors"])


def test_each_filter(api, store, config, viewer):
    ana = build_ana(store, config)
    stage = config.lifecycle.active_names[0]
    lost = config.lifecycle.lost_names[0]
    staged = add_contacts(store, 2, stage=stage, attributes={"first_name": {"value": "Zoë", "source": "x"},
                                                             "last_name": {"value": "O'Brien_%", "source": "x"}})
    gone = add_contacts(store, 1, lost_stage=lost)

    def ids(**q) -> set[int]:
        return set(page_ids(api, viewer, **q))

    ana_stage = api.get(f"/api/contacts/{ana}", headers=viewer).json["stage"]
    assert ids(stage=stage) == set(staged) | ({ana} if ana_stage == stage else set())
    assert ids(lost_stage=lost) == set(gone)
    phase = next(s.phase for s in config.lifecycle.stages if s.name == stage)
    assert set(staged) <= ids(phase=phase) and not set(gone) & ids(phase=phase)
    assert ids(identity="EMAIL: Ana.Lopez@Example.com ") == {ana}
    assert ids(identity="hubspot:999") == set()
    assert ids(q="ana") == {ana} == ids(q="ANA LÓ") == ids(q="lópez") == ids(q="ana.lopez@") == ids(q=WA_NUMBER[:5])
    assert ids(q="zoë o'") == set(staged) == ids(q="o'brien_%")
    assert ids(q="o'brien_x") == set() and ids(q="%") == set()  # LIKE wildcards are literal
    assert ids(source="salesforce") == {ana} and ids(source="nowhere") == set()
    assert ids(has_conversions="true") == {ana}
    assert ids(has_conversions="false") == set(staged) | set(gone)
    assert ids(updated_since="2999-01-01T00:00:00Z") == set()
    assert ids(updated_since="2000-01-01T00:00:00Z") == {ana, *staged, *gone}
    assert ids(stage=stage, q="zoë", has_conversions="false") == set(staged)  # filters combine (AND)


def test_list_items_say_who_and_where(api, store, config, viewer):
    ana = build_ana(store, config)
    [item] = api.get("/api/contacts", query_string={"identity": "hubspot:51"}, headers=viewer).json["items"]
    assert item["id"] == ana and item["name"] == "Ana López" and "hubspot:51" in item["identities"]
    assert item["phase"] == next(s.phase for s in config.lifecycle.stages if s.name == item["stage"])


def test_pages_cover_every_contact_once_under_concurrent_inserts(api, store, viewer):
    before = set(add_contacts(store, 57))
    stop = threading.Event()
    inserted: list[int] = []

    def writer() -> None:
        while not stop.is_set():
            inserted.extend(add_contacts(store, 3))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = page_ids(api, viewer, limit=5)
    finally:
        stop.set()
        thread.join()
    assert inserted  # the writer ran while the pages were read
    assert len(seen) == len(set(seen))  # none twice
    assert before <= set(seen)  # none missed
    assert seen == sorted(seen, reverse=True)
    assert set(seen) - before <= set(inserted)


def test_viewer_is_enough_and_no_token_is_401(api, store, viewer):
    [cid] = add_contacts(store, 1)
    assert api.get("/api/contacts").status_code == 401
    assert api.get(f"/api/contacts/{cid}").status_code == 401
    assert api.get(f"/api/contacts/{cid}", headers=viewer).status_code == 200


def test_touchpoints_carry_what_the_network_calls_the_ad_and_campaign(api, store, config, viewer):
    from support.contacts import add_ad_click_and_reply

    from sync.store import model

    cid = build_ana(store, config)
    add_ad_click_and_reply(store, config, cid)
    [touch] = api.get(f"/api/contacts/{cid}", headers=viewer).json["touchpoints"]
    assert touch["ad_id"] and touch["campaign_id"] is None and touch["ad_name"] is None is touch["campaign_name"]
    with store.transaction() as s:
        s.add(model.AdName(network=touch["network"], ad_id=touch["ad_id"], ad_name="Envíos express",
                           campaign_id="c-77", campaign_name="Spring shipping"))
        s.add(model.AdName(network="elsewhere", ad_id=touch["ad_id"], ad_name="Other network's ad"))
    [touch] = api.get(f"/api/contacts/{cid}", headers=viewer).json["touchpoints"]
    assert (touch["ad_name"], touch["campaign_name"]) == ("Envíos express", "Spring shipping")
