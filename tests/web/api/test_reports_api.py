"""``GET /api/reports/<name>``: the CLI's reports as JSON, equal to ``lifesync report <name> --json`` for a window."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from support.report_data import attribution_data as attribution_data  # database fixtures, re-exported for pytest
from support.report_data import quality_data as quality_data
from support.report_data import retention_data as retention_data
from web.api.conftest import bearer

from sync.cli.reports import register

NAMES = ("funnel", "lost", "response", "attribution", "delivery", "retention", "quality")


@pytest.fixture
def cli_json(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    monkeypatch.delenv("LIFESYNC_META_MARKETING_ACCESS_TOKEN", raising=False)
    group = click.Group("lifesync")
    register(group)

    def run(name: str, *window: str) -> dict:
        result = CliRunner().invoke(group, ["report", name, "--json", *window])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
    return run


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("query", "options"), [
    ("", ()),
    ("?since=2026-03-01&until=2026-03-01", ("--from", "2026-03-01", "--to", "2026-03-01")),
    ("?since=2026-03-01T06:00:00%2B02:00", ("--from", "2026-03-01T06:00:00+02:00")),
])
def test_a_report_equals_the_clis_json_for_the_same_window(attribution_data, api, role_tokens, cli_json, name,
                                                           query, options):
    response = api.get(f"/api/reports/{name}{query}", headers=bearer(role_tokens["viewer"]))
    assert response.status_code == 200, response.json
    assert response.json == cli_json(name, *options)


def test_the_reports_have_data_and_a_bare_until_date_includes_that_day(attribution_data, api, role_tokens):
    body = api.get("/api/reports/funnel?until=2026-03-01", headers=bearer(role_tokens["viewer"])).json
    assert body["end"] == "2026-03-02T00:00:00+00:00" and body["start"] is None
    assert sum(row["entered"] for row in body["stages"]) > 0
    assert api.get("/api/reports/attribution", headers=bearer(role_tokens["viewer"])).json["conversions"] > 0


@pytest.mark.parametrize(("query", "field", "says"), [
    ("?since=March", "since", "is not an ISO date"),
    ("?until=2026-02-30", "until", "is not an ISO date"),
    ("?since=2026-03-05&until=2026-03-01", "since", "must be before the end"),
    ("?since=2026-03-01&until=2026-02-28T23:59:59Z", "since", "must be before the end"),
])
def test_bad_dates_are_422_naming_the_field(api, role_tokens, query, field, says):
    response = api.get(f"/api/reports/lost{query}", headers=bearer(role_tokens["viewer"]))
    assert response.status_code == 422
    assert says in json.dumps(response.json["errors"]) and field in json.dumps(response.json["errors"])


def test_the_retention_reports_inactive_days_equals_the_clis_option(retention_data, api, role_tokens, cli_json):
    response = api.get("/api/reports/retention?since=2026-01-01&until=2026-03-31&inactive_days=60",
                       headers=bearer(role_tokens["viewer"]))
    assert response.status_code == 200, response.json
    assert (response.json["customers"], response.json["churned"], response.json["inactive_days"]) == (4, 1, 60)
    assert response.json == cli_json("retention", "--from", "2026-01-01", "--to", "2026-03-31", "--inactive-days", "60")
    bad = api.get("/api/reports/retention?inactive_days=0", headers=bearer(role_tokens["viewer"]))
    assert bad.status_code == 422
    assert bad.json["errors"]["query"]["inactive_days"] == ["expected a whole number of days from 1 to 3650"]


def test_an_unknown_report_is_404(api, role_tokens):
    assert api.get("/api/reports/revenue", headers=bearer(role_tokens["viewer"])).status_code == 404


def test_every_report_has_its_response_schema_in_the_openapi_document(api):
    spec = api.get("/api/openapi.json").json
    for name in NAMES:
        ok = spec["paths"][f"/api/reports/{name}"]["get"]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith("Report")
    assert set(spec["components"]["schemas"]["DeliveryReport"]["properties"]) == {"start", "end", "destinations"}
    assert set(spec["components"]["schemas"]["Section"]["properties"]) == {"name", "title", "columns", "rows", "total"}


def test_the_quality_report_has_its_data_and_equals_the_clis(quality_data, api, role_tokens, cli_json):
    body = api.get("/api/reports/quality?since=2026-03-02", headers=bearer(role_tokens["viewer"])).json
    assert body == cli_json("quality", "--from", "2026-03-02")
    sections = {s["name"]: s for s in body["sections"]}
    assert sections["contact_points"]["rows"] == [["salesforce", 1, 0, 1, 1, 1]]
    assert sections["trend"] == {"name": "trend", "title": "Issues found per day", "columns": ["day", "found",
                                                                                            "still_open"],
                                 "rows": [["2026-03-02", 1, 1]], "total": 1}


def test_connection_health_counts_its_sources_refused_values(store, api, role_tokens):
    from datetime import timedelta

    from sync.store.model import QualityIssue, utcnow

    with store.transaction() as s:
        for n, hours in enumerate((1, 2, 30)):  # two within 24 hours, one before
            s.add(QualityIssue(key=f"k{n}", source="hubspot", object="contacts", mapping="hubspot_contacts",
                               record_id=f"h{n}", field="phone", kind="invalid_phone", reason="r",
                               created_at=utcnow() - timedelta(hours=hours), last_seen_at=utcnow()))
    found = api.get("/api/connections", headers=bearer(role_tokens["viewer"])).json["items"]
    counts = {(c["kind"], c["name"]): c["last_24h"]["refused_values"] for c in found}
    assert counts[("hubspot", "default")] == 2 and counts[("salesforce", "default")] == 0
