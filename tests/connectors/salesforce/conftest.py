"""Salesforce connector fixtures: recorded sleeps and a connector factory (the strict HTTP mock: ../conftest.py)."""

from __future__ import annotations

import pytest
from connectors.salesforce.helpers import FIELDS, settings, stored_session

from sync.connectors.salesforce import SalesforceConnector


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def connect(sleeps):
    """``connect(fields=FIELDS, **settings)`` → a connector on a live stored session whose sleeps are recorded."""

    def make(fields=FIELDS, **values: str) -> SalesforceConnector:
        return SalesforceConnector(settings(**values), tokens=stored_session(), fields=fields, sleep=sleeps.append)

    return make
