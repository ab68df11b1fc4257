"""Every console page (each GET route without path arguments) renders for every role that may open it,
and is 403 for the others; signed out it is a redirect to the sign-in page. New pages are covered as
soon as they are routed."""

from __future__ import annotations

import pytest

from sync.access.roles import ROLES
from sync.web.api.auth import required_role
from sync.web.console.guard import PUBLIC


def pages(app) -> list[tuple[str, str]]:
    return sorted((rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("console.") and rule.endpoint not in PUBLIC
                  and "GET" in rule.methods and not rule.arguments)


def test_there_are_pages_to_check(console_app):
    assert {"/console/audit", "/console/tokens"} <= {path for path, _ in pages(console_app)}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_the_roles_that_may_open_it(console_app, signed_in, role):
    client = signed_in[role]
    for path, endpoint in pages(console_app):
        needed = required_role(console_app, endpoint, "GET")
        answer = client.get(path, follow_redirects=True)
        allowed = ROLES.index(role) >= ROLES.index(needed)
        assert answer.status_code == (200 if allowed else 403), (path, role, answer.status_code)
        body = answer.get_data(as_text=True)
        assert body.strip() and "Traceback" not in body, path  # a page, or a fragment htmx loads


def test_signed_out_every_page_leads_to_sign_in(console_app):
    client = console_app.test_client()
    for path, _ in pages(console_app):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/console/sign-in"), path
