"""One CRM connection end to end: build its connector, pull what changed, push what it lacks.

``lifesync sync`` and the scheduled ``sync_hubspot`` / ``sync_salesforce`` jobs both call
``sync_connection``. The connector gets the fields to read from the mappings (so adding a
mapped property needs no code), the token store for rotated OAuth tokens, and Redis for the
rate limiter shared by every worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sync.crm import runs
from sync.crm.pull import Progress, run_sync
from sync.crm.push import dispatch_crm
from sync.errors import ConfigError, SettingsError
from sync.outbox.effects import Effects
from sync.outbox.targets import CRM_CREDENTIALS, configured_connections
from sync.settings import Settings
from sync.store.credentials import token_store
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config

log = logging.getLogger(__name__)

CRM_SYSTEMS = ("hubspot", "salesforce")


def lock_name(system: str, connection: str = "default") -> str:
    """The lock every run that pulls from or pushes to (system, connection) holds: one at a time."""
    return f"crm:{system}:{connection}"


def parse_connection(name: str) -> tuple[str, str]:
    """``hubspot`` or ``hubspot/<connection>`` → (system, connection)."""
    system, _, connection = name.partition("/")
    system = system.lower()
    if system not in CRM_SYSTEMS:
        raise SettingsError(f"unknown CRM {system!r}: expected one of {', '.join(CRM_SYSTEMS)}, "
                            "optionally followed by /<connection>, e.g. hubspot/salon2")
    return system, (connection or "default").lower()


def open_crm(system: str, settings: Settings, store: Store, config: Config, connection: str = "default", *,
             redis: Any = None, sleep: Callable[[float], None] = time.sleep) -> Any:
    """The connector of (system, connection), reading the fields its mappings use."""
    tokens = token_store(store, settings)
    mappings = {obj: m for (source, obj), m in config.mappings.items() if source == system}
    if system == "hubspot":
        from sync.connectors.hubspot import HubSpotConnector, mapping_properties

        return HubSpotConnector(settings, connection, redis=redis, tokens=tokens, sleep=sleep,
                                properties={obj: mapping_properties(m) for obj, m in mappings.items()})
    if system == "salesforce":
        from sync.connectors.salesforce import SalesforceConnector, mapping_fields

        return SalesforceConnector(settings, connection, redis=redis, tokens=tokens, sleep=sleep,
                                   fields={obj: mapping_fields(m) for obj, m in mappings.items()})
    raise SettingsError(f"unknown CRM {system!r}")


def sync_connection(system: str, connection: str, *, settings: Settings, store: Store, config: Config,
                    redis: Any = None, objects: Sequence[str] | None = None, full: bool = False,
                    push: bool = True, progress: Progress | None = None,
                    sleep: Callable[[float], None] = time.sleep, check_mappings: bool = False) -> dict[str, Any]:
    """Pull (then, with ``push``, write back) one connection; a JSON-ready report.

    ``check_mappings`` first checks every value the system's mappings translate against the
    options the system really has (HubSpot's lifecycle stages, lead statuses and deal stages
    from its Properties API) and refuses to sync with a ``ConfigError`` listing each mismatch.
    """
    if connection not in configured_connections(settings, system):
        variables = " or ".join(f"LIFESYNC_{p.upper()}_{n.upper()}" for p, n in CRM_CREDENTIALS[system])
        suffix = "" if connection == "default" else f"__{connection.upper()}"
        raise SettingsError(f"{system} connection {connection!r} has no credentials: set {variables}{suffix}")
    run_id = runs.start(store, system, connection)  # the one place a run is recorded (sync.crm.runs)
    connector = None
    try:
        connector = open_crm(system, settings, store, config, connection, redis=redis, sleep=sleep)
        if check_mappings and hasattr(connector, "check_mapping"):
            issues = [issue for (source, _), mapping in sorted(config.mappings.items()) if source == system
                      for issue in connector.check_mapping(mapping)]
            if issues:
                raise ConfigError(issues)
        effects = Effects.of(settings, config)
        report = run_sync(connector, store, config, connection=connection, objects=objects, full=full,
                          batch_size=settings.batch_size, effects=effects, progress=progress).as_dict()
        if push and writes_back(effects, system, connection):
            report["pushed"] = push_pending(system, store, config, connector, connection)
            report["stats"] = connector.stats.as_dict()
    except BaseException as exc:
        try:
            runs.finish(store, run_id, error=exc, stats=getattr(connector, "stats", None))
        except Exception as lost:  # the database (or the run's lease) is gone too: the run's own error matters
            log.warning("%s %s: could not record the run's failure (%s)", system, connection, type(lost).__name__)
        raise
    runs.finish(store, run_id, report)
    return report


def writes_back(effects: Effects, system: str, connection: str) -> bool:
    """Whether lifesync writes to (system, connection): the default connection of an enabled CRM, or a
    connection brands.yaml gives to a brand (``sync.crm.plan``).
    """
    if connection == "default":
        return system in effects.push_targets
    return any((t.system, t.connection) == (system, connection) for t in effects.crm_targets)


def push_pending(system: str, store: Store, config: Config, pusher: Any, connection: str = "default") -> dict[str, int]:
    """Send every write-back due now to ``system``'s ``connection``, batch after batch; summed counts."""
    pushed: dict[str, int] = {}
    while True:
        counts = dispatch_crm(store, config, system, pusher, connection=connection)
        for k, v in counts.items():
            pushed[k] = pushed.get(k, 0) + v
        settled = counts["sent"] + counts["dead"] + counts["retrying"] + counts["superseded"]
        if settled == 0:  # each pass settles what it loads
            return pushed
