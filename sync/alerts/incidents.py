"""Incidents: one per (rule, subject) while it fires, notified once when opened and once when resolved.

``evaluate`` reads every enabled rule's signals, opens an incident for each (rule, subject)
newly firing and resolves each open one that stopped firing (a rule switched off or removed
counts as stopped), in one transaction; then it posts what is not yet notified. A post that
fails leaves its flag unset, so the next evaluation tries again — a delivered one is never
repeated. Incidents older than ``NOTIFY_WITHIN`` are not posted late (a webhook URL set today
does not replay last month); they are marked as notified.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from sync.alerts.notify import alert_webhook_url, webhook_notifier
from sync.alerts.signals import SIGNALS
from sync.config.alerts import AlertRule, load_alerts
from sync.errors import LifesyncError
from sync.settings import Settings
from sync.store import model
from sync.store.engine import Store

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
NOTIFY_WITHIN = timedelta(days=1)
INCIDENT_COLUMNS = ("id", "rule", "kind", "subject", "summary", "opened_at", "resolved_at")


@dataclass
class Evaluation:
    """What one evaluation found and did."""

    firing: list[dict[str, str]] = field(default_factory=list)  # rule, kind, subject, summary
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)  # "opened 12", "resolved 12"
    notify_failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"firing": self.firing, "opened": self.opened, "resolved": self.resolved, "notified": self.notified,
                "notify_failed": self.notify_failed}


def message(incident: model.AlertIncident, event: str) -> str:
    """The notification text of ``event`` (opened / resolved): rule, subject, summary; nothing personal."""
    about = f" [{incident.subject}]" if incident.subject else ""
    if event == "opened":
        return f":rotating_light: lifesync alert {incident.rule}{about}: {incident.summary}"
    lasted = (incident.resolved_at - incident.opened_at).total_seconds() if incident.resolved_at else 0
    return f":white_check_mark: lifesync alert {incident.rule}{about} resolved after {lasted:.0f} s"


def evaluate(store: Store, rules: Sequence[AlertRule], *, notify: Notify | None = None,
             now: datetime | None = None) -> Evaluation:
    """Open and resolve incidents for ``rules`` now, then post what is not yet notified (with ``notify``)."""
    now = now or model.utcnow()
    out = Evaluation()
    a = model.AlertIncident
    with store.transaction() as session:
        firing: dict[tuple[str, str], tuple[str, str]] = {}
        for rule in rules:
            if rule.enabled:
                for subject, summary in SIGNALS[rule.kind](session, rule, now).items():
                    firing[(rule.name, subject[:128])] = (rule.kind, summary)
        out.firing = [{"rule": r, "kind": k, "subject": s, "summary": m} for (r, s), (k, m) in sorted(firing.items())]
        open_rows = {(row.rule, row.subject): row for row in session.scalars(
            select(a).where(a.resolved_at.is_(None)).order_by(a.id).limit(10_000))}
        for key, row in open_rows.items():
            if key not in firing:
                row.resolved_at = now
                out.resolved.append(row.id)
            else:
                row.summary = firing[key][1]  # the latest figures, for a resolve message and the list
        new = [a(rule=rule, subject=subject, kind=kind, summary=summary, opened_at=now, open_notified=False,
                 resolve_notified=False) for (rule, subject), (kind, summary) in sorted(firing.items())
               if (rule, subject) not in open_rows]
        session.add_all(new)
        session.flush()
        out.opened = [row.id for row in new]
    _notify(store, notify, now, out)
    return out


def _notify(store: Store, notify: Notify | None, now: datetime, out: Evaluation) -> None:
    if notify is None:
        return
    a = model.AlertIncident
    with store.transaction() as session:
        due = list(session.scalars(select(a).where(or_(
            a.open_notified.is_(False), and_(a.resolved_at.is_not(None), a.resolve_notified.is_(False))))
            .order_by(a.id).limit(100)))
    for incident in due:
        for event in ("opened", "resolved"):
            flag = "open_notified" if event == "opened" else "resolve_notified"
            if getattr(incident, flag) or (event == "resolved" and incident.resolved_at is None):
                continue
            at = incident.opened_at if event == "opened" else incident.resolved_at
            if now - at <= NOTIFY_WITHIN:
                try:
                    notify(message(incident, event))
                except LifesyncError as exc:  # the next evaluation tries again
                    log.warning("alert %s: the notification webhook refused the %s message (%s)", incident.rule,
                                event, type(exc).__name__)
                    out.notify_failed.append(f"{event} {incident.id}")
                    break
                out.notified.append(f"{event} {incident.id}")
            with store.transaction() as session:
                session.execute(a.__table__.update().where(a.id == incident.id).values({flag: True}))


def list_incidents(store: Store, *, open_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Incidents, newest first: id, rule, kind, subject, summary, opened and resolved times."""
    a = model.AlertIncident
    query = select(*(getattr(a, c) for c in INCIDENT_COLUMNS)).order_by(a.opened_at.desc(), a.id.desc())
    if open_only:
        query = query.where(a.resolved_at.is_(None))
    with store.transaction() as session:
        return [dict(r._mapping) for r in session.execute(query.limit(limit))]


def check(store: Store, settings: Settings, now: datetime | None = None) -> Evaluation:
    """Evaluate the effective alerts.yaml now, posting to ``LIFESYNC_ALERT_WEBHOOK_URL`` when it is set."""
    url = alert_webhook_url(settings)
    return evaluate(store, load_alerts(settings.config_dir), notify=webhook_notifier(url) if url else None, now=now)
