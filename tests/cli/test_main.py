"""The `lifesync` commands, run in-process against the test database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sync.cli.main import main
from sync.config import BUNDLED_CONFIG_DIR
from sync.store import model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def cli(store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_ingest_then_get_then_export(cli, tmp_path):
    contact = json.loads((FIXTURES / "hubspot" / "contact.json").read_text())
    lead = json.loads((FIXTURES / "salesforce" / "lead.json").read_text())
    (tmp_path / "c.json").write_text(json.dumps([contact]))
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "c.json"))
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["created"] == 1
    # JSON lines through stdin, a second source
    res = cli("ingest", "salesforce", "Lead", "-", input=json.dumps(lead) + "\n")
    assert res.exit_code == 0, res.output
    res = cli("contacts", "get", f"hubspot:{contact['id']}")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert f"hubspot:{contact['id']}" in doc["identities"]
    assert doc["fields"]["first_name"]["value"]
    res = cli("contacts", "export")
    docs = json.loads(res.output)
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert cli("contacts", "export").output == res.output  # stable


def test_bad_records_are_dead_lettered_and_the_rest_lands(cli, store, tmp_path):
    good = json.loads((FIXTURES / "hubspot" / "contact.json").read_text())
    no_id = {k: v for k, v in good.items() if k != "id"}
    junk = {**good, "id": "77", "properties": {"email": "null", "phone": "000000"}}
    (tmp_path / "in.json").write_text(json.dumps([no_id, "not an object", good, junk]))
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "in.json"))
    counts = json.loads(res.output)
    assert (counts["created"], counts["dead_lettered"], counts["records"]) == (2, 2, 4)
    with store.transaction() as s:
        reasons = sorted(s.scalars(select(model.DeadLetter.reason)))
    assert any("record_id" in r or "id" in r for r in reasons)
    assert any("expected a JSON object" in r for r in reasons)


def test_unknown_source_object_names_the_known_ones(cli, tmp_path):
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(Exception, match=r"mappings exist for: .*hubspot contacts"):
        cli("ingest", "hubspot", "tickets", str(tmp_path / "x.json"))


def test_invalid_json_input_names_the_line(cli, tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": "1"}\n{oops\n')
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "bad.jsonl"))
    assert res.exit_code == 1 and "line 2" in res.output


def test_missing_input_file_is_a_clear_error(cli, tmp_path):
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "nope.json"))
    assert res.exit_code == 1 and "nope.json: cannot read the file" in res.output


def test_contacts_get_unknown_identity(cli):
    res = cli("contacts", "get", "email:nobody@example.com")
    assert res.exit_code == 1 and "no contact" in res.output
    assert "nobody@example.com" not in res.output  # personal data is not echoed


def test_mappings_preview_touches_no_state(cli, store):
    mapping = BUNDLED_CONFIG_DIR / "mappings" / "whatsapp_message.yaml"
    res = cli("mappings", "preview", str(mapping), str(FIXTURES / "whatsapp" / "message_referral.json"))
    assert res.exit_code == 0, res.output
    patch = json.loads(res.output)
    assert patch["stage"] == "New Lead" and patch["touchpoints"][0]["click_ids"]
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 0


def test_config_check_reports_every_error_and_exits_1(cli, tmp_path, monkeypatch):
    shutil.copytree(BUNDLED_CONFIG_DIR, tmp_path / "cfg")
    lc = tmp_path / "cfg" / "lifecycle.yaml"
    lc.write_text(lc.read_text().replace("phase: conversion", "phase: converting", 1) + "\nsurprise: 1\n")
    m = tmp_path / "cfg" / "mappings" / "hubspot_contacts.yaml"
    m.write_text(m.read_text() + "\nbogus_key: 1\n")
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path / "cfg"))
    res = cli("config", "check")
    assert res.exit_code == 1
    assert "lifecycle.yaml" in res.output and "phase" in res.output and "surprise" in res.output
    assert "hubspot_contacts.yaml" in res.output and "bogus_key" in res.output
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR")
    ok = cli("config", "check")
    assert ok.exit_code == 0 and "configuration OK" in ok.output



def test_config_check_reports_malformed_connection_settings_beside_file_errors(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("LIFESYNC_TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv("LIFESYNC_TWILIO_SIGNATURE_ALGORITHM", "md5")
    res = cli("config", "check")
    assert res.exit_code == 1 and "environment: LIFESYNC_TWILIO_SIGNATURE_ALGORITHM" in res.output
    shutil.copytree(BUNDLED_CONFIG_DIR, tmp_path / "cfg")
    (tmp_path / "cfg" / "lifecycle.yaml").write_text("stages: [\n")  # a YAML error too: both are listed
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path / "cfg"))
    res = cli("config", "check")
    assert res.exit_code == 1 and "lifecycle.yaml" in res.output
    assert "LIFESYNC_TWILIO_SIGNATURE_ALGORITHM" in res.output and "2 error(s)" in res.output
    monkeypatch.setenv("LIFESYNC_TWILIO_SIGNATURE_ALGORITHM", "sha256")
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR")
    assert cli("config", "check").exit_code == 0

def test_db_upgrade_is_idempotent(cli):
    assert cli("db", "upgrade").exit_code == 0
    assert cli("db", "upgrade").exit_code == 0


def test_worker_on_an_unknown_queue_is_a_usage_error_naming_the_queues(cli):
    result = cli("worker", "ingest", "nosuchqueue")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "unknown queue 'nosuchqueue'; lifesync's queues are ingest, sync, dispatch, maintenance" in result.output
