"""Every console page, in English and Arabic: no WCAG 2.1 A/AA violation axe-core finds (contrast, labels,
landmarks, keyboard names …), and usable at 360 px wide (no sideways scrolling of the page itself).

The pages are the sections the navigation offers an admin, so a new section is checked as soon as it
is in the navigation.
"""

from __future__ import annotations

import pytest
from support.console import axe_violations as violations
from support.console import browser_sign_in

NARROW = {"width": 360, "height": 740}


def section_paths(page) -> list[str]:
    links = page.locator("nav.sections a")  # by class: its name is in the page's language
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_passes_axe_wcag_aa(page, live_server, language):
    page.goto("/console/sign-in")
    if language == "ar":
        page.get_by_role("button", name="العربية").click()
        page.wait_for_selector("html[dir=rtl]")
    assert violations(page) is None, violations(page)
    browser_sign_in(page, live_server.token)
    paths = section_paths(page)
    assert len(paths) >= 2
    found = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        report = violations(page)
        if report:
            found[path] = report
    assert not found, "\n".join(f"{path}:\n{report}" for path, report in found.items())


def test_every_page_fits_360_px(page, live_server):
    browser_sign_in(page, live_server.token)
    paths = ["/console/sign-in", *section_paths(page)]
    page.set_viewport_size(NARROW)
    wide = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            wide[path] = overflow
    assert not wide, f"pages wider than 360 px (px too wide): {wide}"
