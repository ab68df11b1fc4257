"""Brands on the console's contact, preview and tokens pages: a stage per brand, a preview for a brand, a token
limited to brands — each through the service the API and the CLI use."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from support.brands import brand_config_dir
from support.console import csrf_of, sign_in
from support.ops_app import ops_app
from web.api.conftest import bearer

from sync.access import tokens
from sync.access.roles import Principal
from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects
from sync.reconcile.patch import IdentityRef
from sync.reports.export import find_contact

ADMIN = Principal(name="test-setup", role="admin", via="cli")
EMAIL = "both@example.com"


def _order(order_id: str, status: str, day: int) -> dict:
    return {"id": order_id, "status": status, "total": 10.0, "currency": "EUR",
            "updated_at": datetime(2026, 3, day, tzinfo=UTC).isoformat(), "customer": {"email": EMAIL}}


@pytest.fixture
def brand_site(store, console_settings, tmp_path):
    """The console over two brands, and one person who bought at the salons (Glow) and booked at Lumen."""
    directory = brand_config_dir(tmp_path)
    config = load_config(directory)
    events = [InboundEvent("shop", "order", "g1", _order("g1", "paid", 1)),
              InboundEvent("shop", "order", "l1", _order("l1", "booked", 2), "lumen")]
    process_events(store, config, store_events(store, events), Effects.rules_only(config))
    app = ops_app(replace(console_settings, config_dir=directory), store, config)  # previews read its revisions
    with store.transaction() as session:
        person = find_contact(session, IdentityRef("email", EMAIL))

    def client_of(role: str, brands: list[str] | None = None):
        token = tokens.create(store, ADMIN, f"{role} of {' '.join(brands or ['all'])}", role, brands=brands)[1]
        client = app.test_client()
        assert sign_in(client, token).status_code == 302
        return client, token
    return app, person, client_of


def _stage_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="brand-stages">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<tr data-brand="([a-z]+)">(.*?)</tr>', table, re.S)
    return {key: [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for key, row in rows}


def test_the_contact_page_shows_a_stage_per_brand_and_the_history_by_brand(brand_site):
    _app, person, client_of = brand_site
    viewer, token = client_of("viewer")
    page = viewer.get(f"/console/contacts/{person}").get_data(as_text=True)
    rows = _stage_rows(page)
    assert [rows["default"][0], rows["lumen"][0]] == ["Glow Salons", "Lumen Spa"]
    assert rows["default"][1] != rows["lumen"][1] and rows["lumen"][1] == "Hot Lead"
    assert "Brand: <bdi>Lumen Spa</bdi>" in page and "Brand: <bdi>Glow Salons</bdi>" in page
    api = viewer.application.test_client().get(f"/api/contacts/{person}", headers=bearer(token)).json
    assert [(s["brand"], s["name"], s["stage"]) for s in api["stages"]] == [
        ("default", "Glow Salons", rows["default"][1]), ("lumen", "Lumen Spa", "Hot Lead")]

    lumen_only = viewer.get(f"/console/contacts/{person}?brand=lumen").get_data(as_text=True)
    assert "Brand: <bdi>Lumen Spa</bdi>" in lumen_only and "Brand: <bdi>Glow Salons</bdi>" not in lumen_only
    assert '<option value="lumen" selected>Lumen Spa</option>' in lumen_only
    unknown = viewer.get(f"/console/contacts/{person}?brand=nowhere")
    assert unknown.status_code == 422 and "no stage in brand nowhere" in unknown.get_data(as_text=True)

    limited, lumen_token = client_of("viewer", ["lumen"])
    theirs = limited.get(f"/console/contacts/{person}").get_data(as_text=True)
    assert list(_stage_rows(theirs)) == ["lumen"] and "Glow Salons" not in theirs
    limited_api = limited.application.test_client().get(f"/api/contacts/{person}", headers=bearer(lumen_token)).json
    assert [s["brand"] for s in limited_api["stages"]] == ["lumen"]


def test_the_preview_form_reads_the_record_as_the_chosen_brands(brand_site):
    _app, _person, client_of = brand_site
    viewer, _token = client_of("viewer")
    doc = "mappings/shop_order.yaml"
    editor = viewer.get(f"/console/mappings/edit/{doc}").get_data(as_text=True)
    assert 'name="brand"' in editor and '<option value="lumen" >Lumen Spa</option>' in editor
    text = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', editor, re.S).group(1)
    form = {"text": html.unescape(text), "csrf_token": csrf_of(viewer, f"/console/mappings/edit/{doc}"),
            "record": json.dumps(_order("l2", "paid", 3))}
    lumen = viewer.post(f"/console/mappings/preview/{doc}", headers={"HX-Request": "true"},
                        data={**form, "brand": "lumen"})
    assert lumen.status_code == 200 and "Stages of brand Lumen Spa." in lumen.get_data(as_text=True)
    by_connection = viewer.post(f"/console/mappings/preview/{doc}", headers={"HX-Request": "true"},
                                data={**form, "connection": "lumen"})
    assert "Stages of brand Lumen Spa." in by_connection.get_data(as_text=True)
    glow = viewer.post(f"/console/mappings/preview/{doc}", headers={"HX-Request": "true"}, data=form)
    assert "Stages of brand Glow Salons." in glow.get_data(as_text=True)
    clash = viewer.post(f"/console/mappings/preview/{doc}", headers={"HX-Request": "true"},
                        data={**form, "brand": "default", "connection": "lumen"})
    assert clash.status_code == 422 and "belongs to brand &#39;lumen&#39;" in clash.get_data(as_text=True)


def test_the_tokens_page_creates_a_token_limited_to_brands(brand_site, store):
    _app, _person, client_of = brand_site
    admin, _token = client_of("admin")
    csrf = csrf_of(admin, "/console/tokens")
    made = admin.post("/console/tokens", data={"name": "lumen desk", "role": "viewer", "brands": ["lumen"],
                                               "csrf_token": csrf})
    assert made.status_code == 201
    [row] = [t for t in tokens.listed(store) if t["name"] == "lumen desk"]
    assert row["brands"] == ["lumen"]
    listing = admin.get("/console/tokens").get_data(as_text=True)
    assert re.search(r"<td>lumen desk</td><td>viewer</td>\s*<td class=\"token-brands\"><bdi>Lumen Spa</bdi></td>",
                     listing)
    assert re.search(r"<td>admin of all</td><td>admin</td>\s*<td class=\"token-brands\">Every brand</td>", listing)
    unknown = admin.post("/console/tokens", data={"name": "x", "role": "viewer", "brands": ["nowhere"],
                                                  "csrf_token": csrf})
    assert unknown.status_code == 422 and "Unknown brand: nowhere" in unknown.get_data(as_text=True)
    assert not [t for t in tokens.listed(store) if t["name"] == "x"]
