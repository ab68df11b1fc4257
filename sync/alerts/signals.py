"""What each rule kind finds firing now: ``{subject: summary}`` ("" is the whole installation).

Every query is bounded: the inbox lag is one index probe, dead letters are a range scan of
(status, created_at) over the rule's window, ``scheduled_runs`` has one row per schedule
entry. Summaries name rules, schedule entries, destinations and error types only — never a
record, a person or a secret (an error's own message may quote a vendor's text: left out).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from sync.config.alerts import AlertRule
from sync.metrics.database import capped_count, inbox_lag
from sync.store import model

Signal = Callable[[Any, AlertRule, datetime], dict[str, str]]
AUTH_ERROR = "AuthError"
RATE_LIMITED = "RateLimited"


def error_type(reason: str | None) -> str:
    """The error type a dead letter's reason starts with ("AuthError: ..." → "AuthError")."""
    head = (reason or "").split(":", 1)[0].split(" (", 1)[0].strip()
    return head if head.isidentifier() else "an error"


def _runs(session: Any) -> list[model.ScheduledRun]:
    return list(session.scalars(select(model.ScheduledRun).order_by(model.ScheduledRun.name).limit(1000)))


def dead_letters_growing(session: Any, rule: AlertRule, now: datetime) -> dict[str, str]:
    """New open dead letters within the window, at least ``threshold`` of them."""
    d = model.DeadLetter
    by_stage = capped_count(session, d.status == "open", d.created_at >= now - timedelta(seconds=rule.window),
                            group=d.stage)
    total = sum(by_stage.values())
    if total < max(rule.threshold, 1):
        return {}
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(by_stage.items()))
    return {"": f"{total} new open dead letters in the last {rule.window} s ({stages})"}


def inbox_lag_over(session: Any, rule: AlertRule, now: datetime) -> dict[str, str]:
    """The oldest unprocessed webhook event has waited ``threshold`` seconds or more."""
    lag = inbox_lag(session, now)
    if lag < rule.threshold or lag <= 0:
        return {}
    return {"": f"the oldest unprocessed webhook event has waited {lag:.0f} s (threshold {rule.threshold:g} s)"}


def credentials_rejected(session: Any, rule: AlertRule, now: datetime) -> dict[str, str]:
    """A scheduled entry's last run failed with ``AuthError``, or a delivery within the window was refused for it.

    Dispatchers dead-letter an item refused with ``AuthError`` with the error's message: the
    shared error table's ("the credentials were rejected" / "... lack permission ...").
    """
    found = {f"schedule {run.name}": f"{run.task}: the vendor rejected the credentials ({AUTH_ERROR})"
             for run in _runs(session) if run.last_outcome == "failed" and error_type(run.last_reason) == AUTH_ERROR}
    d = model.DeadLetter
    refused = session.execute(select(d.source).where(
        d.status == "open", d.created_at >= now - timedelta(seconds=rule.window), d.stage == "dispatch",
        or_(d.reason.like(f"%{AUTH_ERROR}%"), d.reason.like("%credentials%"))).group_by(d.source).limit(100))
    for (destination,) in refused:
        found[f"destination {destination}"] = "deliveries refused: the network rejected the credentials"
    return found


def quota_spent(session: Any, rule: AlertRule, now: datetime) -> dict[str, str]:
    """A scheduled entry's last run stopped at its API budget, or failed rate-limited."""
    found = {}
    for run in _runs(session):
        if run.last_outcome == "quota":
            found[f"schedule {run.name}"] = f"{run.task}: the last run stopped at its share of the API quota"
        elif run.last_outcome == "failed" and error_type(run.last_reason) == RATE_LIMITED:
            found[f"schedule {run.name}"] = f"{run.task}: the last run failed rate-limited ({RATE_LIMITED})"
    return found


def sync_failing(session: Any, rule: AlertRule, now: datetime) -> dict[str, str]:
    """A schedule entry failed ``threshold`` runs in a row (or more)."""
    return {f"schedule {run.name}": f"{run.task} failed {run.failures_in_row} runs in a row "
                                    f"(last: {error_type(run.last_reason)})"
            for run in _runs(session) if run.failures_in_row >= max(rule.threshold, 1)}


SIGNALS: dict[str, Signal] = {
    "dead_letters_growing": dead_letters_growing,
    "inbox_lag": inbox_lag_over,
    "credentials_rejected": credentials_rejected,
    "quota_spent": quota_spent,
    "sync_failing": sync_failing,
}
