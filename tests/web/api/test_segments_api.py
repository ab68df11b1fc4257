"""``/api/segments``: list with sizes, detail, members by cursor, sizes over time, preview, edits as revisions,
evaluation (audited) — and a token limited to brands sees its brands' segments only."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.brands import brand_config_dir
from support.ops_app import ops_app
from support.segments import contact
from web.api.conftest import bearer

from sync.access import tokens
from sync.access.roles import Principal
from sync.store import model

ADMIN = Principal(name="test-setup", role="admin", via="cli")
LUMEN_VIP = "label: Lumen VIP\nbrand: lumen\nconditions: [{stage: Hot Lead}]\n"


@pytest.fixture
def world(store, api_settings, tmp_path):
    directory = brand_config_dir(tmp_path)
    (directory / "segments").mkdir()
    (directory / "segments" / "lumen-vip.yaml").write_text(LUMEN_VIP)
    app = ops_app(replace(api_settings, config_dir=directory), store, None)  # following revisions, as served
    app.extensions["lifesync"]["configs"].refresh = 0  # at every request, not every 2 s
    client = app.test_client()
    make = {name: tokens.create(store, ADMIN, name, role, brands=brands)[1] for name, role, brands in (
        ("viewer", "viewer", None), ("operator", "operator", None), ("lumen", "operator", ["lumen"]))}
    with store.transaction() as s:
        ids = [contact(s, stage="Hot Lead", fields={"first_name": "Ana"}, brand_stages={"lumen": "Hot Lead"}),
               contact(s, stage="Hot Lead", fields={"first_name": "Bea"}),
               contact(s, stage="Customer", fields={"first_name": "Eva"}, brand_stages={"lumen": "Hot Lead"})]
    return client, make, ids


def test_list_evaluate_members_and_sizes(world, store):
    client, tok, ids = world
    listed = {s["key"]: s for s in client.get("/api/segments", headers=bearer(tok["viewer"])).json["items"]}
    assert listed["lumen-vip"]["size"] is None and listed["lumen-vip"]["brand"] == "lumen"
    assert client.post("/api/segments/evaluate", json={"full": True}, headers=bearer(tok["viewer"])).status_code == 403
    ran = client.post("/api/segments/evaluate", json={"full": True}, headers=bearer(tok["operator"]))
    assert ran.status_code == 200
    assert {c["segment"]: c["entered"] for c in ran.json["changes"]}["lumen-vip"] == 2
    assert client.get("/api/segments/lumen-vip", headers=bearer(tok["viewer"])).json["size"] == 2
    first = client.get("/api/segments/lumen-vip/members?limit=1", headers=bearer(tok["viewer"])).json
    assert [(m["id"], m["name"], m["stage"]) for m in first["items"]] == [(ids[0], "Ana", "Hot Lead")]
    second = client.get(f"/api/segments/lumen-vip/members?limit=1&cursor={first['next']}",
                        headers=bearer(tok["viewer"])).json
    assert [m["id"] for m in second["items"]] == [ids[2]] and second["next"] is None
    sizes = client.get("/api/segments/lumen-vip/sizes?days=3", headers=bearer(tok["viewer"])).json["items"]
    assert [p["size"] for p in sizes] == [0, 0, 2]
    with store.transaction() as s:
        logged = s.query(model.AuditEntry).filter_by(action="segments.evaluate").one()
    assert logged.actor == "operator"
    assert client.get("/api/segments/nope", headers=bearer(tok["viewer"])).status_code == 404
    bad = client.get("/api/segments/lumen-vip/members?cursor=zzz", headers=bearer(tok["viewer"]))
    assert bad.status_code == 422


def test_preview_and_edit_through_revisions(world):
    client, tok, ids = world
    text = "label: Hot\nconditions: [{stage: Hot Lead}]\n"
    seen = client.post("/api/segments/preview", json={"key": "hot", "text": text}, headers=bearer(tok["viewer"]))
    assert seen.status_code == 200 and seen.json["size"] == 2 and [p["id"] for p in seen.json["sample"]] == ids[:2]
    wrong = client.post("/api/segments/preview", json={"key": "hot", "text": "label: Hot\nconditions: [{stage: X}]\n"},
                        headers=bearer(tok["viewer"]))
    assert wrong.status_code == 422
    assert [(i["file"], i["line"], i["path"]) for i in wrong.json["errors"]["issues"]] == [
        ("segments/hot.yaml (proposed)", 2, "conditions[0].stage")]
    assert client.put("/api/segments/hot", json={"text": text, "base_revision": None},
                      headers=bearer(tok["viewer"])).status_code == 403
    saved = client.put("/api/segments/hot", json={"text": text, "base_revision": None, "comment": "new"},
                       headers=bearer(tok["operator"]))
    assert saved.status_code == 200 and saved.json["revision_id"] is not None
    detail = client.get("/api/segments/hot", headers=bearer(tok["viewer"])).json
    assert detail["revision_id"] == saved.json["revision_id"] and detail["text"] == text
    stale = client.put("/api/segments/hot", json={"text": text + "description: x\n", "base_revision": None},
                       headers=bearer(tok["operator"]))
    assert stale.status_code == 409


def test_a_token_limited_to_a_brand_sees_and_edits_its_brands_segments_only(world):
    client, tok, _ = world
    keys = [s["key"] for s in client.get("/api/segments", headers=bearer(tok["lumen"])).json["items"]]
    assert keys == ["lumen-vip"]  # the bundled ones are the default brand's
    assert client.get("/api/segments/lumen-vip/members", headers=bearer(tok["lumen"])).status_code == 200
    assert client.get("/api/segments/hot-leads-ctwa", headers=bearer(tok["lumen"])).status_code == 403
    assert client.get("/api/segments/hot-leads-ctwa/sizes", headers=bearer(tok["lumen"])).status_code == 403
    for url in ("/api/segments/nope", "/api/segments/nope/members", "/api/segments/nope/sync"):
        unknown = client.get(url, headers=bearer(tok["lumen"]))  # names the token's brands' segments only
        assert unknown.status_code == 404 and unknown.json["message"].endswith(": lumen-vip"), url
    text = "label: X\nconditions: [{stage: Customer}]\n"
    other = client.post("/api/segments/preview", json={"key": "x", "text": text}, headers=bearer(tok["lumen"]))
    assert other.status_code == 403
    moved = client.put("/api/segments/lumen-vip", json={"text": LUMEN_VIP.replace("brand: lumen", "brand: default"),
                                                        "base_revision": None}, headers=bearer(tok["lumen"]))
    assert moved.status_code == 403
    assert client.post("/api/segments/evaluate", json={}, headers=bearer(tok["lumen"])).status_code == 403
