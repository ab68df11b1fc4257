"""Fixtures every connector's tests share: a strict HTTP mock."""

from __future__ import annotations

import pytest
import responses


@pytest.fixture
def mock():
    """A ``responses`` mock that fails on a request nobody registered, and on a registered one never made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as strict:
        yield strict
