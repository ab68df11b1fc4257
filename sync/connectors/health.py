"""Connection health: every connection lifesync knows of, configured or not, and how it has been doing.

``connections`` lists, in a fixed order, the CRM connections (HubSpot, Salesforce), the webhook
channels (WhatsApp, Messenger, Instagram, TikTok, Twilio, generic endpoints), respond.io, and
the conversion destinations of ``conversions.yaml``. A kind with nothing configured is listed
once, as ``default`` with ``configured: false``, so an ops team sees what it could connect.

Health is derived from what the database already records, never kept in a second place:

- ``sync_runs`` (``sync.crm.runs``): a CRM connection's last successful and last failed run (with
  the vendor's message), whether one is running, records read and errors over 24 h, and the last
  run's API calls, rate-limit waits and whether it stopped at its API quota;
- ``raw_events``: the last webhook a receiver's connection stored, events in and dead over 24 h;
- ``deliveries``: what lifesync wrote to a destination (a CRM's write-back, respond.io stages,
  conversions): the last one sent, the last refused with the vendor's reason, counts over 24 h;
- ``sync_cursors``: a CRM connection's cursor per object;
- ``quality_issues`` (``sync.quality.issues``): values of its source's records refused over 24 h (by
  source: connections of one system share them);
- ``schedule.yaml``: the entry that runs the connection's job and, when known, its next run
  (a cron entry's next time; an interval entry's is the last recorded run plus its interval).

``find`` is one connection (``NotFound`` for a kind or name lifesync does not know); the ops
API's sync and check actions use it to refuse unknown targets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from sync.connectors.generic import GenericSettings
from sync.connectors.meta.settings import InstagramSettings, MessengerSettings, WhatsAppSettings
from sync.connectors.respondio.settings import RespondioSettings
from sync.connectors.tiktok import TikTokSettings
from sync.connectors.twilio import TwilioSettings
from sync.errors import ConfigError, LifesyncError, NotFound
from sync.settings import ConnectionSettings, Settings
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.config import Config
    from sync.config.schedule import ScheduledJob

CRM, CHANNEL, MESSAGING, DESTINATION = "crm", "channel", "messaging", "destination"
CRM_KINDS = ("hubspot", "salesforce")
CHANNELS: dict[str, type[ConnectionSettings]] = {
    "whatsapp": WhatsAppSettings, "messenger": MessengerSettings, "instagram": InstagramSettings,
    "tiktok": TikTokSettings, "twilio": TwilioSettings, "generic": GenericSettings,
}
# the schedule.yaml task that runs each kind's work
TASKS = {"hubspot": "sync_hubspot", "salesforce": "sync_salesforce", "respondio": "dispatch_pushes",
         DESTINATION: "dispatch_conversions"}
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Connection:
    """One connection as configured: its kind and name, and where its health is recorded."""

    kind: str  # hubspot, salesforce, whatsapp, …, respondio, or "destination"
    name: str  # the connection (default, salon2) or the destination's name in conversions.yaml
    category: str  # crm, channel, messaging or destination
    configured: bool
    network: str | None = None  # destinations: their ad network
    receiver: str | None = None  # raw_events.source of its webhooks (None: it receives none)
    delivers_to: str | None = None  # deliveries.destination of what lifesync sends it (None: nothing)


def _crm(settings: Settings) -> Iterator[Connection]:
    from sync.crm.run import configured_connections

    for system in CRM_KINDS:
        names = configured_connections(settings, system)
        for name in names or ["default"]:
            yield Connection(system, name, CRM, bool(names), receiver=system,
                             delivers_to=system if name == "default" else None)


def _receiver(kind: str, settings: Settings, name: str) -> str:
    if kind != "generic":
        return kind
    try:
        return GenericSettings.of(settings, name).source_object[0] or "generic"
    except LifesyncError:  # malformed: the app refuses to start, config check names it
        return "generic"


def _channels(settings: Settings) -> Iterator[Connection]:
    for kind, block in CHANNELS.items():
        names = block.configured_connections(settings)
        for name in names or ["default"]:
            yield Connection(kind, name, CHANNEL, bool(names), receiver=_receiver(kind, settings, name))
    names = RespondioSettings.configured_connections(settings)
    for name in names or ["default"]:
        writes = name == "default" and RespondioSettings.is_set(settings, "api_token", name)
        yield Connection("respondio", name, MESSAGING, bool(names), receiver="respondio",
                         delivers_to="respondio" if writes else None)


def _destinations(settings: Settings, config: Config) -> Iterator[Connection]:
    from sync.attribution.configure import destination_configs

    try:
        enabled = destination_configs(settings, config)
    except LifesyncError:  # a destination's settings do not parse: listed, not configured (config check says why)
        enabled = {}
    for dest in config.conversions.destinations:
        yield Connection(DESTINATION, dest.name, DESTINATION, dest.name in enabled, network=dest.network,
                         delivers_to=dest.name)


def configured(settings: Settings, config: Config) -> list[Connection]:
    """Every connection lifesync knows of, in the order the list shows them."""
    return [*_crm(settings), *_channels(settings), *_destinations(settings, config)]


def find(settings: Settings, config: Config, kind: str, name: str) -> Connection:
    """The connection ``kind/name``; NotFound naming what exists."""
    found = configured(settings, config)
    for conn in found:
        if conn.kind == kind and conn.name == name:
            return conn
    known = ", ".join(f"{c.kind}/{c.name}" for c in found)
    raise NotFound(f"no connection {kind}/{name}; lifesync knows {known}")


def _runs(session: Session, conn: Connection, since: datetime) -> dict[str, Any]:
    runs = model.SyncRun
    mine = (runs.system == conn.kind, runs.connection == conn.name)

    def latest(*where: Any) -> model.SyncRun | None:
        return session.scalars(select(runs).where(*mine, *where).order_by(runs.started_at.desc()).limit(1)).first()

    success = latest(runs.status.in_(("ok", "quota")))
    failure = latest(runs.status.in_(("failed", "abandoned")))
    running = latest(runs.status == "running")
    last = latest(runs.status != "running")
    day = session.execute(select(func.coalesce(func.sum(runs.records_in), 0), func.coalesce(func.sum(runs.errors), 0),
                                 func.count().filter(runs.status.in_(("failed", "abandoned"))))
                          .where(*mine, runs.started_at >= since)).one()
    cursors = {obj: cursor for obj, cursor in session.execute(
        select(model.SyncCursor.object, model.SyncCursor.cursor)
        .where(model.SyncCursor.connection == f"{conn.kind}:{conn.name}").order_by(model.SyncCursor.object))}
    return {
        "success": success and (success.finished_at, f"{success.records_in} record(s) read, "
                                                     f"{success.records_out} written back"),
        "failure": failure and (failure.finished_at, failure.error),
        "running_since": running.started_at if running else None,
        "last_started": max((r.started_at for r in (last, running) if r is not None), default=None),
        "records_in": int(day[0]), "errors": int(day[1]) + int(day[2]),
        "rate_limit": None if last is None else {
            "api_calls": last.api_calls, "waits": last.rate_limit_waits,
            "wait_seconds": round(last.rate_limit_seconds, 3), "quota_reached": last.status == "quota"},
        "cursor": cursors,
    }


def _webhooks(session: Session, source: str, connection: str, since: datetime) -> dict[str, Any]:
    raw = model.RawEvent
    mine = (raw.source == source, raw.connection == connection)
    last = session.scalar(select(raw.received_at).where(*mine).order_by(raw.received_at.desc()).limit(1))
    received, dead = session.execute(select(func.count(), func.count().filter(raw.status == "dead"))
                                     .where(*mine, raw.received_at >= since)).one()
    return {"last_webhook_at": last, "records_in": int(received), "errors": int(dead)}


def _deliveries(session: Session, destination: str, since: datetime) -> dict[str, Any]:
    d = model.Delivery
    mine = d.destination == destination
    sent = session.execute(select(d.updated_at).where(mine, d.status == "sent")
                           .order_by(d.updated_at.desc()).limit(1)).first()
    failed = session.execute(select(d.updated_at, d.last_error).where(mine, d.status.in_(("failed", "dead")))
                             .order_by(d.updated_at.desc()).limit(1)).first()
    out, errors = session.execute(select(func.count().filter(d.status == "sent"),
                                         func.count().filter(d.status.in_(("failed", "dead"))))
                                  .where(mine, d.updated_at >= since)).one()
    return {"success": sent and (sent[0], "delivered"), "failure": failed and (failed[0], failed[1]),
            "records_out": int(out), "errors": int(errors)}


def _later(*moments: tuple[datetime, Any] | None) -> dict[str, Any] | None:
    found = [m for m in moments if m]
    if not found:
        return None
    at, text = max(found, key=lambda m: m[0])
    return {"at": at, "message": text}


def next_run(entries: tuple[ScheduledJob, ...], task: str | None, last_started: datetime | None,
             now: datetime) -> dict[str, Any] | None:
    """The enabled schedule entry running ``task``, and its next run when known (``next_run_at``)."""
    from sync.config.schedule import next_run_at

    entry = next((e for e in entries if e.task == task and e.enabled), None)
    if entry is None:
        return None
    return {"schedule": entry.name, "every": entry.every, "cron": entry.cron,
            "at": next_run_at(entry, now, last_started)}


def health(session: Session, conn: Connection, entries: tuple[ScheduledJob, ...], now: datetime) -> dict[str, Any]:
    """One connection's health (see the module docstring)."""
    since = now - DAY
    runs = _runs(session, conn, since) if conn.category == CRM else {}
    hooks = _webhooks(session, conn.receiver, conn.name, since) if conn.receiver else {}
    sent = _deliveries(session, conn.delivers_to, since) if conn.delivers_to else {}
    q = model.QualityIssue
    refused = session.scalar(select(func.count()).where(q.source == conn.receiver, q.created_at >= since)) \
        if conn.receiver else 0
    return {
        "kind": conn.kind, "name": conn.name, "category": conn.category, "network": conn.network,
        "configured": conn.configured,
        "last_success": _later(runs.get("success"), sent.get("success")),
        "last_failure": _later(runs.get("failure"), sent.get("failure")),
        "running_since": runs.get("running_since"),
        "cursor": runs.get("cursor") if conn.category == CRM else None,
        "last_24h": {"records_in": runs.get("records_in", 0) + hooks.get("records_in", 0),
                     "records_out": sent.get("records_out", 0),
                     "errors": runs.get("errors", 0) + hooks.get("errors", 0) + sent.get("errors", 0),
                     "refused_values": int(refused or 0)},
        "rate_limit": runs.get("rate_limit"),
        "next_run": next_run(entries, TASKS.get(conn.kind), runs.get("last_started"), now) if conn.configured else None,
        "last_webhook_at": hooks.get("last_webhook_at"),
    }


