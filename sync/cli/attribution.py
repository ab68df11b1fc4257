"""``lifesync dispatch``: send pending conversions now; ``lifesync diagnostics``: what the networks said later."""

from __future__ import annotations

from typing import Any

import click

from sync.cli import context


def register(main: click.Group) -> None:
    """Add ``dispatch`` and ``diagnostics`` to ``main`` (shared helpers in ``sync.cli.context``)."""

    @main.command("dispatch")
    @click.option("--destination", "name", default=None, help="Only this destination of conversions.yaml.")
    @click.option("--dry-run", is_flag=True, help="Build and check every pending event; send and change nothing.")
    def dispatch_cmd(name: str | None, dry_run: bool) -> None:
        """Send every pending conversion to its ad-network destinations (what the dispatch job does).

        A destination whose scheduled dispatcher is sending right now is skipped (it holds that
        destination's lock), and says so.
        """
        from sync.attribution.configure import destination_configs
        from sync.attribution.dispatch import dispatch_all
        from sync.attribution.networks import sender_for

        settings = context.settings()
        config = context.load_config(settings)
        destinations = destination_configs(settings, config)
        known = sorted(d.name for d in getattr(config.conversions, "destinations", ()))
        if name is not None and name not in destinations:
            reason = "is not in conversions.yaml" if name not in known else "is disabled or has no credentials"
            raise click.ClickException(f"destination {name!r} {reason}; configured and enabled: "
                                       f"{', '.join(sorted(destinations)) or 'none'}")
        if not destinations:
            raise click.ClickException("no conversion destination is enabled: set the credentials of one of "
                                       f"{', '.join(known) or 'the destinations in conversions.yaml'} "
                                       "(lifesync settings lists them)")
        from jobs.connection import redis_connection
        from jobs.locks import host_scope, run_locked

        out: dict[str, Any] = {}
        redis = redis_connection(settings)
        with context.opened_store(settings) as store:
            for dest_name, dest in sorted(destinations.items()):
                if name is not None and dest_name != name:
                    continue
                if dry_run:  # sends and changes nothing: no need to wait for the dispatcher
                    out[dest_name] = dispatch_all(store, dest, sender_for(dest), dry_run=True).as_dict()
                    continue
                # the scheduled dispatcher's lock: one sender per destination at a time
                ran = run_locked(redis, "lifesync", f"dispatch_{dest_name}",
                                 lambda d=dest: dispatch_all(store, d, sender_for(d)).as_dict(), host_scope(settings))
                out[dest_name] = ran.get("result", ran)  # or why it did not run, or stopped
        context.dump(out)

    @main.command("diagnostics")
    @click.option("--destination", "name", default=None, help="Only this destination of conversions.yaml.")
    @click.option("--days", default=7, show_default=True, help="Look at deliveries sent in the last DAYS days.")
    def diagnostics_cmd(name: str | None, days: int) -> None:
        """Ask the networks that process requests later (Google Data Manager) how each recent request went.

        Records each answer in the deliveries' response JSON (``diagnostics``) and prints, per
        destination, the requests asked about, their statuses and the failure reasons with record counts.
        """
        from sync.attribution.configure import destination_configs
        from sync.attribution.diagnostics import collect

        settings = context.settings()
        destinations = destination_configs(settings, context.load_config(settings))
        if name is not None and name not in destinations:
            raise click.ClickException(f"destination {name!r} is not enabled; enabled: "
                                       f"{', '.join(sorted(destinations)) or 'none'}")
        with context.opened_store(settings) as store:
            context.dump({dest_name: collect(store, dest, days=days).as_dict()
                          for dest_name, dest in sorted(destinations.items()) if name in (None, dest_name)})
