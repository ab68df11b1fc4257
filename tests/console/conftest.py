"""Browser tests of the console: the app served on a live port over the demo's data, driven by Debian's Chromium.

Fixtures:

- ``demo_store`` (session): the test database (SQLite, or ``DATABASE_URL``'s PostgreSQL) emptied and filled by
  the demo (60 people, seed 5) once for every module here (a fill costs 4–10 s), so a test that changes
  the data leaves it as it found it (roll back, revoke) or asserts relative to what is there. A test that
  takes the function-scoped ``store`` fixture empties it: such tests do not belong here.
- ``live_server`` (module): a ``LiveServer`` — ``url`` (``http://127.0.0.1:<port>``), ``app``, ``store`` and
  ``token`` (the bootstrap admin token) — serving ``create_app`` in a thread on ``demo_store``; the app
  follows configuration revisions, as ``lifesync serve`` does, from ``live_config_dir`` (module; None: the
  bundled files), which a module overrides to serve another configuration (e.g. the demo's brands).
- ``browser`` (session): one headless Chromium (``/usr/bin/chromium``) for the whole run; missing, it fails.
- ``page``: a fresh context per test (1280x800, ``base_url`` the live server: ``page.goto("/console")``);
  every request it makes is kept in ``page_requests``, and one to another host fails the test (no CDN).
- ``shot(page, name)``: saves ``name.png`` under the run's ``console-shots/`` folder, or
  ``$LIFESYNC_SHOTS_DIR`` when set (to regenerate the README's screenshots); returns its path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import wipe
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from support.demo_data import fill_with_demo
from support.ops_app import BOOTSTRAP, ops_app, ops_settings
from werkzeug.serving import make_server

from sync.store.engine import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class LiveServer:
    """The app served on ``url``, its store, and an admin token to sign in with."""

    url: str
    app: Flask
    store: Store
    token: str = BOOTSTRAP


@pytest.fixture(scope="session")
def demo_store(migrated_store: Store, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The test database emptied, then filled by the demo (once per run: 4 s on SQLite, 10 s on PostgreSQL)."""
    wipe(migrated_store)
    fill_with_demo(database_url, tmp_path_factory.mktemp("demo"))
    return migrated_store


@pytest.fixture(scope="module")
def live_config_dir() -> Path | None:
    """The project config directory the live server reads (``LIFESYNC_CONFIG_DIR``); a module may override it."""
    return None


@pytest.fixture(scope="module")
def live_server(demo_store: Store, database_url: str, live_config_dir: Path | None) -> Iterator[LiveServer]:
    app = ops_app(replace(ops_settings(database_url), config_dir=live_config_dir), demo_store, config=None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, demo_store)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the console's browser tests drive Debian's Chromium "
                    "(apt-get install chromium; .ci/run installs it). Playwright's own browser download is not used.")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page_requests() -> list[str]:
    """URLs of every request the test's page made, in order."""
    return []


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, page_requests: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.on("request", lambda request: page_requests.append(request.url))
    try:
        yield context.new_page()
    finally:
        context.close()
    outside = elsewhere(page_requests, live_server.url)
    assert not outside, f"the page fetched from outside the live server (every asset must be shipped): {outside}"


def elsewhere(urls: list[str], base: str) -> list[str]:
    """The network ``urls`` not on ``base``'s host and port (``data:`` and ``blob:`` URLs are no fetch)."""
    origin = urlsplit(base).netloc
    return [url for url in urls if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != origin]


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LIFESYNC_SHOTS_DIR") or tmp_path_factory.getbasetemp() / "console-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(shots_dir: Path) -> Callable[..., Path]:
    def save(page: Page, name: str, *, full_page: bool = False) -> Path:
        path = shots_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save

