"""Fixtures for the HTTP layer: a strict responses mock, recorded sleeps."""

from __future__ import annotations

import pytest
import responses


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def sleeps():
    return []
