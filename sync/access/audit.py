"""The audit log: every change made through an ops surface, with who, what, before → after and when.

A service function that changes something calls :func:`record` with the same session it changes
things in, so a change and its audit entry commit (or roll back) together. ``before`` and
``after`` are small JSON summaries chosen by the caller and never hold a secret (a new token is
audited by name, role and prefix, not its value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.access.roles import Principal
from sync.store.engine import Store
from sync.store.model import AuditEntry, utcnow

SUMMARY_VALUE_CHARS = 80


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= SUMMARY_VALUE_CHARS else text[: SUMMARY_VALUE_CHARS - 1] + "…"


def summarise(action: str, target: str, before: Any, after: Any) -> str:
    """One line: the action, its target, and each top-level key that changed as ``key: old → new``."""
    head = f"{action} {target}"
    if isinstance(before, dict) and isinstance(after, dict):
        changed = [f"{key}: {_short(before.get(key))} → {_short(after.get(key))}"
                   for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
        return f"{head} ({'; '.join(changed)})" if changed else head
    if before is None and after is not None:
        return f"{head} (created)"
    if after is None and before is not None:
        return f"{head} (removed)"
    return head


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON (times as ISO 8601 text), so any summary a caller builds can be stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))


def record(session: Session, actor: Principal, action: str, target_type: str, target_id: Any = None, *,
           before: Any = None, after: Any = None, summary: str | None = None) -> AuditEntry:
    """Add one audit entry to ``session`` (committed with the change it describes)."""
    target = f"{target_type} {target_id}" if target_id is not None else target_type
    entry = AuditEntry(at=utcnow(), actor=actor.name[:120], role=actor.role, via=actor.via, action=action,
                       target_type=target_type, target_id=None if target_id is None else str(target_id)[:255],
                       summary=summary or summarise(action, target, before, after), before=_jsonable(before),
                       after=_jsonable(after))
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: each field narrows the list when set; ``before_id`` pages back (keyset)."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


def entries(store: Store, where: AuditFilter, limit: int = 50) -> list[AuditEntry]:
    """The newest entries matching ``where``, newest first, at most ``limit``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    conditions = {"actor": AuditEntry.actor, "action": AuditEntry.action, "target_type": AuditEntry.target_type,
                  "target_id": AuditEntry.target_id}
    for name, column in conditions.items():
        if (value := getattr(where, name)) is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    if where.before_id is not None:
        query = query.where(AuditEntry.id < where.before_id)
    with store.sessions() as session:
        return list(session.scalars(query))
