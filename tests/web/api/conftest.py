"""An app with the ops API, and one token per role."""

from __future__ import annotations

import pytest
from support.ops_app import BOOTSTRAP, ops_app, ops_settings

from sync.access import tokens
from sync.access.roles import ROLES, Principal

__all__ = ["BOOTSTRAP", "bearer"]  # the tests here import both from this module


@pytest.fixture
def api_settings(database_url):
    return ops_settings(database_url)


@pytest.fixture
def api_app(store, config, api_settings):
    return ops_app(api_settings, store, config)


@pytest.fixture
def api(api_app):
    return api_app.test_client()


@pytest.fixture
def role_tokens(store):
    """{role: token value} for a fresh token of each role."""
    maker = Principal(name="test-setup", role="admin", via="cli")
    return {role: tokens.create(store, maker, f"{role}-token", role)[1] for role in ROLES}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