STATES = ("unconfigured", "running", "failing", "ok", "idle")


def state(found: dict[str, Any]) -> str:
    """A connection's health in a word, from its :func:`health`; one rule for every page that shows it.

    ``unconfigured``; ``running`` (a sync is under way, whatever came before); ``failing`` (its last
    failure is not older than its last success); ``ok`` (a success, and for a channel a webhook
    received counts as one); ``idle`` (configured, nothing recorded yet).
    """
    if not found["configured"]:
        return "unconfigured"
    if found["running_since"] is not None:
        return "running"
    success = max((at for at in ((found["last_success"] or {}).get("at"), found.get("last_webhook_at")) if at),
                  default=None)
    failure = found["last_failure"]
    if failure is not None and (success is None or failure["at"] >= success):
        return "failing"
    return "ok" if success is not None else "idle"


def _schedule(settings: Settings) -> tuple[ScheduledJob, ...]:
    from sync.config.schedule import load_schedule

    try:
        return load_schedule(settings.config_dir)
    except ConfigError:  # config check reports it; the list still shows every connection
        return ()


def connections(store: Store, settings: Settings, config: Config, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every connection with its health, in ``configured`` order."""
    now = now or model.utcnow()
    entries = _schedule(settings)
    with store.transaction() as session:
        return [health(session, conn, entries, now) for conn in configured(settings, config)]


def connection(store: Store, settings: Settings, config: Config, kind: str, name: str,
               now: datetime | None = None) -> dict[str, Any]:
    """One connection's health; NotFound for one lifesync does not know."""
    conn = find(settings, config, kind, name)
    with store.transaction() as session:
        return health(session, conn, _schedule(settings), now or model.utcnow())

