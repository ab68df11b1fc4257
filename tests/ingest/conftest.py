"""The ``lifesync`` command line against the test database (no Redis: jobs run in-process)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sync.cli.main import main


@pytest.fixture
def cli(store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)
