"""rq-dashboard at /rq: mounted only with an ops token and real Redis, and always behind the token."""

from __future__ import annotations

import base64
import logging
import sys

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis

from sync.settings import Settings
from sync.web import create_app


def client(store, config, database_url, **env):
    settings = Settings.from_env({"DATABASE_URL": database_url, **env})
    return create_app(settings, store=store, config=config, enqueue=lambda ids: None).test_client()


@pytest.fixture
def ops(store, config, database_url):
    Redis.from_url(REDIS_TEST_URL).ping()  # CI starts Redis: a missing one fails, never skips
    return client(store, config, database_url, REDIS_URL=REDIS_TEST_URL, LIFESYNC_OPS_TOKEN="ops-secret")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()},
])
def test_dashboard_refuses_without_the_token(ops, headers):
    res = ops.get("/rq/", headers=headers)
    assert res.status_code == 401 and res.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer ops-secret"}, {"Authorization": "Basic " + base64.b64encode(b"ops:ops-secret").decode()},
])
def test_dashboard_sees_the_queues_with_the_token(ops, headers):
    assert ops.get("/rq/", headers=headers).status_code == 200
    res = ops.get("/rq/0/data/queues.json", headers=headers)
    assert res.status_code == 200 and "queues" in res.json


def test_the_token_does_not_guard_webhooks_or_health(ops):
    assert ops.get("/healthz").status_code == 200


@pytest.mark.parametrize("env", [{"LIFESYNC_OPS_TOKEN": "t"}, {"REDIS_URL": REDIS_TEST_URL}])
def test_no_dashboard_without_token_or_redis(store, config, database_url, env):
    assert client(store, config, database_url, **env).get("/rq/").status_code == 404


def test_a_token_without_rq_dashboard_installed_says_why_rq_is_not_served(store, config, database_url, monkeypatch,
                                                                         caplog):
    monkeypatch.setitem(sys.modules, "rq_dashboard", None)  # import rq_dashboard now raises ImportError
    with caplog.at_level(logging.WARNING, logger="sync.web.ops_auth"):
        app = client(store, config, database_url, REDIS_URL=REDIS_TEST_URL, LIFESYNC_OPS_TOKEN="ops-secret")
    assert app.get("/rq/", headers={"Authorization": "Bearer ops-secret"}).status_code == 404
    assert "rq-dashboard is not installed" in caplog.text and "ops-secret" not in caplog.text
