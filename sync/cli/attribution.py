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
        """Send every pending conversion to its ad-network destinations (what the dispatch job does)."""
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
        out: dict[str, Any] = {}
        with context.opened_store(settings) as store:
            for dest_name, dest in sorted(destinations.items()):
                if name is None or dest_name == name:
                    out[dest_name] = dispatch_all(store, dest, sender_for(dest), dry_run=dry_run).as_dict()
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
