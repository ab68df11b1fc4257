"""HubSpot connector fixtures: a simulated clock and a connector factory (the strict HTTP mock: ../conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from connectors.hubspot.hubspot_fakes import PRIVATE_TOKEN, PROPERTIES, SimClock, settings_with

from sync.connectors.hubspot import HubSpotConnector


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def make(clock):
    """``make(env=..., **kwargs)`` → a connector on a private-app token unless ``env`` says otherwise."""

    def build(env: dict[str, str] | None = None, **kwargs: Any) -> HubSpotConnector:
        kwargs.setdefault("properties", PROPERTIES)
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("clock", clock)
        env = env if env is not None else {"LIFESYNC_HUBSPOT_TOKEN": PRIVATE_TOKEN}
        return HubSpotConnector(settings_with(**env), **kwargs)

    return build
