"""Brands on the ops API: reports and contacts filter by brand; a token limited to brands sees only theirs (403)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.brands import brand_config_dir
from support.ops_app import ops_app
from web.api.conftest import bearer

from sync.access import tokens
from sync.access.roles import Principal
from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.errors import Invalid
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects

ADMIN = Principal(name="test-setup", role="admin", via="cli")


def _order(order_id: str, email: str, status: str) -> dict:
    at = datetime(2026, 3, 1, tzinfo=UTC).isoformat()
    return {"id": order_id, "status": status, "total": 10.0, "currency": "EUR", "updated_at": at,
            "customer": {"email": email}}


@pytest.fixture
def brand_api(store, api_settings, tmp_path):
    config = load_config(brand_config_dir(tmp_path))
    events = [InboundEvent("shop", "order", "a1", _order("a1", "glow-only@example.com", "paid")),
              InboundEvent("shop", "order", "b1", _order("b1", "lumen-only@example.com", "booked"), "lumen")]
    process_events(store, config, store_events(store, events), Effects.rules_only(config))
    client = ops_app(api_settings, store, config).test_client()
    lumen = tokens.create(store, ADMIN, "lumen-viewer", "viewer", brands=["lumen"])[1]
    every = tokens.create(store, ADMIN, "every-viewer", "viewer")[1]
    return client, lumen, every


def test_a_token_limited_to_a_brand_reads_that_brands_reports_and_is_refused_the_others(brand_api):
    client, lumen, every = brand_api
    own = client.get("/api/reports/funnel", headers=bearer(lumen))
    assert own.status_code == 200 and own.json["brand"] == "lumen"  # no brand asked: its own
    assert client.get("/api/reports/funnel?brand=lumen", headers=bearer(lumen)).json == own.json
    refused = client.get("/api/reports/attribution?brand=default", headers=bearer(lumen))
    assert refused.status_code == 403 and "may not see brand 'default'" in refused.json["message"]
    assert client.get("/api/reports/funnel", headers=bearer(every)).json["brand"] == "default"
    assert client.get("/api/reports/funnel?brand=default", headers=bearer(every)).status_code == 200
    unknown = client.get("/api/reports/funnel?brand=nowhere", headers=bearer(every))
    assert unknown.status_code == 422 and "configured brands: default, lumen" in unknown.json["message"]


def test_contacts_are_filtered_by_brand_and_a_limited_token_never_sees_another_brands_contact(brand_api):
    client, lumen, every = brand_api
    mine = client.get("/api/contacts", headers=bearer(lumen)).json["items"]
    assert [c["identities"] for c in mine] == [["email:lumen-only@example.com"]]
    assert mine[0]["stage"] == "Hot Lead"
    assert client.get("/api/contacts?brand=default", headers=bearer(lumen)).status_code == 403
    both = client.get("/api/contacts", headers=bearer(every)).json["items"]
    assert len(both) == 2
    glow_id = next(c["id"] for c in both if c["identities"] == ["email:glow-only@example.com"])
    denied = client.get(f"/api/contacts/{glow_id}", headers=bearer(lumen))
    assert denied.status_code == 403
    assert client.get(f"/api/contacts/{mine[0]['id']}", headers=bearer(lumen)).json["brands"]["lumen"]["stage"] \
        == "Hot Lead"


def test_a_token_is_created_limited_to_brands_and_cannot_give_more_than_it_sees(brand_api, store):
    client, _lumen, _every = brand_api
    admin = tokens.create(store, ADMIN, "lumen-admin", "admin", brands=["lumen"])[1]
    made = client.post("/api/tokens", json={"name": "lumen-2", "role": "viewer", "brands": ["lumen"]},
                       headers=bearer(admin))
    assert made.status_code == 201 and made.json["brands"] == ["lumen"]
    wider = client.post("/api/tokens", json={"name": "all", "role": "viewer"}, headers=bearer(admin))
    assert wider.status_code == 422 and "may only give brands it sees: lumen" in str(wider.json)
    with pytest.raises(Invalid):
        tokens.create(store, ADMIN, "bad", "viewer", brands=["Not A Brand"])


def test_one_rule_decides_the_brand_a_principal_reads():
    from sync.access.brands import BrandDenied, scope
    from sync.config.brands import Brand, Brands

    brands = Brands((Brand("default", "Glow"), Brand("lumen", "Lumen")))
    every, lumen = Principal("a", "viewer"), Principal("b", "viewer", brands=("lumen",))
    gone = Principal("c", "viewer", brands=("closed",))
    assert (scope(every, brands, None), scope(every, brands, "default")) == (None, "default")
    assert (scope(lumen, brands, None), scope(lumen, brands, "lumen")) == ("lumen", "lumen")
    for who, asked in ((lumen, "default"), (gone, None)):
        with pytest.raises(BrandDenied):
            scope(who, brands, asked)
    with pytest.raises(ValueError, match="unknown brand 'x'"):
        scope(every, brands, "x")


def test_a_preview_shows_the_stage_in_the_brand_owning_the_connection(brand_api):
    client, lumen, every = brand_api
    body = {"source": "shop", "object": "order", "record": _order("b9", "glow-only@example.com", "booked")}
    glow = client.post("/api/mappings/preview", json=body, headers=bearer(every)).json
    via_lumen = client.post("/api/mappings/preview", json={**body, "connection": "lumen"}, headers=bearer(every))
    assert glow["brand"] == "default" and glow["contacts"][0]["stage"]["before"] == "Customer"
    assert via_lumen.status_code == 200 and via_lumen.json["brand"] == "lumen"
    assert via_lumen.json["contacts"][0]["stage"] == {"before": None, "after": "Hot Lead"}  # new to Lumen
    mismatch = client.post("/api/mappings/preview", json={**body, "connection": "lumen", "brand": "default"},
                           headers=bearer(every))
    assert mismatch.status_code == 422 and "belongs to brand 'lumen'" in mismatch.json["message"]
    unknown = client.post("/api/mappings/preview", json={**body, "brand": "nope"}, headers=bearer(every))
    assert unknown.status_code == 422 and "unknown brand 'nope'" in unknown.json["message"]
    # a preview reads any contact's state and the records connections received: installation-wide, so a
    # token limited to brands is refused whatever brand it names
    for asked in ({}, {"connection": "lumen"}, {"connection": "default"}):
        refused = client.post("/api/mappings/preview", json={**body, **asked}, headers=bearer(lumen))
        assert refused.status_code == 403 and "installation-wide" in refused.json["message"]


def test_the_response_report_times_each_brands_own_conversations(store, api_settings, tmp_path):
    from datetime import timedelta

    from support.automation_data import T0, message, sent

    from sync.ingest.automation import compute_first_responses
    from sync.ingest.pipeline import ingest

    config = load_config(brand_config_dir(tmp_path))
    for brand, obj, value in (("default", "message", message(T0, "wamid.G1")),
                              ("default", "status", sent(T0 + timedelta(minutes=2), "wamid.G2")),
                              ("lumen", "message", message(T0, "wamid.L1")),
                              ("lumen", "status", sent(T0 + timedelta(days=2), "wamid.L2"))):
        ingest("whatsapp", obj, [value], store=store, config=config, brand=brand, effects=Effects.rules_only(config))
    compute_first_responses(store)
    client = ops_app(api_settings, store, config).test_client()
    every = tokens.create(store, ADMIN, "every-viewer", "viewer")[1]

    def answered(brand: str) -> dict[str, int]:
        report = client.get(f"/api/reports/response?brand={brand}", headers=bearer(every)).json
        return {b["label"]: b["contacts"] for b in report["buckets"] if b["contacts"]}

    assert answered("default") == {"< 5 min": 1} and answered("lumen") == {"> 24 h": 1}
