"""In a real browser, over the demo's two brands (the salons and Lumen Spa): a contact's stage in each brand and
its timeline of one brand, a mapping previewed as Lumen's record, and a token created limited to Lumen."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from support.console import axe_violations as violations
from support.console import browser_sign_in

from sync.access import tokens
from sync.access.roles import Principal
from sync.demo import second_brand
from sync.store import model

LUMEN = second_brand.NAME


@pytest.fixture(scope="module")
def live_config_dir():
    """The demo's configuration: brands.yaml with Lumen Spa, as ``lifesync demo`` ran it."""
    return second_brand.config_dir(None)


def a_person_of_both_brands(store) -> int:
    """A demo contact with a stage at the salons and a stage at Lumen Spa."""
    c, cs = model.Contact, model.ContactStage
    with store.sessions() as session:
        found = session.scalar(select(c.id).join(cs, cs.contact_id == c.id)
                               .where(cs.brand == second_brand.BRAND, cs.stage.is_not(None), c.stage.is_not(None))
                               .order_by(c.id).limit(1))
    assert found is not None, "the demo has no person in both brands' funnels"
    return found


def test_a_contacts_stage_per_brand_and_its_timeline_of_one_brand(page, live_server):
    person = a_person_of_both_brands(live_server.store)
    browser_sign_in(page, live_server.token, f"/console/contacts/{person}")
    stages = page.locator("table.brand-stages tbody tr")
    assert [stages.nth(n).locator("th").inner_text() for n in range(stages.count())] == ["Glow Salons", LUMEN]
    assert violations(page) is None, violations(page)  # WCAG 2.1 AA, with the stage table and the brand choice
    labels = page.locator("ol.timeline .brand-label bdi")
    assert {"Glow Salons", LUMEN} <= set(labels.all_inner_texts())
    page.get_by_label("Brand", exact=True).select_option(label=LUMEN)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"[?&]brand=lumen"))
    assert set(page.locator("ol.timeline .brand-label bdi").all_inner_texts()) == {LUMEN}
    assert page.locator("ol.timeline li.timeline-stage").count() >= 1


def test_preview_a_shop_order_as_lumens(page, live_server):
    browser_sign_in(page, live_server.token, "/console/mappings/edit/mappings/shop_order.yaml")
    order = {"id": "browser-preview-1", "status": "booked", "total": 40.0, "currency": "EUR",
             "updated_at": "2026-03-01T10:00:00+00:00", "customer": {"email": "preview@example.com"}}
    page.get_by_label("Brand", exact=True).select_option(label=LUMEN)
    page.get_by_label("Or paste a record (JSON)").fill(json.dumps(order))
    with page.expect_response(lambda answer: "/console/mappings/preview/" in answer.url) as answered:
        page.locator("#preview-button").click()
    assert answered.value.status == 200
    result = page.locator("#preview-result")
    result.get_by_text(f"Stages of brand {LUMEN}.").wait_for()
    assert "New contact" in result.inner_text()


def test_create_a_token_limited_to_lumen(page, live_server):
    store = live_server.store
    browser_sign_in(page, live_server.token, "/console/tokens")
    page.get_by_label("Name", exact=True).fill("lumen desk browser")
    page.get_by_label("Role").select_option("viewer")
    assert violations(page) is None, violations(page)
    page.get_by_label("Limit to brands (optional)").select_option(label=[LUMEN])
    page.get_by_role("button", name="Create", exact=True).click()
    page.locator("#new-token").wait_for()
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="lumen desk browser", exact=True))
    assert row.locator("td.token-brands").inner_text() == LUMEN
    made = next(t for t in tokens.listed(store) if t["name"] == "lumen desk browser" and t["state"] == "active")
    try:
        assert made["brands"] == [second_brand.BRAND]
    finally:  # the demo data stays as it was for the other modules
        tokens.revoke(store, Principal(name="test-cleanup", role="admin", via="cli"), made["id"])
