from datetime import UTC, datetime

import pytest

from sync.demo import generate_business
from sync.demo.business import Business

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def business() -> Business:
    """The default business: seed 7, 5,000 people."""
    return generate_business()
