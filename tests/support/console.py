"""Helpers for console tests: the CSRF token of a page, and signing a test client in."""

from __future__ import annotations

import re

from cryptography.fernet import Fernet

SECRET_KEY = Fernet.generate_key().decode()  # the console's session key derives from it (on PostgreSQL too)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path: str = "/console/sign-in") -> str:
    """The CSRF token a console page carries for this client's session."""
    found = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert found, f"{path} carries no CSRF token"
    return found.group(1)


def sign_in(client, token: str, **extra):
    """POST the sign-in form as a browser would (with the page's CSRF token)."""
    return client.post("/console/sign-in", data={"token": token, "csrf_token": csrf_of(client), **extra})


def browser_sign_in(page, token: str, path: str = "/console/") -> None:
    """Sign a Playwright page in through the sign-in form, as a person would, and land on ``path``."""
    page.goto(path)
    page.locator("#token").fill(token)  # by id: the label is in the page's language
    page.locator("#token").press("Enter")
    page.wait_for_url(lambda url: "/console/sign-in" not in url)


def new_token(store, role: str) -> str:
    """A fresh API token of ``role`` on ``store`` (a unique name each call)."""
    import secrets

    from sync.access import tokens
    from sync.access.roles import Principal

    maker = Principal(name="test-setup", role="admin", via="cli")
    return tokens.create(store, maker, f"{role}-{secrets.token_hex(4)}", role)[1]


WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}


def axe_violations(page) -> str | None:
    """axe-core's report of the WCAG 2.1 A/AA violations on ``page`` as it is now, or None when there are none."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    return results.generate_report() if results.violations_count else None
