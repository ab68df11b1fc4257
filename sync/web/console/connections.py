"""Connections: every connection's health, and an operator's "test connection" and "sync now".

The page shows ``sync.connectors.health.connections`` (what ``GET /api/connections`` answers); the
buttons call ``sync.connectors.operations`` as ``POST /api/connections/<kind>/<name>/check|sync`` do
(audit-logged, a sync queued once per connection through the wired job system). A button posts a
plain form; with htmx its answer replaces only that connection's result (an ``aria-live`` region).
Vendor messages are data: shown as they came.
"""

from __future__ import annotations

import re
from typing import Any

from flask import render_template, request
from werkzeug.exceptions import HTTPException

from sync.connectors import health, operations
from sync.errors import Conflict, RequestError
from sync.web.api.context import config, jobs, principal, settings, store
from sync.web.console.blueprint import bp, page
from sync.web.console.errors import N_

CATEGORIES = (
    (health.CRM, N_("CRMs")),
    (health.CHANNEL, N_("Webhook channels")),
    (health.MESSAGING, N_("Messaging")),
    (health.DESTINATION, N_("Ad destinations")),
)
STATES = {
    "unconfigured": N_("Not configured"),
    "running": N_("Running"),
    "failing": N_("Failing"),
    "ok": N_("Healthy"),
    "idle": N_("No activity yet"),
}
CHECKS = {"ok": N_("Connection works"), "failed": N_("Connection failed"), "skipped": N_("Nothing to test")}


def slug(kind: str, name: str) -> str:
    """An HTML id part for connection ``kind/name``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{kind}-{name}")


def _syncable(found: dict[str, Any]) -> bool:
    """Whether "sync now" can queue anything for it (the rule ``request_sync`` applies)."""
    if not found["configured"]:
        return False
    try:
        operations.sync_task(found["kind"], found["name"], found["category"])
    except Conflict:
        return False
    return True


def _shown(found: dict[str, Any]) -> dict[str, Any]:
    return {**found, "slug": slug(found["kind"], found["name"]), "state": health.state(found),
            "syncable": _syncable(found)}


def _page(outcome: dict[str, Any] | None = None, status: int = 200) -> Any:
    listed = [_shown(found) for found in health.connections(store(), settings(), config())]
    groups = [(label, [c for c in listed if c["category"] == category]) for category, label in CATEGORIES]
    if outcome is not None:  # shown at its connection's card, or on top for one without a card
        outcome["placed"] = any(c["configured"] and c["slug"] == outcome["slug"] for c in listed)
    return render_template("console/connections.html", groups=groups, states=STATES, checks=CHECKS,
                           outcome=outcome), status


def _answer(kind: str, name: str, outcome: dict[str, Any], status: int) -> Any:
    """The outcome in place: only the result (htmx), else the whole page with it at its connection."""
    outcome = {**outcome, "slug": slug(kind, name), "connection": f"{kind}/{name}"}
    if request.headers.get("HX-Request"):
        return render_template("console/connections_result.html", outcome=outcome, checks=CHECKS), status
    return _page(outcome, status)


def _refused(kind: str, name: str, action: str, status: int, message: str) -> Any:
    return _answer(kind, name, {"action": action, "error": message}, status)


@bp.route("/connections")
@page("viewer")
def connections() -> Any:
    """Every connection, configured or not, with its health."""
    return _page()


@bp.route("/connections/<kind>/<name>/sync", methods=["POST"])
@page("operator")
def connections_sync(kind: str, name: str) -> Any:
    """Queue the connection's sync now (once: asking again while it is pending queues nothing more)."""
    try:
        queue = jobs()
        queued = operations.request_sync(store(), settings(), config(), principal(), kind, name, queue.enqueue)
    except HTTPException as exc:  # no job queue wired in: 503
        return _refused(kind, name, "sync", exc.code or 503, exc.description or "")
    except RequestError as exc:  # unknown (404), not configured or nothing to sync (409)
        return _refused(kind, name, "sync", exc.status, exc.message)
    return _answer(kind, name, {"action": "sync", "sync": queued}, 200)


@bp.route("/connections/<kind>/<name>/check", methods=["POST"])
@page("operator")
def connections_check(kind: str, name: str) -> Any:
    """Make the connection's cheap authenticated call and show what the vendor said."""
    try:
        result = operations.check(store(), settings(), config(), principal(), kind, name)
    except RequestError as exc:
        return _refused(kind, name, "check", exc.status, exc.message)
    return _answer(kind, name, {"action": "check", "check": result}, 200)

