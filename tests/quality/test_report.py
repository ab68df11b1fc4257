"""The data-quality report: its sections over a window, and ``lifesync report quality`` as text, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner
from support.lifecycle_fixtures import make_config
from support.report_data import quality_data as quality_data  # database fixture, re-exported for pytest

from sync.cli.reports import register
from sync.quality import report as quality_report
from sync.quality.report import SECTIONS, Section, quality
from sync.reports import REPORTS

CONFIG = make_config()
MARCH_2 = datetime(2026, 3, 2, tzinfo=UTC)


def rows(report, name):
    return [list(r) for r in report.section(name).rows]


def test_every_section_over_all_time(quality_data):
    report = quality(quality_data, CONFIG)
    assert [s.name for s in report.sections] == ["contact_points", "refused_values", "without_stage",
                                                 "suspected_duplicates", "trend"]
    assert rows(report, "contact_points") == [["hubspot", 1, 1, 0, 0, 1], ["salesforce", 1, 0, 1, 1, 1]]
    refused = rows(report, "refused_values")
    assert [r[:6] for r in refused] == [
        ["hubspot_contacts", "email", "invalid_email", "expected a good email", 1, 0],
        ["salesforce_contacts", "phone", "invalid_phone", "expected a good phone", 1, 0],
        ["hubspot_contacts", "stage", "unmapped_value", "expected a good stage", 0, 1]]
    assert rows(report, "without_stage") == [["hubspot", 1]]
    assert rows(report, "suspected_duplicates") == [["blocked", 1], ["email", 1]]  # open pairs only
    assert rows(report, "trend") == [["2026-03-01", 2, 1], ["2026-03-02", 1, 1]]
    assert [s.total for s in report.sections] == [2, 2, 1, 1, 3]


def test_the_window_applies_to_every_section(quality_data):
    report = quality(quality_data, CONFIG, start=MARCH_2)
    assert rows(report, "contact_points") == [["salesforce", 1, 0, 1, 1, 1]]
    assert [r[:2] for r in rows(report, "refused_values")] == [["salesforce_contacts", "phone"]]
    assert rows(report, "without_stage") == [] and report.section("without_stage").total == 0
    assert rows(report, "suspected_duplicates") == [] and report.section("suspected_duplicates").total == 0
    assert rows(report, "trend") == [["2026-03-02", 1, 1]]
    assert report.start == MARCH_2 and quality(quality_data, CONFIG, end=datetime(2026, 1, 1, tzinfo=UTC)).section(
        "trend").total == 0


def test_a_section_function_added_to_the_list_is_in_every_output(quality_data, monkeypatch):
    def unreachable(session, lifecycle, start, end, brands):  # a concern added later: one function, nothing else
        return Section("unreachable", "Contacts no channel reaches", ("channel", "contacts"), (("sms", 4),), 4)

    monkeypatch.setattr(quality_report, "SECTIONS", [*SECTIONS, unreachable])
    report = REPORTS["quality"](quality_data, CONFIG)
    assert report.section("unreachable").rows == (("sms", 4),)
    assert report.as_dict()["sections"][-1] == {"name": "unreachable", "title": "Contacts no channel reaches",
                                                "columns": ["channel", "contacts"], "rows": [["sms", 4]],
                                                "total": 4}


@pytest.fixture
def cli(quality_data, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    group = click.Group("lifesync")
    register(group)
    return lambda *args: CliRunner().invoke(group, ["report", "quality", *args])


def test_the_cli_prints_it_as_text_json_and_csv(cli):
    text = cli("--from", "2026-03-01")
    assert text.exit_code == 0, text.output
    assert "Invalid or missing e-mails and phones, by source: 2" in text.output
    assert "invalid emails" in text.output and "hubspot_contacts" in text.output
    as_json = json.loads(cli("--json", "--to", "2026-03-01").stdout)
    assert as_json["end"] == "2026-03-02T00:00:00+00:00"
    assert [s["total"] for s in as_json["sections"]] == [1, 1, 1, 1, 2]
    table = list(csv.reader(io.StringIO(cli("--csv").stdout)))
    assert table[0][:4] == ["section", "total", "source", "contacts"]
    assert table[[r[0] for r in table].index("trend")][:2] == ["trend", "3"]  # each section's total row first
    assert sum(1 for r in table if r[0] == "refused_values") == 4
