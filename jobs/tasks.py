"""Job functions: thin wrappers over ``sync`` that rq imports by name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sync.config.active import ActiveConfig
from sync.ingest import automation, inbox
from sync.ingest.pipeline import IngestResult
from sync.outbox.effects import Effects
from sync.outbox.targets import enabled_targets, stage_sender
from sync.settings import Settings
from sync.store.engine import Store, open_store

_stores: dict[str, Store] = {}
_configs: dict[tuple[str, Path | None], ActiveConfig] = {}


def _store(url: str) -> Store:
    if url not in _stores:
        _stores[url] = open_store(url)
    return _stores[url]


def _config(settings: Settings) -> Any:
    """The active configuration (``sync.config.active``): a new revision is used by the next job, no restart."""
    key = (settings.database_url, settings.config_dir)
    if key not in _configs:
        _configs[key] = ActiveConfig(_store(settings.database_url), settings.config_dir)
    return _configs[key].get()


def reset() -> None:
    """Close this process's database engines and forget cached configuration."""
    for store in _stores.values():
        store.dispose()
    _stores.clear()
    _configs.clear()


def context() -> tuple[Settings, Store, Any]:
    """Settings, store and the active configuration of this worker process (store opened once)."""
    settings = Settings.from_env()
    return settings, _store(settings.database_url), _config(settings)


def store(settings: Settings | None = None) -> Store:
    """The database of this worker process, or of ``settings`` (no configuration loaded)."""
    return _store((settings or Settings.from_env()).database_url)


def _locked(settings: Settings, obj: str, work: Any) -> dict[str, Any]:
    from jobs.connection import redis_connection
    from jobs.locks import host_scope, run_locked

    return run_locked(redis_connection(settings), "lifesync", obj, work, scope=host_scope(settings))


def drain_inbox() -> dict[str, int]:
    """Process the inbox's ``received`` events, a batch at a time, on the drain's turn (``jobs.handover``).

    Events a crash left unprocessed stay ``received``, where the next drain (or the sweeper's)
    finds them: nothing acknowledged is lost. An event whose processing raises is quarantined
    as a dead letter rather than holding back the events behind it.
    """
    from jobs.connection import redis_connection
    from jobs.handover import drain

    settings, store, _ = context()
    total = IngestResult()
    made: list[Any] = [None, None]  # the config the effects were made of, the effects

    def process(ids: list[int]) -> None:
        config = _config(settings)  # per batch: a drain can run for long, an edit applies within seconds
        if made[0] is not config:
            made[:] = [config, Effects.of(settings, config)]
        total.add(inbox.process_isolating(store, config, ids, made[1]))

    drain(redis_connection(settings), lambda: inbox.received(store, settings.batch_size), process)
    return total.as_dict()


def sweep_inbox(older_than_seconds: float | None = None) -> int:
    """Queue a drain when events wait longer than they should (a nudge or job was lost); how many wait.

    "Longer than they should" is one drain lease (``jobs.lease.TTL``) by default: an event is
    nudged within ``handover.SETTLE`` of being stored, and a drain that held the lease when it
    arrived either takes it or dies, its lease then lapsing within that time. A drain that is
    running (its lease is live: renewed) keeps going until the inbox is empty, or hands the
    rest to a successor: it gets no extra drain queued behind it.
    """
    from jobs.connection import redis_connection
    from jobs.handover import DRAIN_LOCK, nudge
    from jobs.lease import TTL

    settings, store, _ = context()
    ids = inbox.pending(store, timedelta(seconds=TTL if older_than_seconds is None else older_than_seconds))
    connection = redis_connection(settings)
    if ids and not connection.exists(DRAIN_LOCK):
        nudge(connection, force=True)
    return len(ids)


def stale_leads() -> dict[str, Any]:
    """Move leads idle past their stage's limit to the configured lost stage (one run at a time)."""
    settings, store_, config = context()
    effects = Effects.of(settings, config)
    return _locked(settings, "stale_leads",
                   lambda: automation.apply_stale_leads(store_, config.lifecycle, batch_size=settings.batch_size,
                                                        effects=effects).as_dict())


def first_response() -> dict[str, Any]:
    """Bring first-response times per conversation up to date (one run at a time)."""
    settings, store_, _ = context()
    return _locked(settings, "first_response",
                   lambda: automation.compute_first_responses(store_, batch_size=settings.batch_size))


def dispatch_pushes(destination: str = "respondio") -> dict[str, Any]:
    """Send due stage write-backs to ``destination`` (one run at a time), then to the connections brands.yaml
    gives to brands (``respondio/lumen``: each its own run and lock, under the destination's name).
    """
    from sync.outbox.stage_dispatch import dispatch
    from sync.outbox.targets import enabled_targets as enabled

    settings, store_, config = context()
    brands = [t.destination for t in Effects.of(settings, config).brand_push if t.system == destination]

    def run(name: str) -> dict[str, Any]:
        send = stage_sender(name, settings, config)
        return _locked(settings, f"dispatch_{name}", lambda: dispatch(store_, name, send))

    if destination not in enabled(settings):
        out: dict[str, Any] = {"skipped": True, "reason": f"{destination} write-back is not configured"}
    else:
        out = run(destination)
    return {**out, **{name: run(name) for name in brands}} if brands else out


