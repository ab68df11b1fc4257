"""``lifesync privacy``: personal data lifesync keeps, at the shell.

``register(main)`` adds::

    lifesync privacy purge [--dry-run]
    lifesync privacy unsuppress KIND:VALUE

The same service function as the nightly ``purge_personal_data`` job
(``sync.privacy.retention.purge``); the person at the shell acts as ``cli:<user>`` and a real
purge is audited. Output is JSON: rows redacted (or, dry, to redact) per kind, and the days.
"""

from __future__ import annotations

import click

from sync.cli import context


def register(main: click.Group) -> None:
    """Add ``lifesync privacy`` to ``main``."""

    @main.group()
    def privacy() -> None:
        """Personal data lifesync keeps: retention, suppressions."""

    @privacy.command("purge")
    @context.demo_option
    @click.option("--dry-run", is_flag=True, help="Count what is past its retention window; change nothing.")
    def purge_cmd(dry_run: bool) -> None:
        """Redact raw webhook bodies, closed dead letters and delivery answers past their retention days."""
        from sync.access.roles import shell_user
        from sync.privacy.retention import purge

        settings = context.settings()
        with context.opened_store(settings) as store:
            context.dump(purge(store, settings, dry_run=dry_run, actor=None if dry_run else shell_user()))

    @privacy.command("unsuppress")
    @context.demo_option
    @click.argument("identity")
    def unsuppress_cmd(identity: str) -> None:
        """Take a forgotten person's IDENTITY (kind:value) off the suppression list: their records count again."""
        from sync.access.roles import shell_user
        from sync.errors import NotFound
        from sync.privacy.suppression import lift

        settings = context.settings()
        with context.opened_store(settings) as store:
            try:
                context.dump(lift(store, identity, shell_user()))
            except (ValueError, NotFound) as exc:
                raise click.ClickException(str(exc)) from None
