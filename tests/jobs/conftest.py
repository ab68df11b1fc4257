"""Jobs run on the embedded store and on real Redis (db 15; a missing Redis fails, never skips)."""

from __future__ import annotations

import os

import pytest
from redis import Redis

import jobs.tasks
from jobs.connection import redis_connection
from sync.settings import Settings

REDIS_TEST_URL = os.environ.get("LIFESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["embedded", "redis"])
def settings(request, monkeypatch, database_url, store):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    if request.param == "redis":
        Redis.from_url(REDIS_TEST_URL).ping()
        monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    jobs.tasks.reset()
    s = Settings.from_env()
    redis_connection(s).flushdb()
    yield s
    redis_connection(s).flushdb()
    jobs.tasks.reset()


@pytest.fixture
def redis(settings):
    return redis_connection(settings)
