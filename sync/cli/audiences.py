"""``lifesync segments sync [KEY] [--destination NAME] [--dry-run] [--json]``: sync segments' audiences now.

The command the ``sync_audiences`` job runs (``sync.segments.audiences.run.sync_segments``),
for every segment or one, every destination or one; it prints per destination how many
members were added, removed, unchanged, skipped and failed. Exit code 1 when a destination
stopped with an error (its settings, its credentials, the vendor unreachable).
"""

from __future__ import annotations

import sys

import click

from sync.cli import context


def segments_group(main: click.Group) -> click.Group:
    """The ``segments`` group of ``main``: the one another module made, or a new one."""
    found = main.commands.get("segments")
    if isinstance(found, click.Group):
        return found

    @main.group("segments")
    def segments() -> None:
        """Segments: who is in them, and their audiences at each destination."""

    return segments


def register(main: click.Group) -> None:
    """Add ``segments sync`` to ``main``."""

    @segments_group(main).command("sync")
    @click.argument("key", required=False)
    @click.option("--destination", "destination", default=None, metavar="NAME",
                  help="Only this destination (its name in the segment file).")
    @click.option("--dry-run", is_flag=True, help="Compute and count the changes; call no destination, write nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    def sync_cmd(key: str | None, destination: str | None, dry_run: bool, as_json: bool) -> None:
        """Bring the audiences of segment KEY (default: every segment) up to date with its members."""
        from sync.errors import NotFound
        from sync.segments.audiences.run import configured_segments, format_counts, sync_segments

        settings = context.settings()
        with context.opened_store(settings) as store:
            config = context.load_config(settings, store)
            try:
                results = sync_segments(store, settings, configured_segments(config), key=key,
                                        destination=destination, dry_run=dry_run)
            except NotFound as exc:
                raise click.ClickException(str(exc)) from None
        if as_json:
            context.dump([r.as_dict() for r in results])
        else:
            click.echo(format_counts(results))
        if any(r.error for r in results):
            sys.exit(1)
