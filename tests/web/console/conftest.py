"""The whole web app as ``lifesync serve`` assembles it (console included), and a signed-in client per role."""

from __future__ import annotations

import pytest
from support.console import sign_in
from support.ops_app import ops_app, ops_settings


@pytest.fixture
def console_settings(database_url):
    return ops_settings(database_url)


@pytest.fixture
def console_app(store, config, console_settings):
    return ops_app(console_settings, store, config)


@pytest.fixture
def signed_in(console_app, role_tokens):
    """{role: test client signed in with that role's token}."""
    clients = {}
    for role, token in role_tokens.items():
        client = console_app.test_client()
        assert sign_in(client, token).status_code == 302
        clients[role] = client
    return clients
