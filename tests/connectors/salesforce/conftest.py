"""Fixtures for the Salesforce connector tests: a strict responses mock and recorded sleeps."""

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
