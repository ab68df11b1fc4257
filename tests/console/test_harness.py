"""The browser harness itself: Chromium drives the live server's API reference, all of it served offline."""

from __future__ import annotations

from playwright.sync_api import expect


def test_api_reference_renders_offline_in_chromium(page, page_requests, live_server, shot):
    page.goto("/api/docs/")
    operation = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text="/api/contacts"))
    expect(operation.first).to_be_visible()
    expect(operation.first.locator(".opblock-summary-method")).to_have_text("GET")
    shot(page, "api-docs")
    assert any(url.endswith(".js") for url in page_requests), page_requests  # Swagger UI's own files, fetched here
    assert all(url.startswith(live_server.url) for url in page_requests), page_requests
