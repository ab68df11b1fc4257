"""An app with the ops API, and one token per role."""

from __future__ import annotations

import pytest
from support.ops_app import BOOTSTRAP, ops_app, ops_settings

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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
