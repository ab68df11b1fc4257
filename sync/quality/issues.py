"""Data-quality issues: each value a mapping or the lifecycle refused, kept with its record.

A transform that drops a value (``sync.mappings.registry.refuse``), a blank ``modified_at`` and
a stage the lifecycle does not have (``Workspace.screened``) become ``Refusal``s on the patch;
``sync.ingest.persist`` writes them here, in the transaction of the record they belong to, as
rows of ``quality_issues``. They are not dead letters: the rest of the record landed.

- **One row per problem.** The row's ``key`` is (source, object, record id, field, reason,
  and the brand when it is not the default one): the same record read again (a re-sync, a
  replay, a duplicate webhook) refreshes ``last_seen_at`` and counts nothing twice.
- **Brand.** A row carries the brand of its record (``Patch.brand``: the brand owning the
  connection it came through), which the data-quality report narrows by; the same record id
  through another brand's connection is another record.
- **Resolution.** The newest version of a record is its truth: when a record lands again, its
  open issues that this version no longer has are resolved (``resolved_at``), and one it has
  again is reopened. A later valid phone resolves the invalid one.
- **Privacy.** ``value`` is whatever the mapping engine shows of the value (None for personal
  data: phones, e-mails, names, identities).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND
from sync.reconcile.patch import Patch
from sync.store import model
from sync.store.sql import chunks, one_of, upsert

KINDS = ("invalid_phone", "invalid_email", "unmapped_value", "unknown_stage", "no_modified_at", "invalid_value")
Record = tuple[str, str, str, str]  # (source, object, record id, brand)
_BAD = re.compile("[\x00\ud800-\udfff]")  # neither PostgreSQL's text nor UTF-8 holds these: shown as U+FFFD


def _text(value: str | None, limit: int | None = None) -> str | None:
    return None if value is None else _BAD.sub("\ufffd", value[:limit] if limit else value)


def issue_key(source: str, obj: str, record_id: str, brand: str, field: str, reason: str) -> str:
    """The row's identity: one problem of one field of one record (the default brand's keys are those before brands)."""
    extra = () if brand == DEFAULT_BRAND else (brand,)
    return hashlib.sha256("\x1f".join((source, obj, record_id, field, reason, *extra)).encode()).hexdigest()


def _mapping(patch: Patch) -> str:
    return str(dict(patch.meta).get("mapping") or f"{patch.source}_{patch.object}")[:120]


def issue_rows(landed: Sequence[tuple[int, Patch]], now: datetime) -> tuple[list[dict[str, Any]], set[Record]]:
    """The rows of the patches that landed (contact id, patch), and the records they cover.

    A record that landed twice in a batch counts as its last version: refusals only an earlier
    version had are written already resolved.
    """
    last = {(p.source, p.object, p.record_id, p.brand): n for n, (_, p) in enumerate(landed)}
    rows: dict[str, dict[str, Any]] = {}
    for n, (contact_id, patch) in enumerate(landed):
        record = (patch.source, patch.object, patch.record_id, patch.brand)
        for refusal in patch.refusals:
            key = issue_key(*record, refusal.field, refusal.reason)
            rows[key] = {"key": key, "source": patch.source[:32], "object": patch.object[:64],
                         "mapping": _mapping(patch), "record_id": patch.record_id[:255], "contact_id": contact_id,
                         "field": refusal.field[:120], "kind": refusal.kind[:32], "reason": _text(refusal.reason),
                         "value": _text(refusal.value, 255), "created_at": now, "last_seen_at": now,
                         "resolved_at": None if last[record] == n else now, "brand": patch.brand[:32]}
    return list(rows.values()), set(last)


def write_issues(session: Session, rows: list[dict[str, Any]], records: set[Record], now: datetime) -> None:
    """Write a batch's issues; resolve the open ones of its records that their newest version no longer has."""
    current = {row["key"] for row in rows}
    q = model.QualityIssue
    gone: list[int] = []
    for part in chunks(sorted({r[2][:255] for r in records}), 5000):
        for issue_id, key, source, obj, record_id, brand in session.execute(
                select(q.id, q.key, q.source, q.object, q.record_id, q.brand).where(
                    q.resolved_at.is_(None), one_of(session, q.record_id, part))):
            if (source, obj, record_id, brand) in records and key not in current:
                gone.append(issue_id)
    if gone:
        session.execute(update(q.__table__).where(q.__table__.c.id == bindparam("b_id")).values(resolved_at=now),
                        [{"b_id": i} for i in gone])
    upsert(session, q, rows, ["key"], ["contact_id", "mapping", "kind", "value", "last_seen_at", "resolved_at"])
