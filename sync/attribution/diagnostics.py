"""Asynchronous diagnostics: what a network said later about requests it had accepted.

Some networks accept a request first and process it afterwards (Google's Data Manager API:
``events:ingest`` answers with a ``requestId``; ``requestStatus:retrieve`` tells, per
destination, whether processing succeeded and how many records failed for which reason). The
dispatcher stores the request id in each event's delivery response; ``collect`` is a later pass
over the recent deliveries of one destination that asks the network (``Network.diagnose``) about
every request id not yet settled, once per request, and records the answer in each of its
deliveries' response JSON under ``diagnostics``:

    {"status": "PARTIAL_SUCCESS", "errors": {"PROCESSING_ERROR_REASON_EVENT_TOO_OLD": 3},
     "warnings": {}, "checked_at": "2026-12-06T12:00:00+00:00"}

The status is the request's for the event's conversion action (the delivery's
``product_destination_id``): Google counts failures per destination and reason, never per event,
so a delivery of a PARTIAL_SUCCESS request may be one of those that went through. ``PROCESSING``
(or a status that could not be read) is asked again on the next pass; the others are settled.
``lifesync diagnostics`` runs it and prints the summary.

``PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID`` is Google saying it already held the
conversion (an earlier send of the same event id got through — a batch re-sent after a crash):
it stays among the errors as Google reports it, and the summary also counts it as
``delivered_before``. Google names no event, so the deliveries keep their ``sent`` status and
the dispatcher's per-event ``delivered_before`` (``sync.attribution.dispatch``) cannot be set.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from sync.attribution.destination import DestinationConfig
from sync.attribution.networks import network_for
from sync.errors import SyncError
from sync.http.redact import redact
from sync.store import model
from sync.store.engine import Store

SETTLED = frozenset({"SUCCESS", "FAILED", "PARTIAL_SUCCESS"})
HELD_BEFORE = "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"  # Google already had the event: delivered before
DEFAULT_DAYS = 7


@dataclass
class Diagnostics:
    """One pass over a destination: requests asked about, their statuses and error reasons (record counts)."""

    destination: str
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # per (request, conversion action)
    errors: Counter[str] = field(default_factory=Counter)  # reason -> records
    warnings: Counter[str] = field(default_factory=Counter)
    unread: dict[str, str] = field(default_factory=dict)  # request id -> why its status could not be read
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the CLI prints."""
        out: dict[str, Any] = {"destination": self.destination, "requests": self.requests,
                               "statuses": dict(sorted(self.statuses.items())),
                               "errors": dict(sorted(self.errors.items())),
                               "warnings": dict(sorted(self.warnings.items()))}
        if self.errors.get(HELD_BEFORE):
            out["delivered_before"] = self.errors[HELD_BEFORE]
        if self.unread:
            out["unread"] = self.unread
        if self.note:
            out["note"] = self.note
        return out


def _counts(info: Any, key: str) -> dict[str, int]:
    entries = info.get(key) if isinstance(info, dict) else None
    return {str(e.get("reason")): int(e.get("recordCount") or 0) for e in entries or [] if isinstance(e, dict)}


def per_destination(reply: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{product destination id: {status, errors, warnings}} from a RetrieveRequestStatusResponse."""
    found = {}
    for entry in reply.get("requestStatusPerDestination") or []:
        if not isinstance(entry, dict):
            continue
        dest = entry.get("destination") or {}
        key = str(dest.get("productDestinationId") or dest.get("reference") or "")
        found[key] = {"status": str(entry.get("requestStatus") or "REQUEST_STATUS_UNKNOWN"),
                      "errors": _counts(entry.get("errorInfo"), "errorCounts"),
                      "warnings": _counts(entry.get("warningInfo"), "warningCounts")}
    return found


def collect(store: Store, dest: DestinationConfig, session: Any = None, *, now: datetime | None = None,
            days: int = DEFAULT_DAYS) -> Diagnostics:
    """Ask about every unsettled request of ``dest``'s deliveries sent in the last ``days``; record the answers."""
    now = now or model.utcnow()
    report = Diagnostics(dest.name)
    net = network_for(dest)
    if net.diagnose is None:
        report.note = f"{net.vendor} answers synchronously: nothing to diagnose later"
        return report
    d = model.Delivery
    with store.transaction() as db:
        rows = db.execute(select(d.id, d.response).where(d.destination == dest.name, d.status == "sent",
                                                         d.sent_at >= now - timedelta(days=days))).all()
    pending: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for row in rows:
        response = dict(row.response or {})
        settled = (response.get("diagnostics") or {}).get("status") in SETTLED
        if response.get("request_id") and not settled:
            pending[str(response["request_id"])].append((row.id, response))
    updates = []
    for request_id, deliveries in sorted(pending.items()):
        report.requests += 1
        try:
            statuses = per_destination(net.diagnose(dest, request_id, session))
        except SyncError as exc:
            report.unread[request_id] = redact(str(exc))[:300]
            continue
        for said in statuses.values():
            report.statuses[said["status"]] += 1
            report.errors.update(said["errors"])
            report.warnings.update(said["warnings"])
        for delivery_id, response in deliveries:
            said = statuses.get(str(response.get("product_destination_id") or ""))
            if said is None and len(statuses) == 1:
                said = next(iter(statuses.values()))
            if said is not None:
                response["diagnostics"] = {**said, "checked_at": now.isoformat()}
                updates.append({"id": delivery_id, "response": response})
    if updates:
        with store.transaction() as db:
            for item in updates:
                db.execute(update(d).where(d.id == item["id"]).values(response=item["response"]))
    return report
