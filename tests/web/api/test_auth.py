"""Authentication of /api: tokens, the bootstrap token, failed-attempt limits, nothing secret in logs."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis
from web.api.conftest import BOOTSTRAP, bearer

from sync.access import tokens
from sync.access.attempts import FailedAttempts
from sync.access.roles import Principal
from sync.store.model import ApiToken, utcnow

ADMIN = Principal(name="setup", role="admin", via="cli")


@pytest.mark.parametrize("headers", [
    {}, bearer("wrong"), bearer("lsk_aaaaaaaa_" + "A" * 43), {"Authorization": "Basic Ym9vdHN0cmFwOng="},
    bearer("bootstrap-admin-tokeñ"), {"Authorization": "Bearer"},
])
def test_no_valid_token_is_401_with_a_bearer_challenge(api, headers):
    res = api.get("/api/me", headers=headers)
    assert res.status_code == 401
    assert res.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert res.json["status"] == 401 and "token" in res.json["message"]


def test_the_bootstrap_token_is_an_admin(api):
    assert api.get("/api/me", headers=bearer(BOOTSTRAP)).json == {"name": "LIFESYNC_OPS_TOKEN", "role": "admin"}


def test_a_created_token_authenticates_as_its_name_and_role(api, store):
    _, value = tokens.create(store, ADMIN, "grafana", "viewer")
    assert api.get("/api/me", headers=bearer(value)).json == {"name": "grafana", "role": "viewer"}


def test_a_revoked_token_stops_working_at_once(api, store):
    described, value = tokens.create(store, ADMIN, "ci", "operator")
    assert api.get("/api/me", headers=bearer(value)).status_code == 200
    tokens.revoke(store, ADMIN, described["id"])
    assert api.get("/api/me", headers=bearer(value)).status_code == 401


def test_an_expired_token_is_refused(api, store):
    described, value = tokens.create(store, ADMIN, "temp", "viewer", utcnow() + timedelta(hours=1))
    with store.transaction() as session:
        session.get(ApiToken, described["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert api.get("/api/me", headers=bearer(value)).status_code == 401
    assert tokens.listed(store)[0]["state"] == "expired"


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(api, store):
    _, value = tokens.create(store, ADMIN, "real", "admin")
    forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert api.get("/api/me", headers=bearer(forged)).status_code == 401


def test_last_used_is_recorded(api, store):
    _, value = tokens.create(store, ADMIN, "used", "viewer")
    assert tokens.listed(store)[0]["last_used_at"] is None
    api.get("/api/me", headers=bearer(value))
    assert tokens.listed(store)[0]["last_used_at"] is not None


def test_repeated_failures_from_one_client_are_429_even_with_a_valid_token(api):
    for _ in range(10):
        assert api.get("/api/me", headers=bearer("guess")).status_code == 401
    res = api.get("/api/me", headers=bearer(BOOTSTRAP))
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
    other = api.get("/api/me", headers=bearer(BOOTSTRAP), environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200  # another client is not blocked


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_failed_attempts_count_per_client_within_a_window(backend):
    redis = None
    if backend == "redis":
        redis = Redis.from_url(REDIS_TEST_URL)
        redis.ping()  # CI starts Redis: a missing one fails, never skips
    attempts = FailedAttempts(redis, limit=3, window=60)
    attempts.clear()
    for _ in range(2):
        attempts.failed("a")
    assert attempts.blocked("a") == 0
    attempts.failed("a")
    assert 1 <= attempts.blocked("a") <= 60
    assert attempts.blocked("b") == 0
    attempts.clear()
    assert attempts.blocked("a") == 0


def test_the_memory_window_ends(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("sync.access.attempts.time.monotonic", lambda: clock[0])
    attempts = FailedAttempts(None, limit=1, window=60)
    attempts.failed("a")
    assert attempts.blocked("a") == 60
    clock[0] += 61
    assert attempts.blocked("a") == 0


def test_no_token_value_reaches_a_log(api, store, caplog):
    _, value = tokens.create(store, ADMIN, "secretive", "viewer")
    with caplog.at_level(logging.DEBUG):
        api.get("/api/me", headers=bearer(value))
        api.get("/api/me", headers=bearer(value + "x"))
        api.get("/api/me", headers=bearer(BOOTSTRAP + "x"))
    assert value not in caplog.text and BOOTSTRAP not in caplog.text


def test_only_the_digest_is_stored(store):
    described, value = tokens.create(store, ADMIN, "hashed", "viewer")
    with store.sessions() as session:
        row = session.get(ApiToken, described["id"])
    assert value not in (row.digest, row.prefix) and row.digest == tokens.digest(value)
    assert value.startswith(row.prefix) and row.prefix.startswith("lsk_")


def test_the_openapi_document_is_public(api):
    res = api.get("/api/openapi.json")
    assert res.status_code == 200 and res.json["openapi"].startswith("3.")
    assert res.json["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_interactive_reference_is_served_from_the_package(api):
    page = api.get("/api/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/openapi.json" in html
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and all(url.startswith("/api/docs/") for url in loaded)  # no CDN: every asset from this server
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/{asset}" in html
        res = api.get(f"/api/docs/{asset}")
        assert res.status_code == 200 and len(res.data) > 10_000
        res.close()
