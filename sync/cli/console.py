"""``lifesync console``: a fresh admin token printed once, the console's address, then ``lifesync serve``.

``register(main)`` adds::

    lifesync console [--host 127.0.0.1] [--port 8000] [--demo]

The newcomer's way in after ``lifesync demo``: ``lifesync console --demo`` serves the console on
the demo's database. The token is made by the service ``lifesync tokens create`` calls, as the
person at the shell (audited the same way), and is listed and revoked like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from sync.cli import context, serving


def token_name(now: datetime) -> str:
    """The name a console token is created under: its creation time, UTC, to the microsecond (names are unique)."""
    return f"console-{now.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def register(main: click.Group) -> None:
    """Add ``lifesync console`` to ``main``."""

    @main.command("console")
    @serving.address_options
    @context.demo_option
    def console_cmd(host: str, port: int) -> None:
        """Create an admin token, print it once with the console's address, then serve as `lifesync serve` does.

        Each run makes a new token; `lifesync tokens revoke ID` ends one (`lifesync tokens list` names them).
        """
        from sync.access import tokens
        from sync.access.roles import shell_user

        settings = context.settings()
        name = token_name(datetime.now(UTC))
        with context.opened_store(settings) as store:
            described, value = tokens.create(store, shell_user(), name, "admin")
        click.echo(f"Open http://{host}:{port}/console/ and sign in with this admin token ({name}):")
        click.echo(value)
        click.echo(f"It is shown only now: keep it (`lifesync tokens revoke {described['id']}` ends it).")
        serving.serve(settings, host, port)
