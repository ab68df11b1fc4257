"""The `lifesync` commands, run in-process against the test database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.cli import cli_fixture

from sync.config import BUNDLED_CONFIG_DIR
from sync.store import model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


cli = cli_fixture(catch_exceptions=False, without_redis=False)  # serve's tests run with and without Redis


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


# --- config check: the vendor API versions the configuration calls, against their published end dates -----------

META = {"LIFESYNC_META_ACCESS_TOKEN": "t", "LIFESYNC_META_DATASET_ID": "1"}
GOOGLE = {"LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN": "d", "LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN": "a",
          "LIFESYNC_GOOGLE_ADS_CUSTOMER_ID": "123-456-7890"}


def _env(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_config_check_judges_googles_ads_api_version_only_when_that_transport_calls_it(cli, monkeypatch):
    quiet = cli("config", "check", "--on", "2026-12-06")
    assert quiet.exit_code == 0 and quiet.output == "configuration OK\n"  # no credentials: nothing calls Google
    _env(monkeypatch, **GOOGLE, LIFESYNC_GOOGLE_ADS_API_VERSION="v18")
    assert cli("config", "check", "--on", "2026-12-06").output == "configuration OK\n"  # Data Manager v1 is current
    _env(monkeypatch, LIFESYNC_GOOGLE_ADS_TRANSPORT="ads_api")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1 and "1 error(s)" in res.output
    assert ("environment: conversion destination 'google': LIFESYNC_GOOGLE_ADS_API_VERSION = v18: "
            "Google Ads API v18 ended on 2025-08-20") in res.output
    assert "set it to one of: v26 (until 2027-11), v25 (until 2027-08)" in res.output
    monkeypatch.delenv("LIFESYNC_GOOGLE_ADS_API_VERSION")  # the default, v26, is current
    assert cli("config", "check", "--on", "2026-12-06").output == "configuration OK\n"


def test_config_check_names_an_unknown_google_transport_and_the_allowed_ones(cli, monkeypatch):
    _env(monkeypatch, **GOOGLE, LIFESYNC_GOOGLE_ADS_TRANSPORT="grpc")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert ("LIFESYNC_GOOGLE_ADS_TRANSPORT='grpc' for conversion destination 'google' is not a transport of google; "
            "expected one of ['ads_api', 'data_manager']") in res.output


@pytest.mark.parametrize(("version", "exit_code", "says"), [
    (None, 0, "configuration OK\n"),  # today's default, v26.0
    ("v25.0", 0, "warning: environment: conversion destination 'meta': LIFESYNC_META_API_VERSION = v25.0: Meta "
                 "Marketing API (Conversions API) v25.0 ends on 2027-02-23, in 79 days"),
    ("v21.0", 1, "LIFESYNC_META_API_VERSION = v21.0: Meta Marketing API (Conversions API) v21.0 ended on 2025-09-09"),
    ("v99.0", 1, "LIFESYNC_META_API_VERSION = v99.0, which is not a Meta Marketing API (Conversions API) version "
                 "available on 2026-12-06; set it to one of: v27.0, v26.0, v25.0 (until 2027-02-23)"),
])
def test_config_check_judges_metas_version_today(cli, monkeypatch, version, exit_code, says):
    _env(monkeypatch, **META, **({"LIFESYNC_META_API_VERSION": version} if version else {}))
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == exit_code and says in res.output
    if exit_code == 0 and version:
        assert res.output.endswith("configuration OK (1 warning(s))\n")


def test_config_check_names_a_named_destinations_own_variable(cli, monkeypatch, tmp_path):
    shutil.copytree(BUNDLED_CONFIG_DIR, tmp_path / "cfg")
    conversions = tmp_path / "cfg" / "conversions.yaml"
    conversions.write_text(conversions.read_text() + "  meta-eu:\n    network: meta\n    kinds: [purchase]\n")
    _env(monkeypatch, LIFESYNC_CONFIG_DIR=str(tmp_path / "cfg"), **META, LIFESYNC_META_API_VERSION="v27.0",
         LIFESYNC_META_ACCESS_TOKEN__META_EU="t2", LIFESYNC_META_DATASET_ID__META_EU="2",
         LIFESYNC_META_API_VERSION__META_EU="v24.0")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1 and "1 error(s)" in res.output
    assert ("conversion destination 'meta-eu': LIFESYNC_META_API_VERSION__META_EU = v24.0: Meta Marketing API "
            "(Conversions API) v24.0 ended on 2026-11-10") in res.output
    monkeypatch.delenv("LIFESYNC_META_API_VERSION__META_EU")  # now it shares the default destination's setting
    assert cli("config", "check", "--on", "2026-12-06").output == "configuration OK\n"


@pytest.mark.parametrize(("version", "on", "exit_code", "says"), [
    ("2026-09", "2026-12-06", 0, "configuration OK\n"),
    ("2026-03", "2027-07-15", 0, "warning: environment: HubSpot connection 'default': LIFESYNC_HUBSPOT_API_VERSION = "
                                 "2026-03: HubSpot API 2026-03 ends on 2027-09-30, in 77 days"),
    ("2026-03", "2027-09-30", 1, "HubSpot API 2026-03 ended on 2027-09-30"),
    ("legacy", "2026-12-06", 0, "configuration OK\n"),
    ("legacy", "2027-01-15", 0, "warning: environment: HubSpot connection 'default': the connector's /crm/v4/ "
                                "(associations) (LIFESYNC_HUBSPOT_API_VERSION=legacy) calls v4: HubSpot API v4 ends on "
                                "2027-03-30, in 74 days"),
    ("legacy", "2027-03-30", 1, "HubSpot API v4 ended on 2027-03-30"),
])
def test_config_check_watches_the_hubspot_version_the_connection_calls(cli, monkeypatch, version, on, exit_code, says):
    _env(monkeypatch, LIFESYNC_HUBSPOT_TOKEN="pat-1", LIFESYNC_HUBSPOT_API_VERSION=version)
    res = cli("config", "check", "--on", on)
    assert res.exit_code == exit_code and says in res.output, res.output


def test_config_check_names_the_default_hubspot_version_as_a_default(cli, monkeypatch):
    _env(monkeypatch, LIFESYNC_HUBSPOT_TOKEN="pat-1")  # no version set: the connector calls its default, 2026-09
    res = cli("config", "check", "--on", "2028-01-15")  # 2026-09 ends on 2028-03-08: a warning
    assert "LIFESYNC_HUBSPOT_API_VERSION (default) = 2026-09: HubSpot API 2026-09" in res.output, res.output


def test_config_check_judges_salesforces_version_only_for_a_connection_that_calls_the_api(cli, monkeypatch):
    _env(monkeypatch, LIFESYNC_SALESFORCE_API_VERSION="30.0")
    assert cli("config", "check", "--on", "2026-12-06").exit_code == 0  # no client id: no API call
    _env(monkeypatch, LIFESYNC_SALESFORCE_CLIENT_ID="c")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1
    assert ("Salesforce connection 'default': LIFESYNC_SALESFORCE_API_VERSION = 30.0: Salesforce REST API v30.0 "
            "ended in 2025-06") in res.output
    monkeypatch.delenv("LIFESYNC_SALESFORCE_API_VERSION")
    assert cli("config", "check", "--on", "2026-12-06").exit_code == 0  # the default, v61.0, is supported


def test_config_check_reports_a_destinations_malformed_setting_instead_of_failing(cli, monkeypatch):
    _env(monkeypatch, **GOOGLE, LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS="purchase")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1 and "Traceback" not in res.output and "1 error(s)" in res.output
    assert "environment: LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS for destination 'google' must be" in res.output


def test_config_check_still_judges_crm_versions_when_the_config_files_are_broken(cli, monkeypatch, tmp_path):
    shutil.copytree(BUNDLED_CONFIG_DIR, tmp_path / "cfg")
    (tmp_path / "cfg" / "lifecycle.yaml").write_text("stages: [\n")
    _env(monkeypatch, LIFESYNC_CONFIG_DIR=str(tmp_path / "cfg"), LIFESYNC_SALESFORCE_CLIENT_ID="c",
         LIFESYNC_SALESFORCE_API_VERSION="v20.0")
    res = cli("config", "check", "--on", "2026-12-06")
    assert res.exit_code == 1 and "lifecycle.yaml" in res.output and "2 error(s)" in res.output
    assert "Salesforce REST API v20.0 ended in 2022-06" in res.output


def test_ingest_dead_letters_unreadable_lines_names_them_and_exits_1(cli, store, tmp_path):
    good = json.loads((FIXTURES / "hubspot" / "contact.json").read_text())
    lines = [json.dumps(good), "{oops", '{"id": ' + "9" * 5000 + "}", "[" * 50_000 + "]" * 50_000]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "in.jsonl"))
    assert res.exit_code == 1
    assert f"{tmp_path / 'in.jsonl'} line 3: a number of 5,000 characters (at most 100)" in res.output
    with store.transaction() as s:
        letters = s.execute(select(model.DeadLetter.record_id, model.DeadLetter.reason)).all()
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 1
    assert [r.rpartition(" ")[2] for r, _ in letters] == ["2", "3", "4"]
    assert "nested more than 64 deep" in letters[2][1]


def test_ingest_of_a_file_that_is_not_json_is_one_clear_error(cli, tmp_path):
    (tmp_path / "in.csv").write_text("id,email\n1,a@example.com\n")
    res = cli("ingest", "hubspot", "contacts", str(tmp_path / "in.csv"))
    assert res.exit_code == 1 and "expected a JSON array, one JSON value, or JSON lines" in res.output


MAPPING = str(BUNDLED_CONFIG_DIR / "mappings" / "hubspot_contacts.yaml")


@pytest.mark.parametrize(("record", "says"), [
    pytest.param('{"id": 1e999}', "the inline record is not readable: the number 1e999 is out of range", id="overflow"),
    pytest.param('{"id": "1"', "the inline record is not readable: not valid JSON", id="cut short"),
    pytest.param("[1, 2]", "the inline record: expected a JSON object, got list", id="not an object"),
    pytest.param('{"properties": {"email": "x"}}', "the inline record: mapping hubspot_contacts, field record_id",
                 id="no id"),
])
def test_mappings_preview_of_a_bad_record_is_a_clear_error(cli, record, says):
    res = cli("mappings", "preview", MAPPING, record)
    assert res.exit_code == 1 and says in res.output, res.output


def test_mappings_preview_with_a_broken_mapping_names_its_file_and_line(cli, tmp_path):
    broken = tmp_path / "m.yaml"
    broken.write_text("source: hubspot\nobject: contacts\nfields: [unclosed\n")
    res = cli("mappings", "preview", str(broken), '{"id": "1"}')
    assert res.exit_code == 1 and f"the mapping file has errors:\n{broken}:" in res.output, res.output


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_serve_with_redis_queues_a_drain_for_waiting_events_before_gunicorn_starts(settings, cli, store, monkeypatch):
    import os

    from jobs.connection import redis_connection
    from jobs.queues import INGEST, queue
    from sync.connectors.events import InboundEvent
    from sync.ingest.inbox import store_events

    store_events(store, [InboundEvent("generic", "order", "o-1", {"id": "o-1"})])  # stored before a crash
    started: list[list[str]] = []

    def execvp(file, args):
        started.append(args)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", execvp)
    assert cli("serve").exit_code == 0
    assert started and started[0][-1] == "jobs.wsgi:app"
    [job] = queue(INGEST, redis_connection(settings)).jobs
    assert job.func_name == "jobs.tasks.drain_inbox"
