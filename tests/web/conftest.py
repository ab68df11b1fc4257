from __future__ import annotations

import pytest
from support.webhook_app import ENV

from jobs.connection import redis_connection
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
