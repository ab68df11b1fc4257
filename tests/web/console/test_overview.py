"""The overview page (server side), on a database the demo filled: every role, both languages, the same figures.

The page's figures must be the service functions' (the ops API's) for the same data and window:
the funnel, lost, attribution and delivery reports, the connections' health, the dead-letter
groups and the inbox lag. The data is filled once for the module (the demo takes seconds).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import wipe
from support.console import SECRET_KEY, sign_in
from support.demo_data import fill_with_demo
from support.webhook_app import ENV

from sync.access import tokens
from sync.access.roles import ROLES, Principal
from sync.connectors import health
from sync.ingest import deadletter_groups
from sync.reports.attribution import attribution
from sync.reports.delivery import delivery
from sync.reports.funnel import funnel
from sync.reports.lost import lost
from sync.reports.window import parse_moment
from sync.settings import Settings
from sync.store import model
from sync.store.model import utcnow
from sync.web import create_app

PARTS = ("connections", "funnel", "lost", "conversions")
HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def demo(migrated_store, database_url, tmp_path_factory):
    """The demo's data, plus one webhook event waiting three hours (an inbox lag to show)."""
    wipe(migrated_store)
    fill_with_demo(database_url, tmp_path_factory.mktemp("demo"))
    with migrated_store.transaction() as session:
        session.add(model.RawEvent(source="whatsapp", object="message", event_key="waiting-1", body=b"{}",
                                   received_at=utcnow() - timedelta(hours=3, minutes=5)))
    yield migrated_store
    wipe(migrated_store)


@pytest.fixture(scope="module")
def app(demo, database_url, config):
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_SECRET_KEY": SECRET_KEY})
    made = create_app(settings, store=demo, config=config, enqueue=lambda ids: None)
    made.extensions["lifesync"]["auth_attempts"].clear()
    return made


@pytest.fixture(scope="module")
def clients(app, demo):
    """{role: a test client signed in with a token of that role}."""
    maker = Principal(name="test-setup", role="admin", via="cli")
    found = {}
    for role in ROLES:
        client = app.test_client()
        assert sign_in(client, tokens.create(demo, maker, f"overview-{role}", role)[1]).status_code == 302
        found[role] = client
    return found


def text(client, path: str, **kwargs) -> str:
    answer = client.get(path, **kwargs)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def main_of(page: str) -> str:
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def numbers(page: str, attribute: str) -> dict[str, list[str]]:
    """{row key: its number cells' text} of the rows marked ``data-<attribute>``."""
    rows = re.findall(rf'<tr data-{attribute}="([^"]*)">(.*?)</tr>', page, re.DOTALL)
    return {key: [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
                  for cell in re.findall(r'<td class="num">(.*?)</td>', body, re.DOTALL)] for key, body in rows}


def n(value: int) -> str:
    return f"{value:,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_overview_and_the_viewer_no_write_control(clients, role):
    page = text(clients[role], "/console/overview")
    assert "<h1>Overview</h1>" in page
    assert 'aria-current="page">Overview</a>' in page  # the navigation marks the section
    main = main_of(page)
    assert "<form" not in main and "<button" not in main and "hx-post" not in main
    for part in PARTS:
        assert f'hx-get="/console/overview/{part}" hx-trigger="load"' in main
        assert text(clients[role], f"/console/overview/{part}", headers=HTMX).startswith('<div class="overview-report"')


def test_a_viewer_posting_to_the_overview_is_refused(clients):
    assert clients["viewer"].post("/console/overview").status_code in (400, 403, 405)


def test_the_funnel_part_shows_the_funnel_report(clients, demo, config):
    page = text(clients["viewer"], "/console/overview/funnel", headers=HTMX)
    report = funnel(demo, config)
    shown = numbers(page, "stage")
    assert list(shown) == [row.stage for row in report.stages]
    for row in report.stages:
        assert shown[row.stage][:4] == [n(row.entered), n(row.current), n(row.moved_on), pct(row.conversion_rate)]
    assert sum(row.entered for row in report.stages) > 0  # the demo's data is there to compare
    for tile, value in (("contacts", report.contacts), ("never-staged", report.never_staged),
                        ("lost-now", report.lost_now)):
        assert re.search(rf'id="funnel-{tile}"><span class="figure">{value:,}</span>', page)
    assert "<svg" in page and "<title>Entered: " in page  # each bar says its value on hover


def test_the_lost_part_shows_the_lost_report(clients, demo, config):
    page = text(clients["viewer"], "/console/overview/lost", headers=HTMX)
    report = lost(demo, config)
    assert numbers(page, "lost-stage") == {row.stage: [n(row.current), n(row.entered)] for row in report.stages}
    assert numbers(page, "dropped-from") == {row.stage: [n(row.contacts)] for row in report.dropped_from}
    assert f"Came back from a lost stage: {report.came_back_contacts:,} contacts." in page


