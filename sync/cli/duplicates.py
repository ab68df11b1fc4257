"""``lifesync duplicates``: the duplicate review queue at the shell.

``register(main)`` adds::

    lifesync duplicates scan
    lifesync duplicates list [--status open|dismissed] [--limit N] [--after ID]
    lifesync duplicates show PAIR
    lifesync duplicates merge PAIR [--yes]       (prints the preview; merges only with --yes)
    lifesync duplicates dismiss PAIR | restore PAIR
    lifesync duplicates merges [--contact ID] [--limit N]
    lifesync duplicates unmerge MERGE

The same service functions as ``/api/duplicates`` (``sync.quality``); the person at the shell
acts as ``cli:<user>``, audited the same way. Output is JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from sync.cli import context
from sync.errors import RequestError


@contextmanager
def _as_click() -> Iterator[None]:
    """A request the service refuses (unknown pair, a merge that cannot be undone) is a clear message, exit 1."""
    try:
        yield
    except RequestError as exc:
        raise click.ClickException(exc.message) from None


def register(main: click.Group) -> None:
    """Add ``lifesync duplicates`` to ``main``."""

    @main.group()
    def duplicates() -> None:
        """Suspected duplicate contacts: review, merge on purpose, dismiss, unmerge."""

    @duplicates.command("scan")
    @context.demo_option
    def scan_cmd() -> None:
        """Find suspected duplicates again (same e-mail, phone, name + city; blocked merges)."""
        from sync.access.roles import shell_user
        from sync.quality.duplicates import scan

        with context.opened_store(context.settings()) as store:
            context.dump(scan(store, shell_user()))

    @duplicates.command("list")
    @context.demo_option
    @click.option("--status", type=click.Choice(("open", "dismissed")), default="open", show_default=True)
    @click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
    @click.option("--after", type=click.IntRange(1), default=None, help="Only pairs with a higher id (next page).")
    def list_cmd(status: str, limit: int, after: int | None) -> None:
        """Print a page of the queue: pair id, both contact ids, the evidence."""
        from sync.quality.duplicates import pairs

        with context.opened_store(context.settings()) as store:
            context.dump(pairs(store, status, limit, after))

    @duplicates.command("show")
    @context.demo_option
    @click.argument("pair", type=click.IntRange(1))
    def show_cmd(pair: int) -> None:
        """Print a pair with both contacts side by side."""
        from sync.quality.duplicates import pair_detail

        with context.opened_store(context.settings()) as store, _as_click():
            context.dump(pair_detail(store, pair))

    @duplicates.command("merge")
    @context.demo_option
    @click.argument("pair", type=click.IntRange(1))
    @click.option("--yes", is_flag=True, help="Merge; without it only the preview is printed.")
    def merge_cmd(pair: int, yes: bool) -> None:
        """Preview merging a pair (field winners, stage after); with --yes merge it."""
        from sync.access.roles import shell_user
        from sync.outbox.effects import Effects
        from sync.quality.merging import merge, preview

        settings = context.settings()
        config = context.load_config(settings)
        with context.opened_store(settings) as store, _as_click():
            effects = Effects.of(settings, config)
            if yes:
                context.dump(merge(store, config.lifecycle, shell_user(), pair, effects))
            else:
                context.dump(preview(store, config.lifecycle, pair, effects))
                click.echo("(preview only: run again with --yes to merge)", err=True)

    @duplicates.command("dismiss")
    @context.demo_option
    @click.argument("pair", type=click.IntRange(1))
    def dismiss_cmd(pair: int) -> None:
        """Dismiss a pair as "not the same person" (remembered: it never comes back)."""
        from sync.access.roles import shell_user
        from sync.quality.duplicates import dismiss

        with context.opened_store(context.settings()) as store, _as_click():
            context.dump(dismiss(store, shell_user(), pair))

    @duplicates.command("restore")
    @context.demo_option
    @click.argument("pair", type=click.IntRange(1))
    def restore_cmd(pair: int) -> None:
        """Undo a dismissal: the pair is back in the queue."""
        from sync.access.roles import shell_user
        from sync.quality.duplicates import restore

        with context.opened_store(context.settings()) as store, _as_click():
            context.dump(restore(store, shell_user(), pair))

    @duplicates.command("merges")
    @context.demo_option
    @click.option("--contact", type=click.IntRange(1), default=None, help="Only merges of this contact.")
    @click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
    def merges_cmd(contact: int | None, limit: int) -> None:
        """Print past merges, newest first, and whether each can be undone."""
        from sync.quality.unmerging import merges

        with context.opened_store(context.settings()) as store:
            context.dump(merges(store, limit, contact=contact))

    @duplicates.command("unmerge")
    @context.demo_option
    @click.argument("merge_id", type=click.IntRange(1))
    def unmerge_cmd(merge_id: int) -> None:
        """Undo a merge: both contacts restored and recomputed, CRM write-backs queued."""
        from sync.access.roles import shell_user
        from sync.outbox.effects import Effects
        from sync.quality.unmerging import unmerge

        settings = context.settings()
        config = context.load_config(settings)
        with context.opened_store(settings) as store, _as_click():
            context.dump(unmerge(store, config.lifecycle, shell_user(), merge_id, Effects.of(settings, config)))
