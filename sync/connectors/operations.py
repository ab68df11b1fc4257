"""What an operator does to a connection: queue its sync, run its check. Both audit-logged.

``request_sync`` queues the job that does a connection's work now rather than at its next
scheduled run: a CRM connection's sync (pull, then write-back for ``default``), respond.io's
stage write-back, or the conversion dispatch of the destinations. The job is queued under one
id per connection (``lifesync-sync-<kind>-<name>``): asking again while it is still pending
queues nothing more. ``check`` is ``sync.connectors.checks.check_connection`` — the call
``lifesync connections check`` makes — with rotated OAuth tokens stored as a sync stores them.

``enqueue(task, kwargs, job_id) -> (job_id, queued)`` is given by whoever knows the job system
(``jobs.web`` for the ops API): the enqueue and the audit entry happen in one transaction, so a
queue that refuses leaves no entry saying it was done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sync.access.audit import record
from sync.connectors.checks import FAILED, CheckResult, check_connection
from sync.connectors.health import CRM, DESTINATION, find
from sync.errors import Conflict, LifesyncError
from sync.http.errors import failure_text
from sync.settings import Settings
from sync.store.credentials import token_store
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.access.roles import Principal
    from sync.config import Config

Enqueue = Callable[[str, dict[str, Any], str], tuple[str, bool]]


def sync_task(kind: str, name: str, category: str) -> tuple[str, dict[str, Any]]:
    """(job function name in ``jobs.tasks``, its keyword arguments) doing connection ``kind/name``'s work now."""
    if category == CRM:
        return "sync_crm_connection", {"system": kind, "connection": name}
    if kind == "respondio" and name == "default":
        return "dispatch_pushes", {"destination": "respondio"}
    if kind == DESTINATION:
        return "dispatch_conversions", {}
    raise Conflict(f"{kind}/{name} has nothing to sync: its vendor calls lifesync (webhooks)"
                   + ("" if kind != "respondio" else "; respond.io write-back runs on its default connection"))


def request_sync(store: Store, settings: Settings, config: Config, actor: Principal, kind: str, name: str,
                 enqueue: Enqueue) -> dict[str, Any]:
    """Queue connection ``kind/name``'s sync (audit-logged); ``{job_id, queued, task}``.

    NotFound for an unknown connection, Conflict for one that is not configured or has nothing to sync.
    """
    conn = find(settings, config, kind, name)
    if not conn.configured:
        raise Conflict(f"{kind}/{name} is not configured: set its credentials first")
    task, kwargs = sync_task(kind, name, conn.category)
    with store.transaction() as session:
        job_id, queued = enqueue(task, kwargs, f"lifesync-sync-{kind}-{name}")
        record(session, actor, "connection.sync", "connection", f"{kind}/{name}",
               after={"job_id": job_id, "task": task, "queued": queued})
    return {"job_id": job_id, "queued": queued, "task": task}


def check(store: Store, settings: Settings, config: Config, actor: Principal, kind: str, name: str) -> dict[str, str]:
    """Run connection ``kind/name``'s check (audit-logged with its outcome); the result as JSON."""
    conn = find(settings, config, kind, name)
    try:  # a CRM's rotated OAuth tokens are kept as a sync keeps them; nothing else needs the token store
        kwargs = {"tokens": token_store(store, settings)} if conn.category == CRM and conn.configured else {}
    except LifesyncError as exc:  # e.g. LIFESYNC_SECRET_KEY unset on PostgreSQL: the check fails, saying so
        result = CheckResult(kind, name, FAILED, failure_text(exc))
    else:
        result = check_connection(settings, config, kind, name, **kwargs)
    with store.transaction() as session:
        record(session, actor, "connection.check", "connection", f"{kind}/{name}", after={"status": result.status})
    return result.as_dict()