def test_the_conversions_part_shows_attribution_and_delivery_per_network(clients, demo, config):
    page = text(clients["viewer"], "/console/overview/conversions", headers=HTMX)
    credited, sent = attribution(demo, config), delivery(demo, config)
    first = {row.key or "": row.conversions for row in credited.first_touch.network}
    last = {row.key or "": row.conversions for row in credited.last_touch.network}
    shown = numbers(page, "network")
    assert set(shown) == first.keys() | last.keys() and shown
    for key, cells in shown.items():
        assert cells[:2] == [n(first.get(key, 0)), n(last.get(key, 0))]
    assert re.search(rf'id="conversions-total"><span class="figure">{credited.conversions:,}</span>', page)
    destinations = numbers(page, "destination")
    assert list(destinations) == [d.destination for d in sent.destinations] and destinations
    for d in sent.destinations:
        assert destinations[d.destination] == [n(d.events), n(d.sent), n(d.failed), n(d.dead), n(d.pending),
                                               pct(d.click_id_share)]


def test_the_connections_part_shows_each_configured_connections_health(clients, app, demo, config):
    page = text(clients["operator"], "/console/overview/connections", headers=HTMX)
    found = health.connections(demo, app.extensions["lifesync"]["settings"], config)
    configured = [conn for conn in found if conn["configured"]]
    tiles = re.findall(r'data-connection="([^"]+)">.*?class="state state-([a-z_]+)"', page, re.DOTALL)
    assert tiles == [(f"{c['kind']}/{c['name']}", health.state(c)) for c in configured] and tiles
    failing = sum(health.state(c) == "failing" for c in configured)
    assert f"Connections failing: {failing:,}" in page
    assert f"All connections ({len(found) - len(configured):,} not configured)" in page
    for conn in configured:
        day = conn["last_24h"]
        said = f"{day['records_in']:,} in, {day['records_out']:,} out, {day['errors']:,} errors"
        assert said in page.split(f'data-connection="{conn["kind"]}/{conn["name"]}"', 1)[1].split("</li>", 1)[0]


def test_inbox_and_dead_letters_are_the_services(clients, demo):
    page = text(clients["operator"], "/console/overview")
    groups = deadletter_groups.groups(demo, deadletter_groups.LetterFilter(), 6)
    shown = numbers(page, "group")
    assert shown == {g["group"]: [n(g["count"])] for g in groups[:5]} and shown
    assert f'href="/console/dead-letters/letters?group={groups[0]["group"]}"' in page  # that group's letters
    assert re.search(r'id="inbox-lag"><span class="figure">3h( [0-9]+m)?</span>', page)  # i18n.duration
    assert re.search(r'id="inbox-waiting"><span class="figure">1</span>', page)


def test_a_period_reaches_the_parts_and_the_reports(clients, demo, config):
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    page = text(clients["viewer"], f"/console/overview?since={since}")
    assert f'hx-get="/console/overview/funnel?since={since}"' in page
    assert re.search(rf'href="/console/overview\?since={since}" aria-current="true">Last 7 days', page)
    part = text(clients["viewer"], f"/console/overview/funnel?since={since}", headers=HTMX)
    report = funnel(demo, config, start=parse_moment(since))
    shown = numbers(part, "stage")
    assert [cells[0] for cells in shown.values()] == [f"{row.entered:,}" for row in report.stages]


def test_a_part_opened_without_script_is_a_page_of_its_own(clients):
    page = text(clients["viewer"], "/console/overview/lost")
    assert page.startswith("<!doctype html>") and "<h1>Lost stages</h1>" in page
    assert 'href="/console/overview">Back to the overview</a>' in page


@pytest.mark.parametrize("query", ["since=yesterday", "since=2026-05-01&until=2026-04-01"])
def test_a_period_the_reports_cannot_use_is_a_422_page(clients, query):
    for path in ("/console/overview", "/console/overview/funnel"):
        answer = clients["viewer"].get(f"{path}?{query}")
        assert answer.status_code == 422
        assert "<!doctype html>" in answer.get_data(as_text=True)
        assert "That period cannot be used: " in answer.get_data(as_text=True)


def test_the_overview_in_arabic_is_right_to_left_and_translated(clients):
    client = clients["viewer"]
    page = text(client, "/console/overview", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in page
    assert "<h1>نظرة عامة</h1>" in page
    part = text(client, "/console/overview/funnel", headers={**HTMX, "Accept-Language": "ar"})
    assert "Entered" not in part and "Stage" not in part
