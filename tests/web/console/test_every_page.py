"""Every console page (each GET route without path arguments) renders for every role that may open it,
and is 403 for the others; signed out it is a redirect to the sign-in page. New pages are covered as
soon as they are routed. A token limited to brands opens only the pages declared brand-scoped (the rest
are installation-wide: 403), and the navigation offers it only those."""

from __future__ import annotations

import pytest
from support.console import csrf_of, sign_in

from sync.access.roles import ROLES
from sync.web.api.auth import is_brand_scoped, required_role
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


def test_a_token_limited_to_brands_opens_only_the_brand_scoped_pages(console_app, brand_limited_token):
    client = console_app.test_client()
    assert sign_in(client, brand_limited_token).status_code == 302
    opened = set()
    for path, endpoint in pages(console_app):
        answer = client.get(path, follow_redirects=True)
        if is_brand_scoped(console_app, endpoint, "GET"):
            assert answer.status_code == 200, (path, answer.status_code)
            opened.add(path)
        else:
            assert answer.status_code == 403, (path, answer.status_code)
            assert "installation-wide: use a token without brand limits" in answer.get_data(as_text=True), path
    assert {"/console/contacts", "/console/reports", "/console/overview", "/console/dead-letters",
            "/console/duplicates", "/console/merges"} <= opened  # within its brands
    assert not opened & {"/console/audit", "/console/connections", "/console/mappings", "/console/tokens",
                         "/console/overview/connections"}
    home = client.get("/console/", follow_redirects=True)
    nav = home.get_data(as_text=True)
    assert home.request.path == "/console/overview" and 'href="/console/reports"' in nav
    assert 'href="/console/dead-letters"' in nav and 'href="/console/audit"' not in nav
    assert 'href="/console/connections"' not in nav
    scan = client.post("/console/duplicates/scan", data={"csrf_token": csrf_of(client)})
    assert scan.status_code == 403  # an action is refused as its page is: a scan reads every contact
