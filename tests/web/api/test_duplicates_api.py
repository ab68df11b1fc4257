"""/api/duplicates and /api/merges over HTTP: the queue, preview, merge, dismiss and unmerge, by role."""

from __future__ import annotations

from support.duplicates import hubspot_twins
from web.api.conftest import bearer

from sync.store import model


def test_an_operator_reviews_the_queue_merges_with_a_preview_and_undoes_it(api, role_tokens, store, config):
    [(a, b), (c, d)] = hubspot_twins(store, config.lifecycle, 2)
    viewer, operator = bearer(role_tokens["viewer"]), bearer(role_tokens["operator"])
    assert api.post("/api/duplicates/scan", headers=viewer).status_code == 403
    scanned = api.post("/api/duplicates/scan", headers=operator)
    assert scanned.status_code == 200 and scanned.json == {"found": 2, "opened": 2, "closed": 0}
    first = api.get("/api/duplicates?limit=1", headers=viewer).json
    [pair] = first["items"]
    assert (pair["contact_a"], pair["contact_b"]) == (a, b) and first["next"]
    rest = api.get(f"/api/duplicates?limit=1&cursor={first['next']}", headers=viewer).json
    assert [(p["contact_a"], p["contact_b"]) for p in rest["items"]] == [(c, d)] and rest["next"] is None
    detail = api.get(f"/api/duplicates/{pair['id']}", headers=viewer).json
    assert [s["id"] for s in detail["contacts"]] == [a, b] and {"kind": "email"} in detail["evidence"]
    shown = api.get(f"/api/duplicates/{pair['id']}/preview", headers=viewer)
    assert shown.status_code == 200 and shown.json["overrides"] == "both hold a different hubspot id"
    assert next(f for f in shown.json["fields"] if f["field"] == "first_name")["from"] == "b"
    assert api.post(f"/api/duplicates/{pair['id']}/merge", headers=viewer).status_code == 403
    merged = api.post(f"/api/duplicates/{pair['id']}/merge", headers=operator)
    assert merged.status_code == 200 and merged.json["fields"] == shown.json["fields"]
    listed = api.get(f"/api/merges?contact={a}", headers=viewer).json["items"]
    assert [(m["id"], m["actor"], m["undoable"]) for m in listed] == [(merged.json["merge_id"], "operator-token", True)]
    undone = api.post(f"/api/merges/{merged.json['merge_id']}/unmerge", headers=operator)
    assert undone.status_code == 200 and (undone.json["kept"], undone.json["restored"]) == (a, b)
    again = api.post(f"/api/merges/{merged.json['merge_id']}/unmerge", headers=operator)
    assert again.status_code == 409 and "already undone" in again.json["message"]
    with store.transaction() as s:
        actions = [e.action for e in s.query(model.AuditEntry).order_by(model.AuditEntry.id)]
    assert actions[-3:] == ["duplicates.scan", "duplicates.merge", "duplicates.unmerge"]


def test_dismissing_is_remembered_and_bad_requests_are_clear(api, role_tokens, store, config):
    hubspot_twins(store, config.lifecycle, 1)
    operator = bearer(role_tokens["operator"])
    api.post("/api/duplicates/scan", headers=operator)
    [pair] = api.get("/api/duplicates", headers=operator).json["items"]
    assert api.post(f"/api/duplicates/{pair['id']}/dismiss", headers=operator).json["status"] == "dismissed"
    assert api.post(f"/api/duplicates/{pair['id']}/dismiss", headers=operator).status_code == 409
    api.post("/api/duplicates/scan", headers=operator)
    assert api.get("/api/duplicates", headers=operator).json["items"] == []
    dismissed = api.get("/api/duplicates?status=dismissed", headers=operator).json["items"]
    assert [p["id"] for p in dismissed] == [pair["id"]]
    assert api.post(f"/api/duplicates/{pair['id']}/restore", headers=operator).json["status"] == "open"
    assert api.get("/api/duplicates/424242", headers=operator).status_code == 404
    assert api.get("/api/duplicates?status=weird", headers=operator).status_code == 422
    assert api.get("/api/duplicates?cursor=bm9wZQ", headers=operator).status_code == 422
    with store.transaction() as s:
        s.add(model.MergeLog(kept_contact_id=pair["contact_a"], merged_contact_id=99, via="email", source="hubspot",
                             record_id="old"))
        old = s.query(model.MergeLog).one().id
    refused = api.post(f"/api/merges/{old}/unmerge", headers=operator)
    assert refused.status_code == 409 and "before lifesync recorded" in refused.json["message"]
