"""In a real browser: sign in through the form, the overview with the parts htmx loads, at 360 px too, and in Arabic."""

from __future__ import annotations

from playwright.sync_api import expect
from support.console import browser_sign_in
from support.dead_letters import bad_time

from sync.config import load_config
from sync.ingest.deadletter_groups import LetterFilter, groups
from sync.ingest.pipeline import ingest

PARTS = ("funnel", "connections", "lost", "conversions")
NARROW = {"width": 360, "height": 740}


def parts_loaded(page) -> None:
    for part in PARTS:  # each part replaces its placeholder (a link to it) once htmx has loaded it
        expect(page.locator(f"#{part}.overview-report")).to_be_visible()
    expect(page.locator("[aria-busy=true]")).to_have_count(0)


def test_signing_in_opens_the_overview_with_every_part(page, live_server, shot):
    if not groups(live_server.store, LetterFilter(), 1):  # another module replayed the demo's open letters
        ingest("whatsapp", "message", [bad_time(900)], store=live_server.store, config=load_config(None))
    page.goto("/console/")
    page.get_by_label("API token").fill(live_server.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/overview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    parts_loaded(page)
    funnel = page.locator("#funnel")
    expect(funnel.get_by_role("img", name="Contacts per stage")).to_be_visible()  # the chart, named
    assert funnel.locator("svg rect title").first.text_content().startswith("Entered: ")  # a bar's hover value
    expect(funnel.get_by_role("columnheader", name="Moved on")).to_be_visible()  # the same figures as a table
    expect(page.locator("#connections [data-connection]").first).to_be_visible()
    group = page.locator(".overview-groups tbody th a").first
    assert group.get_attribute("href").startswith("/console/dead-letters/letters?group=")
    page.wait_for_load_state("networkidle")
    shot(page, "overview")
    label, href = group.inner_text().rstrip(".…"), group.get_attribute("href")  # a long cause is cut short
    page.goto(href)  # the dead-letters page lists that group's letters
    expect(page.locator("main")).to_contain_text(label[:40])


def test_the_overview_fits_360_px_and_mirrors_in_arabic(page, live_server, shot):
    page.set_viewport_size(NARROW)
    browser_sign_in(page, live_server.token, "/console/overview")
    parts_loaded(page)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), page.evaluate(
        "document.scrollingElement.scrollWidth")
    shot(page, "overview-360")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    parts_loaded(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("نظرة عامة")
    expect(page.locator("#funnel").get_by_role("img", name="جهات الاتصال في كل مرحلة")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.locator("#funnel").scroll_into_view_if_needed()
    shot(page, "overview-ar-360")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[dir=ltr]")
