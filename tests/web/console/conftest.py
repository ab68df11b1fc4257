"""A console app (the whole web app) with a session key, and a signed-in test client per role."""

from __future__ import annotations

import pytest
from support.console import SECRET_KEY, sign_in
from support.webhook_app import ENV

from jobs.connection import redis_connection
from jobs.web import RqJobs
from sync.settings import Settings
from sync.web import create_app


@pytest.fixture
def console_settings(database_url):
    return Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_SECRET_KEY": SECRET_KEY})


@pytest.fixture
def console_app(store, config, console_settings):
    connection = redis_connection(console_settings)
    app = create_app(console_settings, store=store, config=config, enqueue=lambda ids: None, queue=connection,
                     jobs=RqJobs(connection))
    app.extensions["lifesync"]["auth_attempts"].clear()
    return app


@pytest.fixture
def signed_in(console_app, role_tokens):
    """{role: test client signed in with that role's token}."""
    clients = {}
    for role, token in role_tokens.items():
        client = console_app.test_client()
        assert sign_in(client, token).status_code == 302
        clients[role] = client
    return clients
