"""Console sign-in, sessions, roles, CSRF and languages, through the whole app (server side)."""

from __future__ import annotations

import re

import pytest
from support.console import csrf_of, sign_in

from sync.access import tokens
from sync.access.roles import ROLES
from sync.web.api.auth import required_role
from sync.web.console.guard import PUBLIC


def test_signed_out_pages_go_to_sign_in_with_the_way_back(console_app):
    answer = console_app.test_client().get("/console/audit?actor=x")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/sign-in?next=/console/audit?actor%3Dx"


def test_an_htmx_call_of_a_signed_out_client_is_401_not_a_redirect(console_app):
    answer = console_app.test_client().get("/console/audit", headers={"HX-Request": "true"})
    assert answer.status_code == 401
    assert "Sign in again" in answer.get_data(as_text=True)


def test_a_valid_token_signs_in_and_the_cookie_never_holds_it(console_app, role_tokens):
    client = console_app.test_client()
    answer = sign_in(client, role_tokens["viewer"], next="/console/audit")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/audit"
    cookie = next(value for value in answer.headers.getlist("Set-Cookie") if value.startswith("lifesync_console="))
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in attributes and "samesite" in attributes and "Lax" in attributes["samesite"]
    assert attributes["path"].strip() == "Path=/console"
    assert "secure" not in attributes  # plain HTTP here; HTTPS below
    value = cookie.split(";")[0].split("=", 1)[1]
    kept = console_app.session_interface.get_signing_serializer(console_app).loads(value)
    assert role_tokens["viewer"][13:] not in repr(kept)  # the secret part (after lsk_<8>_)
    assert kept["credential"][0] == role_tokens["viewer"][:12]  # the public prefix and a digest
    page = client.get("/console/audit")
    assert page.status_code == 200
    assert "viewer-token · viewer" in page.get_data(as_text=True)


def test_the_cookie_is_secure_over_https(console_app, role_tokens):
    client = console_app.test_client()
    token = csrf_of(client, "https://localhost/console/sign-in")
    answer = client.post("https://localhost/console/sign-in", data={"token": role_tokens["viewer"],
                                                                    "csrf_token": token},
                         headers={"Referer": "https://localhost/console/sign-in"})
    assert answer.status_code == 302
    assert any("Secure" in value for value in answer.headers.getlist("Set-Cookie"))


def test_a_wrong_token_is_refused_and_counted(console_app, role_tokens):
    client = console_app.test_client()
    answer = sign_in(client, "lsk_aaaaaaaa_" + "b" * 43)
    assert answer.status_code == 401
    assert "not valid" in answer.get_data(as_text=True)
    assert client.get("/console/audit").status_code == 302  # still signed out
    attempts = console_app.extensions["lifesync"]["auth_attempts"]
    for _ in range(attempts.limit):
        sign_in(client, "wrong")
    assert sign_in(client, role_tokens["admin"]).status_code == 429  # even a good token, once blocked


def test_posting_without_the_csrf_token_is_refused(console_app, role_tokens):
    client = console_app.test_client()
    answer = client.post("/console/sign-in", data={"token": role_tokens["admin"]})
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    assert client.get("/console/tokens").status_code == 302


def test_a_forged_or_foreign_csrf_token_is_refused(signed_in, console_app):
    admin = signed_in["admin"]
    other = console_app.test_client()
    foreign = csrf_of(other)
    for token in (foreign, "forged", ""):
        answer = admin.post("/console/tokens", data={"name": "x", "role": "viewer", "csrf_token": token})
        assert answer.status_code == 400, token
    assert "x" not in [t["name"] for t in tokens.listed(console_app.extensions["lifesync"]["store"])]


def test_a_viewer_sees_no_write_controls_and_gets_403_when_posting_anyway(signed_in):
    viewer = signed_in["viewer"]
    assert viewer.get("/console/tokens").status_code == 403
    page = viewer.get("/console/audit").get_data(as_text=True)
    assert 'href="/console/tokens"' not in page  # admins' section not offered
    csrf = csrf_of(viewer, "/console/audit")
    answer = viewer.post("/console/tokens", data={"name": "sneaky", "role": "admin", "csrf_token": csrf})
    assert answer.status_code == 403
    assert "admin role" in answer.get_data(as_text=True)
    assert signed_in["operator"].post("/console/tokens/1/revoke", data={"csrf_token": csrf}).status_code == 403


def test_no_open_redirect_after_sign_in(console_app, role_tokens):
    for target in ("https://evil.example/", "//evil.example/console", "/api/me", "/console\\@evil.example"):
        answer = sign_in(console_app.test_client(), role_tokens["viewer"], next=target)
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/console"), target
        assert "evil" not in answer.headers["Location"]


