"""``lifesync connections check``: one line per connection, the vendor's error, exit 1 when any failed."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from support.crm import KEY

from sync.cli.main import main
from sync.crm import runs
from sync.errors import AuthError
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer


@pytest.fixture
def cli(store, database_url, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LIFESYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_SECRET_KEY", KEY)
    with SandboxServer(hubspot=HubSpotSandbox(), salesforce=SalesforceSandbox(), meta=MetaSandbox()) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)

        def invoke(*args):
            return CliRunner().invoke(main, ["connections", "check", *args], catch_exceptions=False)

        yield invoke, server


def test_every_connection_ok_prints_one_line_each_and_exits_0(cli):
    invoke, _ = cli
    res = invoke()
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "hubspot/default  OK (portal 62515, SANDBOX, US/Eastern)"
    assert lines[1].startswith("salesforce/default  OK (API requests today: ")
    assert lines[2] == f"meta-ads/default  OK (ad account {MetaSandbox.AD_ACCOUNT_ID} 'lifesync sandbox ad account')"
    assert lines[3] == f"meta/meta  OK (dataset {MetaSandbox.DATASET_ID} 'lifesync sandbox dataset')"
    assert len(lines) == 4


def test_a_refused_token_fails_its_line_with_the_vendors_message_exits_1_and_never_prints_the_token(cli, monkeypatch):
    invoke, _ = cli
    secret = "EAAGbadtoken0123456789secret"
    monkeypatch.setenv("LIFESYNC_META_ACCESS_TOKEN", secret)
    monkeypatch.setenv("LIFESYNC_HUBSPOT_TOKEN", "pat-na1-wrong-0123456789")
    res = invoke()
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines[0].startswith("hubspot/default  FAILED: HubSpot") and "(HTTP 401" in lines[0]
    assert lines[1].startswith("salesforce/default  OK")  # one failing never stops the others
    assert lines[2].startswith("meta-ads/default  OK")  # the Marketing API token is another token
    assert lines[3].startswith("meta/meta  FAILED: Meta Conversions API") and "code 190" in lines[3]
    assert secret not in res.output and "pat-na1-wrong-0123456789" not in res.output
    assert MetaSandbox.ACCESS_TOKEN not in res.output and HubSpotSandbox.TOKEN not in res.output


def test_json_lists_each_result(cli, monkeypatch):
    invoke, _ = cli
    monkeypatch.setenv("LIFESYNC_META_DATASET_ID", "999")
    res = invoke("--json")
    assert res.exit_code == 1
    rows = json.loads(res.output)
    assert [(r["connection"], r["status"]) for r in rows] == [
        ("hubspot/default", "ok"), ("salesforce/default", "ok"), ("meta-ads/default", "ok"), ("meta/meta", "failed")]
    assert "Object with ID '999' does not exist" in rows[3]["detail"]


def test_nothing_configured_says_so(cli, monkeypatch):
    invoke, server = cli
    for name in server.env():
        monkeypatch.delenv(name)
    res = invoke()
    assert (res.exit_code, res.output) == (0, "no connection or destination is configured\n")


def test_list_shows_every_connection_and_a_failed_runs_vendor_message(cli, store):  # cli: its environment
    run = runs.start(store, "hubspot", "default")
    runs.finish(store, run, error=AuthError("HubSpot rejected the token (HTTP 401)",
                                            vendor_message="Authentication credentials not found"))
    res = CliRunner().invoke(main, ["connections", "list"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("hubspot/default  configured; last success -; 24 h: 0 in, 0 out, 1 errors")
    assert lines[1].endswith(": HubSpot rejected the token (HTTP 401): Authentication credentials not found")
    assert any(line.startswith("twilio/default  not configured") for line in lines)
    doc = json.loads(CliRunner().invoke(main, ["connections", "list", "--json"], catch_exceptions=False).output)
    assert doc[0]["last_failure"]["message"].endswith("Authentication credentials not found")
