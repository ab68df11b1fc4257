"""/api/tokens: create (value shown once), list (never values), revoke; every change audited."""

from __future__ import annotations

from web.api.conftest import BOOTSTRAP, bearer

ADMIN = bearer(BOOTSTRAP)


def test_create_list_revoke(api):
    created = api.post("/api/tokens", json={"name": "looker", "role": "viewer"}, headers=ADMIN)
    assert created.status_code == 201
    value = created.json["token"]
    assert value.startswith(created.json["prefix"]) and created.json["state"] == "active"
    listed = api.get("/api/tokens", headers=ADMIN).json["items"]
    assert [t["name"] for t in listed] == ["looker"] and "token" not in listed[0]
    assert value not in api.get("/api/tokens", headers=ADMIN).get_data(as_text=True)
    revoked = api.delete(f"/api/tokens/{created.json['id']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert api.get("/api/me", headers=bearer(value)).status_code == 401
    actions = [e["action"] for e in api.get("/api/audit", headers=ADMIN).json["items"]]
    assert actions == ["token.revoke", "token.create"]


def test_names_are_unique_among_live_tokens(api):
    assert api.post("/api/tokens", json={"name": "n", "role": "viewer"}, headers=ADMIN).status_code == 201
    again = api.post("/api/tokens", json={"name": "n", "role": "admin"}, headers=ADMIN)
    assert again.status_code == 409 and again.json["errors"] == {"name": "already used by a token that is not revoked"}


def test_bad_input_is_422_naming_the_field(api):
    res = api.post("/api/tokens", json={"name": "x", "role": "root"}, headers=ADMIN)
    assert res.status_code == 422 and "role" in res.json["errors"]["json"]
    res = api.post("/api/tokens", json={"name": "x", "role": "viewer", "expires_at": "2001-01-01T00:00:00+00:00"},
                   headers=ADMIN)
    assert res.status_code == 422 and res.json["errors"] == {"expires_at": "a future time with a timezone"}
    res = api.post("/api/tokens", json={"name": "bad\nname", "role": "viewer"}, headers=ADMIN)
    assert res.status_code == 422 and "name" in res.json["errors"]
    assert api.post("/api/tokens", data="not json", headers=ADMIN, content_type="application/json").status_code < 500


def test_revoking_an_unknown_token_is_404(api):
    res = api.delete("/api/tokens/424242", headers=ADMIN)
    assert res.status_code == 404 and res.json["error"] == "Not Found"
