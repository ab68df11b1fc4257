"""``lifesync segments sync [KEY] [--destination NAME] [--dry-run] [--json]``: sync segments' audiences now;
``lifesync segments audiences KEY [--json]``: where each of a segment's audiences stands.

The command the ``sync_audiences`` job runs (``sync.segments.audiences.run.sync_segments``),
for every segment or one, every destination or one, under the job's lock per segment (a
segment the scheduled job is syncing right now is not synced twice: it is named on stderr);
it prints per destination how many members were added, removed, unchanged, skipped and
failed. Exit code 1 when a destination stopped with an error (its settings, its credentials,
the vendor unreachable) or a segment was busy.
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
    """Add ``segments sync`` and ``segments audiences`` to ``main``."""
    group = segments_group(main)

    @group.command("audiences")
    @click.argument("key")
    @click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
    def audiences_cmd(key: str, as_json: bool) -> None:
        """Per destination of segment KEY: remote id, last sync (time, counts, error), members by state."""
        from sync.segments.audiences.status import audience_status

        settings = context.settings()
        with context.opened_store(settings) as store:
            rows = audience_status(store, key)
        if as_json:
            context.dump(rows)
            return
        for row in rows:
            when = f"{row['synced_at']:%Y-%m-%d %H:%M}" if row["synced_at"] else "never"
            members = ", ".join(f"{state} {n}" for state, n in row["members"].items())
            click.echo(f"{row['destination']} ({row['kind']}, {row['remote_id'] or 'no remote audience yet'}): "
                       f"last sync {when}{' — stopped: ' + row['error'] if row['error'] else ''}; {members}")
        if not rows:
            click.echo(f"segment {key!r} has no audience synced yet")

    @group.command("sync")
    @click.argument("key", required=False)
    @click.option("--destination", "destination", default=None, metavar="NAME",
                  help="Only this destination (its name in the segment file).")
    @click.option("--dry-run", is_flag=True, help="Compute and count the changes; call no destination, write nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    def sync_cmd(key: str | None, destination: str | None, dry_run: bool, as_json: bool) -> None:
        """Bring the audiences of segment KEY (default: every segment) up to date with its members."""
        from sync.access.roles import shell_user
        from sync.errors import NotFound
        from sync.segments.audiences.run import (
            configured_segments,
            format_counts,
            lock_name,
            record_sync,
            select_segments,
            sync_segments,
        )

        settings = context.settings()
        results, busy = [], []
        with context.opened_store(settings) as store:
            config = context.load_config(settings, store)
            try:
                chosen = select_segments(configured_segments(config), key, destination)
            except NotFound as exc:
                raise click.ClickException(str(exc)) from None
            if dry_run:  # sends and writes nothing: no need to wait for a running sync
                results = sync_segments(store, settings, chosen, destination=destination, dry_run=True,
                                        privacy=config.privacy)
            else:
                from jobs.connection import redis_connection
                from jobs.locks import host_scope, run_locked

                redis = redis_connection(settings)
                for one in chosen:  # the job's lock: one sync per segment at a time
                    ran = run_locked(redis, "lifesync", lock_name(one.key), lambda one=one: sync_segments(
                        store, settings, [one], destination=destination, privacy=config.privacy), host_scope(settings))
                    results += ran.get("result") or []
                    if ran.get("result") and not (ran.get("skipped") or ran.get("lost")):  # audited as the API's
                        record_sync(store, shell_user(), one.key, destination, ran.get("result") or [])
                    if ran.get("skipped") or ran.get("lost"):
                        busy.append(f"{one.key}: not synced: {ran.get('reason') or ran.get('lost')}")
        if as_json:
            context.dump([r.as_dict() for r in results])
        else:
            click.echo(format_counts(results))
        for line in busy:
            click.echo(line, err=True)
        if busy or any(r.error for r in results):
            sys.exit(1)
