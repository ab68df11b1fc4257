"""Access requests (issue 22 item 5): everything held about one person, by the API (admin, audited) and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from support.contacts import FIXTURES, WA_NUMBER, build_ana
from web.api.conftest import bearer

from sync.cli.main import main
from sync.ingest.pipeline import ingest
from sync.store import model

EMAIL = "ana.lopez@example.com"


@pytest.fixture
def ana(store, config):
    """Ana from HubSpot, WhatsApp and Salesforce (a message, a conversion, a merge), a dead letter of her
    HubSpot record, an inbox event naming her email, and one of someone else."""
    cid = build_ana(store, config)
    with store.transaction() as s:
        s.add(model.DeadLetter(stage="map", source="hubspot", object="contacts", record_id="51",
                               reason="bad date", payload={"id": "51"}))
        s.add(model.DeadLetter(stage="map", source="hubspot", object="contacts", record_id="999",
                               reason="bad date", payload={"id": "999"}))
        s.add(model.RawEvent(source="hubspot", object="contacts", event_key="ev-ana",
                             body=json.dumps({"email": EMAIL.upper()}).encode()))
        s.add(model.RawEvent(source="hubspot", object="contacts", event_key="ev-other",
                             body=b'{"email": "someone@example.org"}'))
    return cid


def test_admin_gets_everything_with_sources_and_times_and_is_audited(api, store, ana, role_tokens):
    res = api.get(f"/api/contacts/{ana}/access-request", headers=bearer(role_tokens["admin"]))
    assert res.status_code == 200, res.json
    doc = res.json
    assert {(i["kind"], i["source"]) for i in doc["identity_details"]} >= {
        ("email", "hubspot"), ("hubspot", "hubspot"), ("whatsapp", "whatsapp")}
    assert all(i["first_seen_at"] for i in doc["identity_details"])
    first = doc["fields"]["first_name"]["candidates"]
    assert {c["source"] for c in first} == {"hubspot", "salesforce", "whatsapp"}
    assert all(c["arrived_at"] for c in first) and [c["source"] for c in first if c["wins"]] == ["salesforce"]
    assert [(a["channel"], a["source"]) for a in doc["activities"]] == [("whatsapp", "whatsapp")]
    assert doc["activities"][0]["occurred_at"]
    sent = [d for conv in doc["conversions"] for d in conv["deliveries"] if d["delivery"]]
    assert sent and sent[0]["destination"] == "meta" and sent[0]["delivery"]["status"] == "sent"
    assert "response" not in sent[0]["delivery"]  # the destination's answer is not the person's data
    assert doc["merges"] and all(m["source"] and m["at"] for m in doc["merges"])
    assert [(d["source"], d["record_id"]) for d in doc["dead_letters"]] == [("hubspot", "51")]
    assert [e["event_key"] for e in doc["inbox_events"]] == ["ev-ana"]
    assert "body" not in doc["inbox_events"][0]
    with store.transaction() as s:
        entry = s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "contact.access_request")).one()
        assert (entry.target_type, entry.target_id, entry.role) == ("contact", str(ana), "admin")
        logged = json.dumps([entry.summary, entry.before, entry.after, entry.actor])
    assert EMAIL not in logged.lower() and WA_NUMBER not in logged and "López" not in logged


def test_her_consent_is_exported_with_the_record_that_set_it(api, store, config, ana, role_tokens):
    stop = json.loads((FIXTURES / "whatsapp" / "message_text.json").read_text())
    stop["messages"][0].update(id="wamid.stop", text={"body": "STOP"}, timestamp=str(int(stop["messages"][0]
                                                                                       ["timestamp"]) + 60))
    assert ingest("whatsapp", "message", [stop], store=store, config=config, map_in_process=False).dead_lettered == 0
    doc = api.get(f"/api/contacts/{ana}/access-request", headers=bearer(role_tokens["admin"])).json
    purpose = doc["consent"]["marketing_messages"]
    assert (purpose["value"], purpose["source"], purpose["record_id"]) == (False, "whatsapp", "wamid.stop")
    assert [(c["value"], c["record_id"], c["wins"]) for c in purpose["candidates"]] == [(False, "wamid.stop", True)]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewer_and_operator_are_refused(api, store, ana, role_tokens, role):
    res = api.get(f"/api/contacts/{ana}/access-request", headers=bearer(role_tokens[role]))
    assert res.status_code == 403
    with store.transaction() as s:
        assert not s.scalars(select(model.AuditEntry).where(model.AuditEntry.action == "contact.access_request")).all()


def test_unknown_contact_is_404(api, role_tokens):
    res = api.get("/api/contacts/987654321/access-request", headers=bearer(role_tokens["admin"]))
    assert res.status_code == 404 and "987654321" in res.json["message"]


def test_cli_prints_the_same_person_sorted_and_refuses_an_unknown_identity(api, store, ana, role_tokens,
                                                                          monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    res = CliRunner().invoke(main, ["contacts", "export", "--identity", f"email:{EMAIL.upper()}"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["id"] == ana and [d["record_id"] for d in doc["dead_letters"]] == ["51"]
    via_api = api.get(f"/api/contacts/{ana}/access-request", headers=bearer(role_tokens["admin"])).json
    for key in ("identity_details", "fields", "activities", "merges", "dead_letters", "inbox_events", "segments"):
        assert doc[key] == via_api[key], key
    again = CliRunner().invoke(main, ["contacts", "export", "--identity", f"email:{EMAIL}"])
    assert json.loads(again.output)["fields"] == doc["fields"]  # deterministic
    with store.transaction() as s:
        assert s.scalars(select(model.AuditEntry.via).where(
            model.AuditEntry.action == "contact.access_request")).all()[0] == "cli"
    res = CliRunner().invoke(main, ["contacts", "export", "--identity", "email:nobody@example.com"])
    assert res.exit_code == 1 and "no contact holds the identity email" in res.output
    assert "nobody@example.com" not in res.output
    res = CliRunner().invoke(main, ["contacts", "export", "--identity", "nonsense"])
    assert res.exit_code == 1 and "Error" in res.output
    res = CliRunner().invoke(main, ["contacts", "export"])  # every contact, as before
    assert res.exit_code == 0 and ana in [c["id"] for c in json.loads(res.output)]


def test_segment_stays_audiences_and_quality_issues_are_listed_and_another_brands_admin_refused(api, store, ana):
    from datetime import UTC, datetime

    from sync.access import tokens
    from sync.access.roles import Principal

    at = datetime(2026, 1, 2, tzinfo=UTC)
    with store.transaction() as s:
        s.add(model.SegmentMember(segment="vip", contact_id=ana, entered_at=at, left_at=None))
        s.add(model.AudienceMemberState(destination="meta", segment="vip", contact_id=ana, keys=["h1"], state="added",
                                        synced_at=at))
        s.add(model.QualityIssue(key="k1", source="hubspot", object="contacts", mapping="m", record_id="51",
                                 contact_id=ana, field="birthday", kind="invalid", reason="not a date"))
    admin = Principal(name="test-setup", role="admin", via="cli")
    lumen = tokens.create(store, admin, "lumen-admin", "admin", brands=["lumen"])[1]
    assert api.get(f"/api/contacts/{ana}/access-request", headers=bearer(lumen)).status_code == 403
    # even a token limited to the person's own brand: the answer holds every brand's dealings with them
    own = tokens.create(store, admin, "default-admin", "admin", brands=["default"])[1]
    assert api.get(f"/api/contacts/{ana}/access-request", headers=bearer(own)).status_code == 403
    res = api.get(f"/api/contacts/{ana}/access-request",
                  headers=bearer(tokens.create(store, admin, "an-admin", "admin")[1]))
    assert res.status_code == 200, res.json
    assert res.json["segments"] == [{"segment": "vip", "entered_at": at.isoformat(), "left_at": None}]
    assert [(a["destination"], a["state"], a["synced_at"]) for a in res.json["audiences"]] == [
        ("meta", "added", at.isoformat())]
    assert [(q["source"], q["field"]) for q in res.json["quality_issues"]] == [("hubspot", "birthday")]
    with store.transaction() as s:
        assert len(s.scalars(select(model.AuditEntry).where(
            model.AuditEntry.action == "contact.access_request")).all()) == 1  # the refused one is not
