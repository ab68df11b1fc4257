"""/api/audit: filters and keyset pages."""

from __future__ import annotations

from web.api.conftest import BOOTSTRAP, bearer

from sync.access import audit
from sync.access.roles import Principal

ADMIN = bearer(BOOTSTRAP)


def fill(store, n=7):
    alice = Principal("alice", "operator")
    bob = Principal("bob", "admin", via="cli")
    with store.transaction() as session:
        for i in range(n):
            audit.record(session, alice if i % 2 else bob, "mapping.edit" if i % 3 else "token.create", "mapping",
                         f"hubspot/contact#{i}", before={"v": i}, after={"v": i + 1})


def test_pages_cover_every_entry_once_newest_first(api, store):
    fill(store)
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/audit", query_string=query, headers=ADMIN).json
        seen += [e["id"] for e in page["items"]]
        if not (cursor := page["next"]):
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7


def test_filters(api, store):
    fill(store)
    by_alice = api.get("/api/audit", query_string={"actor": "alice"}, headers=ADMIN).json["items"]
    assert {e["actor"] for e in by_alice} == {"alice"} and len(by_alice) == 3
    created = api.get("/api/audit", query_string={"action": "token.create"}, headers=ADMIN).json["items"]
    assert len(created) == 3 and created[0]["summary"] == "token.create mapping hubspot/contact#6 (v: 6 → 7)"
    one = api.get("/api/audit", query_string={"target_type": "mapping", "target_id": "hubspot/contact#2"},
                  headers=ADMIN).json["items"]
    assert [e["before"] for e in one] == [{"v": 2}]
    future = api.get("/api/audit", query_string={"since": "2999-01-01T00:00:00Z"}, headers=ADMIN).json
    assert future == {"items": [], "next": None}


def test_a_foreign_cursor_is_422(api):
    for cursor in ("%%%", "eyJ4IjoxfQ"):  # not base64; base64 of {"x":1}
        res = api.get("/api/audit", query_string={"cursor": cursor}, headers=ADMIN)
        assert res.status_code == 422 and "cursor" in res.json["errors"]


def test_summaries_name_what_changed():
    assert audit.summarise("x", "t 1", {"a": 1, "b": 2}, {"a": 1, "b": 3}) == "x t 1 (b: 2 → 3)"
    assert audit.summarise("x", "t", None, {"a": 1}) == "x t (created)"
    assert audit.summarise("x", "t", {"a": 1}, None) == "x t (removed)"
    assert audit.summarise("x", "t", {"a": "y" * 200}, {}).endswith("…" + " → null)")
