"""In a real browser: search a demo contact as you type, open its page, see its timeline and fields; by keyboard too."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

import pytest
from support.console import browser_sign_in

from sync.web.api.contacts import contact_document, contact_page

SEARCH = "Name, email, phone or id"


@pytest.fixture(scope="module")
def someone(live_server) -> dict:
    """The demo contact with a conversion whose page shows the most (kinds in its timeline, then fields
    several sources disagree on), as the API has it."""
    with live_server.app.app_context():
        listed = contact_page({"has_conversions": True, "limit": 100, "cursor": None})["items"]
        docs = [contact_document(c["id"]) for c in listed if c["name"] and len(c["name"].split()[0]) >= 3]

    def shows(doc: dict) -> tuple[int, int]:
        kinds = sum(bool(doc[part]) for part in ("stage_history", "activities", "touchpoints", "conversions", "merges"))
        return kinds, sum(len(field["candidates"]) > 1 for field in doc["fields"].values())

    return max(docs, key=shows)


def test_search_as_you_type_then_open_the_contact(page, live_server, someone, shot):
    browser_sign_in(page, live_server.token, "/console/contacts")
    page.evaluate("window.stillThisPage = true")  # gone if the search loaded a new page
    typed = someone["name"][:4]
    with page.expect_response(lambda answer: f"q={typed[:3]}" in unquote_plus(answer.url)) as searched:
        page.get_by_label(SEARCH).press_sequentially(typed, delay=40)
    assert searched.value.request.headers.get("hx-request") == "true"
    page.wait_for_url(re.compile(r"[?&]q="))  # the search is in the address, to share or reload
    link = page.locator("#results").get_by_role("link", name=someone["name"], exact=True)
    link.first.wait_for()
    assert page.evaluate("window.stillThisPage") is True
    for name in page.locator("#results tbody th a").all_inner_texts():
        assert name.lower().startswith(typed.lower()) or any(
            part.lower().startswith(typed.lower()) for part in name.split())
    assert "stage=" in searched.value.url  # the other filters go with what was typed
    with page.expect_response(lambda answer: "has_conversions=false" in answer.url):
        page.get_by_label("Conversions").select_option("false")
    link.first.wait_for(state="detached")  # it has conversions: narrowed away, still without a page load
    with page.expect_response(lambda answer: "has_conversions=true" in answer.url):
        page.get_by_label("Conversions").select_option("true")
    link.first.wait_for()
    assert page.evaluate("window.stillThisPage") is True and "has_conversions=true" in page.url
    shot(page, "contacts-search")

    link.first.click()
    page.wait_for_url(f"**/console/contacts/{someone['id']}")
    assert page.get_by_role("heading", level=1).inner_text() == someone["name"]
    timeline = page.locator("ol.timeline > li")
    histories = [someone["stage_history"], *(own["stage_history"] for own in someone.get("brands", {}).values())]
    expected = (sum(map(len, histories)) + len(someone["activities"]) + len(someone["touchpoints"])
                + len(someone["conversions"]) + len(someone["merges"]))
    assert timeline.count() == expected > 0
    assert page.locator("li.timeline-conversion").count() == len(someone["conversions"])
    fields = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Winner"))
    assert fields.locator("tbody.field").count() == len(someone["fields"])
    assert fields.locator("tr.wins").count() >= 1
    shot(page, "contact", full_page=True)


def test_the_keyboard_reaches_the_search_box_and_the_results(page, live_server, someone):
    browser_sign_in(page, live_server.token, "/console/contacts")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    else:
        pytest.fail("Tab never reached the search box")
    with page.expect_response(lambda answer: "q=" in answer.url):  # the search as typed, not the first page
        page.keyboard.type(someone["name"][:4])
    page.wait_for_load_state("networkidle")  # every search the typing started has answered and been swapped in
    page.locator("#results").get_by_role("link", name=someone["name"], exact=True).first.wait_for()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#results') && document.activeElement.tagName") == "A":
            break
    else:
        pytest.fail("Tab never reached a result")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/contacts/\d+$"))
    assert page.locator("ol.timeline").is_visible()


def test_both_pages_fit_360_px(page, live_server, someone, shot):
    page.set_viewport_size({"width": 360, "height": 780})
    browser_sign_in(page, live_server.token, f"/console/contacts?q={someone['name'][:4]}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # wide tables scroll in their own box
    page.goto(f"/console/contacts/{someone['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "contact-360")


def test_the_contact_page_in_arabic_keeps_configured_names(page, live_server, someone, shot):
    browser_sign_in(page, live_server.token, f"/console/contacts/{someone['id']}")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    assert page.get_by_role("heading", name="الجدول الزمني").is_visible()  # "Timeline"
    table = page.locator("table.fields")
    assert table.locator("th").first.inner_text() == "الحقل"  # "Field"
    first = table.locator("tbody.field .field-name").first.inner_text()
    assert first == sorted(someone["fields"])[0]  # field names are configuration: as configured
    headers = table.locator("thead th")
    assert headers.first.bounding_box()["x"] > headers.last.bounding_box()["x"]  # columns run right to left
    shot(page, "contact-ar")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[dir=ltr]")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_results_and_the_contact_page_pass_axe_wcag_aa(page, live_server, someone, language):
    from support.console import axe_violations as violations  # the sections' check, on pages the navigation cannot name

    browser_sign_in(page, live_server.token, f"/console/contacts?q={someone['name'][:4]}&has_conversions=true")
    if language == "ar":
        page.get_by_role("button", name="العربية").click()
        page.wait_for_selector("html[dir=rtl]")
    assert violations(page) is None, violations(page)
    page.goto(f"/console/contacts/{someone['id']}")
    assert violations(page) is None, violations(page)
    page.goto("/console/contacts?stage=No+such+stage")  # a refusal, shown in place
    assert page.get_by_role("alert").is_visible()
    assert violations(page) is None, violations(page)