def _sync_crm(system: str, only: str | None = None) -> dict[str, Any]:
    from jobs.connection import redis_connection
    from sync.crm.run import configured_connections, lock_name, sync_connection

    settings, store_, config = context()
    connections = [c for c in configured_connections(settings, system) if only is None or c == only]
    if not connections:
        what = system if only is None else f"{system} connection {only!r}"
        return {"skipped": True, "reason": f"{what} has no credentials configured"}
    redis = redis_connection(settings)
    return {conn: _locked(settings, lock_name(system, conn), lambda conn=conn: sync_connection(
        system, conn, settings=settings, store=store_, config=config, redis=redis)) for conn in connections}


def sync_crm_connection(system: str, connection: str = "default") -> dict[str, Any]:
    """Pull one CRM connection incrementally (write-back too for ``default``): a sync the ops API queued."""
    return _sync_crm(system, connection)


def sync_hubspot() -> dict[str, Any]:
    """Pull every HubSpot connection incrementally, then write back what HubSpot lacks."""
    return _sync_crm("hubspot")


def sync_salesforce() -> dict[str, Any]:
    """Pull every Salesforce connection incrementally, then write back what Salesforce lacks."""
    return _sync_crm("salesforce")


def dispatch_crm_pushes() -> dict[str, Any]:
    """Send due write-backs to every configured CRM (changes that arrived by webhook, automation...)."""
    from jobs.connection import redis_connection
    from sync.crm.run import CRM_SYSTEMS, lock_name, open_crm, push_pending

    settings, store_, config = context()
    out: dict[str, Any] = {}
    for system in CRM_SYSTEMS:
        if system in enabled_targets(settings):
            pusher = open_crm(system, settings, store_, config, redis=redis_connection(settings))
            out[system] = _locked(settings, lock_name(system),  # the sync's lock: one pusher per CRM connection
                                  lambda s=system, p=pusher: push_pending(s, store_, config, p))
    for target in Effects.of(settings, config).crm_targets:  # the connections brands.yaml gives to brands
        if target.connection != "default":
            pusher = open_crm(target.system, settings, store_, config, target.connection,
                              redis=redis_connection(settings))
            out[target.destination] = _locked(
                settings, lock_name(target.system, target.connection),
                lambda t=target, p=pusher: push_pending(t.system, store_, config, p, t.connection))
    return out


def dispatch_conversions() -> dict[str, Any]:
    """Send due conversions to every enabled ad-network destination (one run per destination at a time)."""
    from sync.attribution.configure import destination_configs
    from sync.attribution.dispatch import dispatch_all
    from sync.attribution.networks import sender_for

    settings, store_, config = context()
    return {name: _locked(settings, f"dispatch_{name}", lambda d=dest: dispatch_all(store_, d, sender_for(d)).as_dict())
            for name, dest in sorted(destination_configs(settings, config).items())}


def resolve_ad_names() -> dict[str, Any]:
    """Look up the ad, ad set and campaign names of ad ids the ``ad_names`` cache lacks or holds too long."""
    from sync.attribution.adnames.resolve import resolve_ad_names as resolve

    settings, store_, _ = context()
    return _locked(settings, "resolve_ad_names", lambda: resolve(store_, settings).as_dict())


def check_alerts() -> dict[str, Any]:
    """Evaluate alerts.yaml: open and resolve incidents, post each once (one evaluation at a time)."""
    from sync.alerts.incidents import check

    settings, store_, _ = context()
    return _locked(settings, "check_alerts", lambda: check(store_, settings).as_dict())


def scan_duplicates() -> dict[str, Any]:
    """Bring the duplicate review queue up to date (``sync.quality.duplicates.scan``), unaudited: no one asked.

    The scan ``lifesync duplicates scan``, the API and the console's button run on demand; one at a time.
    """
    from sync.quality.duplicates import scan

    settings, store_, _ = context()
    return _locked(settings, "scan_duplicates", lambda: scan(store_))


def purge_personal_data() -> dict[str, Any]:
    """Redact what is past its retention window (``sync.privacy.retention.purge``), unaudited: no one asked.

    ``lifesync privacy purge`` runs the same purge on demand; one at a time.
    """
    from sync.privacy.retention import purge

    settings, store_, _ = context()
    return _locked(settings, "purge_personal_data", lambda: purge(store_, settings))


def segments_incremental() -> dict[str, Any]:
    """Re-evaluate every segment for the contacts changed since the last run (``segment_dirty``), in batches."""
    from sync.segments.membership import drain

    settings, store_, config = context()
    return _locked(settings, "segments", lambda: drain(store_, config.segments))


def segments_full() -> dict[str, Any]:
    """Evaluate every segment over every contact (time in stage, recency and last purchase drift with time)."""
    from sync.segments.membership import evaluate

    settings, store_, config = context()
    return _locked(settings, "segments", lambda: {"segments": [
        {"segment": c.segment, "entered": c.entered, "left": c.left, "size": c.size}
        for c in evaluate(store_, config.segments)]})


def sync_audiences(segment: str | None = None, destination: str | None = None) -> dict[str, Any]:
    """Sync the audience destinations of every segment (or of ``segment``, or one ``destination``): minimal
    diffs in the vendors' batches (``sync.segments.audiences``). One run per segment at a time: a sync the
    ops API asked for one segment is not held back by the scheduled run's other segments.
    """
    from sync.segments.audiences.run import configured_segments, lock_name, select_segments, sync_segments

    settings, store_, config = context()

    def work(one: Any) -> dict[str, Any]:
        results = sync_segments(store_, settings, [one], destination=destination,
                                privacy=getattr(config, "privacy", None))
        return {r.destination: r.as_dict() for r in results}

    return {one.key: _locked(settings, lock_name(one.key), lambda one=one: work(one))
            for one in select_segments(configured_segments(config), segment, destination)}
