import pytest
from support.lifecycle_fixtures import make_config

from sync.config.types import LifecycleConfig


@pytest.fixture
def config() -> LifecycleConfig:
    return make_config()
