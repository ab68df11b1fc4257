"""``lifesync`` invoked in-process against the test database, as a fixture tests share: ``cli = cli_fixture()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sync.cli.main import main


def lifesync_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *, catch_exceptions: bool = True,
                 prefix: Sequence[str] = (), without_redis: bool = True) -> Callable[..., Result]:
    """``invoke(*args, input=None)``: ``lifesync [prefix] args`` on ``database_url`` and the bundled configuration.

    ``catch_exceptions=False`` lets an exception the command raises fail the test with its traceback;
    True (click's default) turns it into exit code 1, to assert how a refusal ends. ``without_redis``:
    REDIS_URL unset (jobs run in-process); False keeps what the test set (the ``settings`` fixture's).
    """
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    if without_redis:
        monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, [*prefix, *args], input=input, catch_exceptions=catch_exceptions)

    return invoke


def cli_fixture(*, catch_exceptions: bool = True, prefix: Sequence[str] = (), without_redis: bool = True) -> Any:
    """A ``cli`` fixture (on the emptied test ``store``) invoking :func:`lifesync_cli` with these options."""

    @pytest.fixture
    def cli(store: Any, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
        return lifesync_cli(monkeypatch, database_url, catch_exceptions=catch_exceptions, prefix=prefix,
                            without_redis=without_redis)

    return cli
