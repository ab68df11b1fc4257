"""In a real browser, on the demo's data: connections and dead letters as a viewer sees them, and as an operator acts.

The demo leaves one open dead-letter group (a conversion its network cannot take); the viewer's test runs first
and finds it open, the operator's replays it. Both sections are screenshotted.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from support.console import axe_violations, browser_sign_in, new_token

from sync.ingest.deadletter_groups import LetterFilter, groups


def open_groups(store) -> list[dict]:
    return groups(store, LetterFilter(), 50)


def test_a_viewer_sees_no_replay_or_dismiss_controls_and_gets_403_posting_anyway(page, live_server, shot):
    [group] = open_groups(live_server.store)
    browser_sign_in(page, new_token(live_server.store, "viewer"), "/console/dead-letters")
    row = page.locator(f'tr[data-group="{group["group"]}"]')
    expect(row.locator("td.count")).to_have_text(str(group["count"]))
    assert page.get_by_role("button", name=re.compile("Replay|Dismiss")).count() == 0
    row.get_by_role("link", name=group["reason_class"]).click()
    page.wait_for_url("**/console/dead-letters/letters?**")
    expect(page.locator(".open-count")).to_have_text(str(group["count"]))
    assert page.get_by_role("checkbox").count() == 0
    assert page.get_by_role("button", name=re.compile("Replay|Dismiss")).count() == 0
    shot(page, "dead-letters-group-viewer")
    page.get_by_role("link", name=f"#{group['sample']['id']}").click()
    expect(page.locator("pre.payload")).to_be_visible()
    assert axe_violations(page) is None, axe_violations(page)  # one letter with its payload
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for action, extra in (("replay", {}), ("dismiss", {"note": "viewer"})):
        answer = page.request.post(f"/console/dead-letters/{action}",
                                   form={"group": group["group"], "confirm": "yes", "csrf_token": csrf, **extra})
        assert answer.status == 403, action
    assert open_groups(live_server.store) == [group]  # nothing changed


def test_an_operator_replays_a_group_and_sees_its_open_count_change(page, live_server, shot):
    [group] = open_groups(live_server.store)
    browser_sign_in(page, new_token(live_server.store, "operator"), "/console/connections")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connections")
    card = page.locator("article.connection", has=page.get_by_role("heading", name="whatsapp/salon2"))
    card.get_by_role("button", name="Test connection").click()
    expect(card.locator(".result")).to_contain_text("Nothing to test")  # in place: still on the page
    respondio = page.locator("article.connection", has=page.get_by_role("heading", name="respondio/default"))
    respondio.get_by_role("button", name="Sync now").click()
    expect(respondio.locator(".result")).to_contain_text("lifesync-sync-respondio-default")
    respondio.get_by_role("button", name="Sync now").click()
    expect(respondio.locator(".result")).to_contain_text("Already queued")  # clicked again: nothing more queued
    pending = live_server.app.extensions["lifesync"]["jobs"].overview(50)["queued"]
    assert [j["id"] for j in pending].count("lifesync-sync-respondio-default") == 1
    shot(page, "connections", full_page=True)
    assert axe_violations(page) is None, axe_violations(page)  # with results in place

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Dead letters").click()
    page.wait_for_url("**/console/dead-letters")
    row = page.locator(f'tr[data-group="{group["group"]}"]')
    expect(row.locator("td.count")).to_have_text(str(group["count"]))
    shot(page, "dead-letters", full_page=True)
    row.get_by_role("link", name=group["reason_class"]).click()
    page.wait_for_url("**/console/dead-letters/letters?**")
    expect(page.locator(".open-count")).to_have_text(str(group["count"]))
    page.get_by_role("link", name=f"#{group['sample']['id']}").click()
    expect(page.get_by_role("button", name="Replay this letter")).to_be_visible()
    assert axe_violations(page) is None, axe_violations(page)  # one letter, with its own replay and dismiss
    page.go_back()
    page.get_by_role("button", name="Replay whole group…").click()
    live = page.locator("#dl-live")
    expect(live.get_by_role("heading", name="Replay this whole group?")).to_be_visible()
    shot(page, "dead-letters-confirm")
    assert axe_violations(page) is None, axe_violations(page)  # the letters view, checkboxes and confirmation
    live.get_by_role("button", name="Yes, replay the group").click()
    expect(live).to_contain_text(f"Replayed: {group['count']}.")
    expect(live).to_contain_text("Open letters left in the group: 0.")
    expect(page.locator(".open-count")).to_have_text("0")  # the list refreshed in place
    assert "/console/dead-letters/letters" in page.url
    shot(page, "dead-letters-replayed", full_page=True)
    assert open_groups(live_server.store) == []
    page.get_by_role("link", name="All groups").click()
    expect(page.locator(f'tr[data-group="{group["group"]}"]')).to_have_count(0)


def test_both_sections_fit_a_phone_in_arabic(page, live_server, shot):
    page.set_viewport_size({"width": 360, "height": 740})
    browser_sign_in(page, new_token(live_server.store, "operator"), "/console/connections")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    for path, name in (("/console/connections", "connections-ar-360"), ("/console/dead-letters?status=any",
                                                                         "dead-letters-ar-360")):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path  # wide tables scroll inside
        shot(page, name, full_page=True)
