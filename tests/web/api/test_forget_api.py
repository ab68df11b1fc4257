"""Erasure through the ops API (issue 22 item 3): admin only, installation-wide, audited; the erasure log; purge."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from support.contacts import build_ana
from support.forget import ANA_VALUES, found_in
from web.api.conftest import bearer

from sync.store import model


@pytest.fixture
def ana(store, config):
    return build_ana(store, config)


def test_an_admin_forgets_a_person_and_the_erasure_is_listed_without_personal_data(api, store, ana, role_tokens):
    res = api.post(f"/api/contacts/{ana}/forget", headers=bearer(role_tokens["admin"]))
    assert res.status_code == 200, res.json
    assert res.json["contact_id"] == ana and res.json["counts"]["contacts"] == 1 and res.json["upstream"] == {}
    assert found_in(store, ANA_VALUES) == {}
    assert api.get(f"/api/contacts/{ana}", headers=bearer(role_tokens["admin"])).status_code == 404
    listed = api.get("/api/privacy/erasures", headers=bearer(role_tokens["admin"]))
    assert listed.status_code == 200 and [e["id"] for e in listed.json["items"]] == [res.json["id"]]
    assert listed.json["items"][0]["actor"] == "admin-token"
    with store.transaction() as s:
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "contact.forget")).one()
    assert (entry.via, entry.target_id) == ("api", str(ana))
    logged = json.dumps([entry.summary, entry.after], ensure_ascii=False).lower()
    assert not [v for v in ANA_VALUES if v.lower() in logged]
    again = api.post(f"/api/contacts/{ana}/forget", json={"upstream": False}, headers=bearer(role_tokens["admin"]))
    assert again.status_code == 404


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_other_roles_are_refused_and_nothing_is_erased(api, store, ana, role_tokens, role):
    assert api.post(f"/api/contacts/{ana}/forget", headers=bearer(role_tokens[role])).status_code == 403
    assert api.get("/api/privacy/erasures", headers=bearer(role_tokens[role])).status_code == 403
    assert api.post("/api/privacy/purge", headers=bearer(role_tokens[role])).status_code == 403
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is not None


def test_a_brand_limited_admin_is_refused(api, store, ana, brand_limited_token):
    assert api.post(f"/api/contacts/{ana}/forget", headers=bearer(brand_limited_token)).status_code == 403
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is not None


def test_bad_input_is_a_422_and_an_unknown_contact_a_404(api, role_tokens):
    admin = bearer(role_tokens["admin"])
    res = api.post("/api/contacts/987654321/forget", json={"upstream": False}, headers=admin)
    assert res.status_code == 404 and "987654321" in res.json["message"]
    assert api.post("/api/contacts/1/forget", json={"upstream": "maybe"}, headers=admin).status_code == 422
    assert api.get("/api/privacy/erasures?cursor=bad!", headers=admin).status_code == 422


def test_purge_runs_the_retention_purge_dry_and_for_real(api, store, role_tokens):
    admin = bearer(role_tokens["admin"])
    dry = api.post("/api/privacy/purge", json={"dry_run": True}, headers=admin)
    assert dry.status_code == 200 and dry.json["dry_run"] is True and set(dry.json["redacted"]) == {
        "raw_events", "dead_letters", "deliveries"}
    real = api.post("/api/privacy/purge", headers=admin)
    assert real.status_code == 200 and real.json["dry_run"] is False
    with store.transaction() as s:
        assert s.scalars(select(model.AuditEntry.action).where(model.AuditEntry.action == "privacy.purge")).all() == [
            "privacy.purge"]


def test_the_openapi_document_describes_the_routes(api, role_tokens):
    spec = api.get("/api/openapi.json").json
    forget = spec["paths"]["/api/contacts/{contact_id}/forget"]["post"]
    assert "admin" in forget["description"] and "404" in forget["responses"]
    assert "/api/privacy/erasures" in spec["paths"] and "/api/privacy/purge" in spec["paths"]


def test_an_admin_lifts_a_suppression_the_shell_too_and_the_log_keeps_no_value(api, store, ana, role_tokens,
                                                                                database_url, monkeypatch):
    """The person came back and asked to be known: their e-mail is taken off the list (their other identities stay
    on it), by the API or `lifesync privacy unsuppress`, audited with the kind only."""
    from click.testing import CliRunner

    from sync.cli.main import main
    from sync.privacy import suppression

    admin = bearer(role_tokens["admin"])
    assert api.post(f"/api/contacts/{ana}/forget", headers=admin).status_code == 200
    body = {"identity": "email:Ana.Lopez@example.com"}  # normalised as identities are stored
    assert api.post("/api/privacy/suppressions/lift", json=body, headers=bearer(role_tokens["operator"])).status_code \
        == 403
    res = api.post("/api/privacy/suppressions/lift", json=body, headers=admin)
    assert res.status_code == 200 and res.json == {"lifted": "email"}
    with store.transaction() as s:
        assert not suppression.is_suppressed(s, "email", "ana.lopez@example.com")
        assert s.query(model.Suppression).count() > 0  # her other identities stay suppressed
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "suppression.lift")).one()
    assert "ana" not in json.dumps([entry.summary, entry.after, entry.target_id]).lower()
    again = api.post("/api/privacy/suppressions/lift", json=body, headers=admin)
    assert again.status_code == 404 and "ana" not in again.json["message"].lower()
    assert api.post("/api/privacy/suppressions/lift", json={"identity": "no-colon"}, headers=admin).status_code == 422
    monkeypatch.setenv("DATABASE_URL", database_url)
    shell = CliRunner().invoke(main, ["privacy", "unsuppress", "phone:+447911123456"])
    assert shell.exit_code == 0 and json.loads(shell.stdout) == {"lifted": "phone"}, shell.output
    with store.transaction() as s:
        assert not suppression.is_suppressed(s, "phone", "+447911123456")
    shell = CliRunner().invoke(main, ["privacy", "unsuppress", "email:ana.lopez@example.com"])
    assert shell.exit_code == 1 and "no suppression holds the email identity given" in shell.output
