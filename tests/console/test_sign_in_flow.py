"""In a real browser: sign in, roles in the navigation, Arabic mirrors the whole layout, sign out."""

from __future__ import annotations

from support.console import browser_sign_in, new_token


def test_sign_in_shows_the_sections_of_the_role(page, live_server, shot):
    page.goto("/console/tokens")
    assert "/console/sign-in" in page.url
    page.get_by_label("API token").fill("lsk_aaaaaaaa_" + "b" * 43)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That token is not valid")
    shot(page, "sign-in-refused")
    page.get_by_label("API token").fill(live_server.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/tokens")  # back where the person was going
    nav = page.get_by_role("navigation", name="Sections")
    assert nav.get_by_role("link", name="Tokens").is_visible()
    assert nav.get_by_role("link", name="Audit log").is_visible()


def test_a_viewer_is_offered_no_admin_section_and_gets_403_posting_anyway(page, live_server):
    browser_sign_in(page, new_token(live_server.store, "viewer"), "/console/audit")
    nav = page.get_by_role("navigation", name="Sections")
    assert nav.get_by_role("link", name="Audit log").is_visible()
    assert nav.get_by_role("link", name="Tokens").count() == 0
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post("/console/tokens", form={"name": "sneaky", "role": "admin", "csrf_token": csrf})
    assert answer.status == 403


def test_arabic_mirrors_the_layout(page, live_server, shot):
    browser_sign_in(page, live_server.token, "/console/audit")
    nav, main = page.locator("nav.sections"), page.locator("main")
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "ltr"
    assert nav.bounding_box()["x"] < main.bounding_box()["x"]  # navigation on the left
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert nav.bounding_box()["x"] > main.bounding_box()["x"]  # navigation on the right
    assert page.get_by_role("heading", level=1).inner_text() == "سجل التدقيق"
    shot(page, "audit-ar")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[dir=ltr]")


def test_keyboard_reaches_skip_link_and_navigation(page, live_server):
    browser_sign_in(page, live_server.token, "/console/audit")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible


def test_sign_out_ends_the_session(page, live_server):
    browser_sign_in(page, live_server.token, "/console/audit")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")
    page.goto("/console/audit")
    assert "/console/sign-in" in page.url
