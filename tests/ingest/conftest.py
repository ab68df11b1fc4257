"""The ``lifesync`` command line against the test database (no Redis: jobs run in-process)."""

from __future__ import annotations

from support.cli import cli_fixture

cli = cli_fixture(catch_exceptions=False)  # an exception a command raises fails the test with its traceback
