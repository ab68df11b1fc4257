"""An app with the ops API, and one token per role."""

from __future__ import annotations

import pytest
from support.webhook_app import ENV

from jobs.connection import redis_connection
from jobs.web import RqJobs
from sync.settings import Settings
from sync.web import create_app

BOOTSTRAP = "bootstrap-admin-token"


@pytest.fixture
def api_settings(database_url):
    return Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP})


@pytest.fixture
def api_app(store, config, api_settings):
    connection = redis_connection(api_settings)  # the embedded store (no REDIS_URL): `lifesync serve`'s
    app = create_app(api_settings, store=store, config=config, enqueue=lambda ids: None, queue=connection,
                     jobs=RqJobs(connection))
    app.extensions["lifesync"]["auth_attempts"].clear()
    return app


@pytest.fixture
def api(api_app):
    return api_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
