"""``lifesync tokens`` and ``lifesync audit``: API tokens and the audit log at the shell.

``register(main)`` adds::

    lifesync tokens create --name NAME --role viewer|operator|admin [--expires-in-days N] [--brand B ...]
    lifesync tokens list [--json]
    lifesync tokens revoke ID
    lifesync audit [--actor NAME] [--action ACTION] [--limit N] [--json]

The person at the shell acts as ``cli:<user>`` with the admin role (``sync.access.roles.shell_user``):
whoever can run lifesync on the server can read its database anyway. These commands call the
same service functions as the ops API (``sync.access``), so their changes are audited the same way.
"""

from __future__ import annotations

from datetime import timedelta

import click

from sync.access.roles import ROLES
from sync.cli import context


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def register(main: click.Group) -> None:
    """Add ``lifesync tokens`` and ``lifesync audit`` to ``main``."""

    @main.group()
    def tokens() -> None:
        """API tokens of the ops API (shown once, stored hashed, revocable)."""

    @tokens.command("create")
    @click.option("--name", required=True, help="Who or what uses it (shown in the audit log).")
    @click.option("--role", type=click.Choice(ROLES), required=True, help="viewer reads; operator acts; admin all.")
    @click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None, help="Stops working then.")
    @click.option("--brand", "brands", multiple=True, metavar="BRAND",
                  help="Limit it to this brand's data (brands.yaml); repeat for several. Default: every brand.")
    def tokens_create(name: str, role: str, expires_in_days: int | None, brands: tuple[str, ...]) -> None:
        """Create a token and print it: it is shown this once."""
        from sync.access import tokens as service
        from sync.access.roles import shell_user
        from sync.store.model import utcnow

        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        with context.opened_store(context.settings()) as store:
            described, value = service.create(store, shell_user(), name, role, expires, list(brands) or None)
        click.echo(f"created token {described['id']} {name!r} ({role}); it is shown once, keep it now:", err=True)
        click.echo(value)

    @tokens.command("list")
    @context.demo_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def tokens_list(as_json: bool) -> None:
        """Every token: id, name, role, state, prefix, last used, expiry (never the values)."""
        from sync.access import tokens as service

        with context.opened_store(context.settings()) as store:
            found = service.listed(store)
        if as_json:
            context.dump(found)
            return
        for t in found:
            click.echo(f"{t['id']:>5}  {t['name'][:30]:<30} {t['role']:<8} {t['state']:<8} {t['prefix']}  "
                       f"last used {_when(t['last_used_at'])}  expires {_when(t['expires_at'])}")

    @tokens.command("revoke")
    @click.argument("token_id", type=int)
    def tokens_revoke(token_id: int) -> None:
        """Revoke a token by id: it stops working at once."""
        from sync.access import tokens as service
        from sync.access.roles import shell_user

        with context.opened_store(context.settings()) as store:
            described = service.revoke(store, shell_user(), token_id)
        click.echo(f"token {described['id']} {described['name']!r} is {described['state']}")

    @main.command("audit")
    @context.demo_option
    @click.option("--actor", default=None, help="Only this token name (or cli:<user>).")
    @click.option("--action", default=None, help="Only this action, e.g. token.create.")
    @click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per change.")
    def audit_cmd(actor: str | None, action: str | None, limit: int, as_json: bool) -> None:
        """The audit log, newest first: who changed what, before → after."""
        from sync.access.audit import AuditFilter, entries

        with context.opened_store(context.settings()) as store:
            found = entries(store, AuditFilter(actor=actor, action=action), limit)
        if as_json:
            context.dump([{c: getattr(e, c) for c in ("id", "at", "actor", "role", "via", "action", "target_type",
                                                     "target_id", "summary", "before", "after")} for e in found])
            return
        for e in found:
            click.echo(f"{_when(e.at)}  {e.actor} ({e.role}, {e.via})  {e.summary}")
