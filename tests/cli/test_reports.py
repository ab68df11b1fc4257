"""``lifesync report``: each report from the command line, on a real database (JSON, tables, HTML, bad windows)."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from support.report_data import attribution_data as attribution_data  # fixtures, re-exported for pytest
from support.report_data import funnel_data as funnel_data
from support.report_data import retention_data as retention_data

from sync.cli.reports import register


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    group = click.Group("lifesync")
    register(group)
    runner = CliRunner()
    return lambda *args: runner.invoke(group, ["report", *args])


def test_cli_funnel_json_and_table(funnel_data, cli):
    res = cli("funnel", "--json", "--from", "2026-03-01", "--to", "2026-03-01")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["end"] == "2026-03-02T00:00:00+00:00"  # --to with a date includes the day
    assert [(r["stage"], r["entered"]) for r in doc["stages"]] == [
        ("New Lead", 5), ("Hot Lead", 3), ("Payment", 2), ("Customer", 1), ("Repeat Customer", 0)]
    res = cli("funnel")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].split() == ["stage", "phase", "entered", "now", "moved", "on", "rate", "median", "stay"]
    new_lead = next(line for line in lines if line.strip().startswith("New Lead"))
    assert new_lead.split()[2:] == ["acquisition", "5", "1", "3", "60.0%", "3h", "0m"]


def test_cli_every_report_prints(attribution_data, cli):
    for name in ("lost", "response", "attribution", "delivery", "retention"):
        res = cli(name)
        assert res.exit_code == 0, (name, res.output)
    assert "first-touch by campaign" in cli("attribution").output


def test_cli_retention_table_and_its_inactive_days(retention_data, cli):
    res = cli("retention", "--from", "2026-01-01", "--to", "2026-03-31", "--inactive-days", "60")
    assert res.exit_code == 0, res.output
    assert "churn 25.0% (1 with no activity for 60 days)" in res.output
    assert "2026-01  100.0%  33.3%  33.3%" in res.output  # the January cohort's retention row
    res = cli("retention", "--inactive-days", "0")
    assert res.exit_code == 2 and "0 is not in the range 1<=x<=3650" in res.output


def test_cli_rejects_bad_windows(cli, store):
    res = cli("funnel", "--from", "March")
    assert res.exit_code == 2 and "is not an ISO date" in res.output
    res = cli("lost", "--from", "2026-03-05", "--to", "2026-03-01")
    assert res.exit_code == 2 and "must be before --to" in res.output


def test_cli_html(funnel_data, cli, tmp_path):
    res = cli("html", str(tmp_path / "r.html"), "--from", "2026-03-01")
    assert res.exit_code == 0, res.output
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cli_csv_is_the_export_table(attribution_data, cli, store):
    from sync.reports import attribution
    from sync.reports.csv_export import to_csv
    from sync.reports.window import parse_moment

    res = cli("attribution", "--csv", "--from", "2026-03-01", "--to", "2026-03-01")
    assert res.exit_code == 0, res.output
    report = attribution(store, None, start=parse_moment("2026-03-01"), end=parse_moment("2026-03-01", end=True))
    assert res.stdout_bytes.decode() == to_csv(report)  # (.stdout turns CRLF into LF)
    assert res.stdout.startswith("model,dimension,key,name,unresolved,conversions,value_EUR")
    both = cli("funnel", "--csv", "--json")
    assert both.exit_code == 2 and "choose one" in both.output
