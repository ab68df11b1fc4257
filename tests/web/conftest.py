from __future__ import annotations

import pytest
from support.webhook_app import ENV

from jobs.connection import redis_connection
from sync.access import tokens
from sync.access.roles import ROLES, Principal
from sync.config import load_config
from sync.settings import Settings
from sync.web import create_app


@pytest.fixture(scope="session")
def config():
    return load_config(None)


@pytest.fixture
def enqueued():
    return []


@pytest.fixture
def app(store, config, enqueued, database_url):
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV})
    return create_app(settings, store=store, config=config, enqueue=enqueued.append,
                      queue=redis_connection(settings))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def role_tokens(store):
    """{role: token value} for a fresh token of each role."""
    maker = Principal(name="test-setup", role="admin", via="cli")
    return {role: tokens.create(store, maker, f"{role}-token", role)[1] for role in ROLES}


@pytest.fixture
def brand_limited_token(store):
    """An admin token limited to the brand ``default``: only the brand rule can refuse it a route."""
    maker = Principal(name="test-setup", role="admin", via="cli")
    return tokens.create(store, maker, "brand-limited-admin", "admin", brands=["default"])[1]
