"""In a real browser, on the demo's data: the Segments page lists the bundled segments with their sizes, a segment
shows its members and its size chart, and a change is previewed (size and sample) before anything is saved."""

from __future__ import annotations

from playwright.sync_api import expect
from support.console import browser_sign_in, new_token

from sync.config.revisions import Revisions
from sync.segments.membership import evaluate


def test_a_viewer_reads_a_segment_and_previews_a_change(page, live_server):
    config = live_server.app.extensions["lifesync"]["configs"].get()
    changes = {c.segment: c for c in evaluate(live_server.store, config.segments, retire=False)}
    latest = Revisions(live_server.store, None).latest_id()
    browser_sign_in(page, new_token(live_server.store, "viewer"), "/console/segments")
    row = page.locator("#segments tbody tr", has_text="Lapsed customers")
    expect(row).to_contain_text(f"{changes['lapsed-customers'].size:,}")
    row.get_by_role("link", name="Lapsed customers").click()
    expect(page.locator("svg.chart.days rect")).to_have_count(30)
    page.locator("#text").fill("label: Staged\nconditions: [{stage: [New Lead, Hot Lead, Payment, Customer]}]\n")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#segment-preview .notice")).to_contain_text("contacts are in this segment now")
    expect(page.locator("#preview-sample tbody tr").first).to_be_visible()
    assert Revisions(live_server.store, None).latest_id() == latest  # a preview saves nothing
