"""In a real browser, on the demo's data: open Reports, change the date range and see the figures become the report
functions' for that range (with htmx, and without JavaScript), download a report as CSV."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.console import browser_sign_in

from sync.reports import REPORTS
from sync.reports.csv_export import csv_table
from sync.reports.window import parse_moment
from sync.store import model


@pytest.fixture(scope="module")
def since(live_server) -> str:
    """A day inside the demo's history, so that the range from it holds fewer entries than all time."""
    with live_server.store.transaction() as session:
        first, last = session.execute(select(func.min(model.StageTransition.at),
                                             func.max(model.StageTransition.at))).one()
    return (first + (last - first) / 2 + timedelta(days=1)).date().isoformat()


def expected(live_server, start: str | None) -> dict[str, int]:
    """Entered per stage and contacts lost from each stage, as the report functions give them from ``start`` on."""
    config = live_server.app.extensions["lifesync"]["configs"].get()
    begin = parse_moment(start) if start else None
    funnel = REPORTS["funnel"](live_server.store, config, start=begin)
    lost = REPORTS["lost"](live_server.store, config, start=begin)
    return ({f"funnel:{s.stage}:entered": s.entered for s in funnel.stages}
            | {f"lost:{s.stage}:entered": s.entered for s in lost.stages})


def shown(page, names) -> dict[str, int]:
    return {name: int(page.locator(f'[data-figure="{name}"]').inner_text().replace(",", "")) for name in names}


def test_change_the_range_and_download_a_report(page, live_server, since, shot, tmp_path):
    browser_sign_in(page, live_server.token, "/console/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Reports").click()
    page.wait_for_url("**/console/reports")
    every = expected(live_server, None)
    assert shown(page, every) == every
    assert page.locator("#report-funnel svg").count() == 1  # the funnel chart, inline
    quality = REPORTS["quality"](live_server.store, live_server.app.extensions["lifesync"]["configs"].get())
    figures = {f"quality:{s.name}:total": s.total for s in quality.sections}
    assert shown(page, figures) == figures  # the demo's data-quality totals, as the report function gives them
    assert page.locator("#report-quality h3").count() == len(quality.sections)

    page.get_by_label("From", exact=True).fill(since)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/console/reports?since={since}*")  # htmx pushed the range into the address
    status = page.get_by_role("status")
    assert status.inner_text().startswith("Showing: From ")
    later = expected(live_server, since)
    assert later != every  # the demo's history has entries on both sides of the day
    assert shown(page, later) == later
    assert page.get_by_label("From", exact=True).input_value() == since
    shot(page, "reports", full_page=True)

    with page.expect_download() as info:
        page.locator("#report-funnel").get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"lifesync-funnel-{since}-to-now.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8's byte-order mark, for spreadsheets
    with saved.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    config = live_server.app.extensions["lifesync"]["configs"].get()
    header, table = csv_table(REPORTS["funnel"](live_server.store, config, start=parse_moment(since)))
    assert rows[0] == header == ["stage", "phase", "entered", "current", "moved_on", "conversion_rate",
                                 "median_seconds", "timed"]
    assert [(r[0], int(r[2])) for r in rows[1:]] == [(r[0], r[2]) for r in table]


def test_the_range_form_works_without_javascript(browser, live_server, since):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        browser_sign_in(page, live_server.token, "/console/reports")
        page.get_by_label("From", exact=True).fill(since)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/console/reports?since={since}*")
        later = expected(live_server, since)
        assert shown(page, later) == later
        page.get_by_label("To", exact=True).fill("2001-01-01")  # before the start: refused, naming the field
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**until=2001-01-01*")
        assert "From: the start" in page.get_by_role("alert").inner_text()
    finally:
        context.close()


def test_drag_across_the_days_to_choose_a_range(page, live_server, shot):
    browser_sign_in(page, live_server.token, "/console/reports")
    days = page.locator("#reports-activity svg.days rect[data-day]")
    days.first.wait_for()  # loaded by htmx after the page
    count = days.count()
    assert count > 2
    chart = page.locator("#reports-activity svg.days").bounding_box()
    first, last = count // 4, count // 2
    x = [chart["x"] + (i + 0.5) * chart["width"] / count for i in (first, last)]
    y = chart["y"] + chart["height"] / 3
    page.mouse.move(x[0], y)
    page.mouse.down()
    page.mouse.move(x[1], y, steps=5)
    page.mouse.up()
    since, until = (days.nth(i).get_attribute("data-day") for i in (first, last))
    page.wait_for_url(f"**/console/reports?since={since}&until={until}")
    assert page.get_by_label("From", exact=True).input_value() == since
    assert page.get_by_label("To", exact=True).input_value() == until
    config = live_server.app.extensions["lifesync"]["configs"].get()
    funnel = REPORTS["funnel"](live_server.store, config, start=parse_moment(since),
                               end=parse_moment(until, end=True))
    want = {f"funnel:{s.stage}:entered": s.entered for s in funnel.stages}
    assert shown(page, want) == want
    assert page.locator("#reports-activity rect.chosen").count() == last - first + 1
    shot(page, "reports-brush")


def test_the_retention_section_in_arabic_runs_right_to_left(page, live_server, shot):
    browser_sign_in(page, live_server.token, "/console/reports")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    section = page.locator("#report-retention")
    assert section.get_by_role("heading", name="الاحتفاظ والولاء").is_visible()  # "Retention and loyalty"
    config = live_server.app.extensions["lifesync"]["configs"].get()
    report = REPORTS["retention"](live_server.store, config)
    assert report.customers > 0 and report.cohorts  # the demo's shop has paying customers
    figure = section.locator('[data-figure="retention:customers"]').inner_text()
    assert int(figure.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")).replace(",", "").replace("٬", "")) \
        == report.customers
    assert section.locator("svg.chart").count() == 3  # repeat and churn, CLV by cohort, CLV by first-touch campaign
    matrix = section.locator("table.heat")
    assert matrix.locator("tbody tr").count() == len(report.cohorts)
    assert matrix.locator("td[style*='background-color']").count() == sum(len(c.retention) for c in report.cohorts)
    headers = matrix.locator("thead th")
    assert headers.first.bounding_box()["x"] > headers.last.bounding_box()["x"]  # months run right to left
    shot(page, "reports-retention-ar", full_page=True)
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[dir=ltr]")
