"""In a real browser, on the demo's data: the duplicate review queue — dismiss and restore a pair, merge one after
its preview, and unmerge it again, leaving both contacts exactly as they were.

The demo's 60 people hold no duplicate (its HubSpot twins are 3% of people): the module adds one as the demo
makes them — a second HubSpot contact with a demo contact's e-mail in another case — and removes it after.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from support.console import axe_violations, browser_sign_in, new_token
from support.duplicates import add_twin, remove_contact

from sync.access.roles import Principal
from sync.config import load_config
from sync.quality.duplicates import pairs, restore, scan
from sync.reports.export import contacts_json

OPERATOR = Principal(name="test-teardown", role="operator", via="cli")


@pytest.fixture(scope="module", autouse=True)
def twin(live_server):
    pair = add_twin(live_server.store, load_config(None).lifecycle)
    yield pair
    remove_contact(live_server.store, pair[1])


def test_a_viewer_reads_the_queue_without_controls(page, live_server):
    scan(live_server.store)
    queue = pairs(live_server.store)
    assert queue, "the demo leaves suspected duplicates (HubSpot contacts sharing an e-mail)"
    browser_sign_in(page, new_token(live_server.store, "viewer"), "/console/duplicates")
    expect(page.locator("#duplicate-pairs tbody tr")).to_have_count(len(queue))
    page.get_by_role("link", name=f"Pair {queue[0]['id']}", exact=True).click()
    expect(page.locator("#side-by-side")).to_be_visible()
    assert page.get_by_role("button", name=re.compile("Not the same person|Merge")).count() == 0
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for action in ("dismiss", "merge"):
        answer = page.request.post(f"/console/duplicates/{queue[0]['id']}/{action}", form={"csrf_token": csrf})
        assert answer.status == 403, action
    assert pairs(live_server.store) == queue  # nothing changed


def test_an_operator_dismisses_restores_merges_with_a_preview_and_unmerges(page, live_server, shot, twin):
    store = live_server.store
    browser_sign_in(page, new_token(store, "operator"), "/console/duplicates")
    page.get_by_role("button", name="Scan again").click()
    expect(page.locator(".notice")).to_contain_text("Scan done")
    pair = pairs(store)[0]
    a, b = pair["contact_a"], pair["contact_b"]
    assert (a, b) == twin
    with store.transaction() as s:
        before = contacts_json(s, [pair["contact_a"], pair["contact_b"]])
    page.get_by_role("link", name=f"Pair {pair['id']}", exact=True).click()
    page.get_by_role("button", name="Not the same person").click()
    expect(page.locator(".notice")).to_contain_text("will not be suggested again")
    assert pair["id"] not in [p["id"] for p in pairs(store)]
    page.get_by_role("button", name="Put back in the queue").click()
    expect(page.locator(".notice")).to_contain_text("Back in the queue")
    page.get_by_role("link", name="Preview the merge").click()
    expect(page.locator("#merge-preview tbody tr").first).to_be_visible()
    expect(page.locator("#stage-preview")).to_contain_text(f"#{pair['contact_a']}")
    shot(page, "duplicates-merge-preview", full_page=True)
    assert axe_violations(page) is None, axe_violations(page)
    page.get_by_role("button", name="Merge these contacts").click()
    merged = f"contact {pair['contact_b']} is now part of contact {pair['contact_a']}"
    expect(page.locator(".notice")).to_contain_text(merged)
    with store.transaction() as s:
        assert [d["id"] for d in contacts_json(s, [pair["contact_a"], pair["contact_b"]])] == [pair["contact_a"]]
    page.locator("#merges tbody tr").first.get_by_role("button", name="Unmerge").click()
    expect(page.locator(".notice")).to_contain_text(f"contact {pair['contact_b']} is separate")
    with store.transaction() as s:
        assert contacts_json(s, [pair["contact_a"], pair["contact_b"]]) == before
    [remembered] = [p for p in pairs(store, "dismissed") if (p["contact_a"], p["contact_b"]) == (a, b)]
    restore(store, OPERATOR, remembered["id"])  # remembered as not the same person; back as the demo left it