def test_revoking_a_token_signs_its_sessions_out(signed_in, console_app, role_tokens):
    store = console_app.extensions["lifesync"]["store"]
    viewer_id = next(t["id"] for t in tokens.listed(store) if t["name"] == "viewer-token")
    admin = signed_in["admin"]
    answer = admin.post(f"/console/tokens/{viewer_id}/revoke", data={"csrf_token": csrf_of(admin, "/console/tokens")})
    assert answer.status_code == 200
    assert "viewer-token is revoked" in answer.get_data(as_text=True)
    assert signed_in["viewer"].get("/console/audit").status_code == 302


def test_a_token_created_in_the_console_is_shown_once_and_audited(signed_in, console_app):
    admin = signed_in["admin"]
    answer = admin.post("/console/tokens", data={"name": "scraper", "role": "viewer", "expires_on": "",
                                                 "csrf_token": csrf_of(admin, "/console/tokens")})
    assert answer.status_code == 201
    shown = re.search(r'id="new-token" dir="ltr">(lsk_[^<]+)<', answer.get_data(as_text=True)).group(1)
    store = console_app.extensions["lifesync"]["store"]
    principal = tokens.authenticate(store, shown, None)
    assert principal is not None and principal.name == "scraper" and principal.role == "viewer"
    assert shown not in admin.get("/console/tokens").get_data(as_text=True)
    audit = admin.get("/console/audit?action=token.create").get_data(as_text=True)
    assert "token.create" in audit and "admin-token" in audit and ">console<" in audit


def test_invalid_token_form_shows_errors_at_their_fields(signed_in):
    admin = signed_in["admin"]
    csrf = csrf_of(admin, "/console/tokens")
    cases = [({"name": "ok", "role": "root"}, "role"),  # the API's schema refuses it
             ({"name": "bad/name", "role": "viewer"}, "name"),  # the service refuses it
             ({"name": "ok", "role": "viewer", "expires_on": "2001-01-01"}, "expires_on")]
    for data, field in cases:
        answer = admin.post("/console/tokens", data={**data, "csrf_token": csrf})
        assert answer.status_code == 422, data
        page = answer.get_data(as_text=True)
        assert f'id="{field}-error"' in page and f'aria-describedby="{field}-error"' in page, data
    duplicate = admin.post("/console/tokens", data={"name": "viewer-token", "role": "viewer", "csrf_token": csrf})
    assert duplicate.status_code == 409
    assert "already used" in duplicate.get_data(as_text=True)


def test_arabic_is_chosen_per_session_and_mirrors_the_page(console_app, signed_in):
    viewer = signed_in["viewer"]
    assert '<html lang="en" dir="ltr">' in viewer.get("/console/audit").get_data(as_text=True)
    answer = viewer.post("/console/language", data={"lang": "ar", "next": "/console/audit",
                                                    "csrf_token": csrf_of(viewer, "/console/audit")})
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/audit"
    page = viewer.get("/console/audit").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "سجل التدقيق" in page  # "Audit log", from the catalogue
    assert '<html lang="en"' in signed_in["admin"].get("/console/audit").get_data(as_text=True)  # per session


def test_the_browser_language_is_the_default(console_app):
    page = console_app.test_client().get("/console/sign-in", headers={"Accept-Language": "ar-EG,ar;q=0.9"})
    assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)


def test_an_unknown_language_is_refused(signed_in):
    viewer = signed_in["viewer"]
    answer = viewer.post("/console/language", data={"lang": "xx", "csrf_token": csrf_of(viewer, "/console/audit")})
    assert answer.status_code == 400


def test_webhooks_and_the_api_get_no_console_cookie(console_app, role_tokens):
    client = console_app.test_client()
    bearer = {"Authorization": f"Bearer {role_tokens['viewer']}"}
    for answer in (client.get("/healthz"), client.get("/api/me", headers=bearer)):
        assert not answer.headers.getlist("Set-Cookie")


def test_without_a_key_on_postgresql_the_console_says_what_to_set(store, config, database_url):
    from support.webhook_app import ENV

    from sync.settings import Settings
    from sync.web import create_app

    settings = Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", **ENV})
    app = create_app(settings, store=store, config=config, enqueue=lambda ids: None)
    answer = app.test_client().get("/console/sign-in")
    assert answer.status_code == 503
    assert "LIFESYNC_SECRET_KEY" in answer.get_data(as_text=True)
    assert app.test_client().get("/healthz").status_code == 200  # the rest of the app is unaffected


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_console_route_declares_a_role_or_is_public(console_app, role):
    for rule in console_app.url_map.iter_rules():
        if not rule.endpoint.startswith("console."):
            continue
        if rule.endpoint in PUBLIC:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert required_role(console_app, rule.endpoint, method) in ROLES, (rule.rule, method)


def test_a_route_without_a_role_is_refused_to_admins(console_app, role_tokens):
    from sync.web.console.blueprint import bp

    console_app.view_functions["console.undeclared"] = lambda: "secret"
    console_app.add_url_rule("/console/undeclared", "console.undeclared")
    client = console_app.test_client()
    sign_in(client, role_tokens["admin"])
    assert client.get("/console/undeclared").status_code == 403
    assert bp.name == "console"
