"""Counting dead letters by group without reading them: the trigger-kept ``dead_letter_counts``.

Counting a million letters takes PostgreSQL ~0.4 s; summing the counts table takes a
millisecond. Triggers (migration 0008) append +1 / -1 rows as letters are written, replayed,
dismissed, re-reasoned or deleted, whoever writes them; :func:`compact` folds those rows into
one a key (in one statement on PostgreSQL, so a row committed meanwhile is never lost), and
runs when a read finds more than :data:`COMPACT_AFTER` rows.

First and last seen and the sample come from the letters themselves, two index probes and one
a group (index ``ix_dead_letters_group``), only for the groups on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, column, func, select, text, values

from sync.store import model
from sync.store.engine import Store

COMPACT_AFTER = 5000
KEY = ("status", "stage", "source", "reason_class")
FOLD = ("WITH moved AS (DELETE FROM dead_letter_counts RETURNING status, stage, source, reason_class, n) "
        "INSERT INTO dead_letter_counts (status, stage, source, reason_class, n) "
        "SELECT status, stage, source, reason_class, sum(n) FROM moved "
        "GROUP BY status, stage, source, reason_class HAVING sum(n) <> 0")


def counted(status: str | None, stage: str | None, source: str | None) -> Any:
    """A subquery of (stage, source, reason_class, n) of the groups with letters of ``status`` (None: any)."""
    c = model.DeadLetterCount
    conditions = [column == value for column, value in ((c.status, status), (c.stage, stage), (c.source, source))
                  if value is not None]
    return (select(c.stage, c.source, c.reason_class, func.sum(c.n).label("n")).where(*conditions)
            .group_by(c.stage, c.source, c.reason_class).having(func.sum(c.n) > 0).subquery())


def count(session: Any, status: str, stage: str, source: str, reason_class: str) -> int:
    """How many letters of ``status`` one group holds."""
    c = model.DeadLetterCount
    return int(session.scalar(select(func.coalesce(func.sum(c.n), 0)).where(
        c.status == status, c.stage == stage, c.source == source, c.reason_class == reason_class)) or 0)


def compact(store: Store, threshold: int = COMPACT_AFTER) -> bool:
    """Fold the counts into one row a key when there are more than ``threshold`` rows; whether it did."""
    c = model.DeadLetterCount
    with store.sessions() as session:
        if (session.scalar(select(func.count()).select_from(c)) or 0) <= threshold:
            return False
    with store.transaction() as session:
        if store.dialect == "postgresql":  # deletes exactly the rows it sums, whatever commits meanwhile
            session.execute(text(FOLD))
        else:  # SQLite has one writer at a time: this transaction sees every row it deletes
            sums = session.execute(select(c.status, c.stage, c.source, c.reason_class, func.sum(c.n))
                                   .group_by(c.status, c.stage, c.source, c.reason_class)).all()
            session.execute(c.__table__.delete())
            rows = [dict(zip((*KEY, "n"), r, strict=True)) for r in sums if r[4]]
            if rows:
                session.execute(c.__table__.insert(), rows)
    return True


def seen(session: Any, keys: Sequence[tuple[str, str, str]], statuses: Sequence[str],
         since: datetime | None) -> dict[tuple[str, str, str], tuple[Any, Any, int]]:
    """Per group: (first seen, last seen, the newest letter's id) among letters of ``statuses`` (since ``since``).

    One statement: the page's keys as a VALUES list, each probed by correlated subqueries (planned
    once, run a key at a time: index probes of ``ix_dead_letters_group``).
    """
    if not keys:
        return {}
    d = model.DeadLetter
    page = values(column("k", Integer), column("stage", String), column("source", String),
                  column("reason_class", String), name="page").data([(n, *key) for n, key in enumerate(keys)]).cte()
    columns: list[Any] = [page.c.k]
    for i, status in enumerate(statuses):
        where = and_(d.status == status, d.stage == page.c.stage, d.source == page.c.source,
                     d.reason_class == page.c.reason_class, *([d.created_at >= since] if since is not None else []))
        columns += [select(func.min(d.created_at)).where(where).scalar_subquery().label(f"first{i}"),
                    select(func.max(d.created_at)).where(where).scalar_subquery().label(f"last{i}"),
                    select(d.id).where(where).order_by(d.created_at.desc(), d.id.desc()).limit(1)
                    .scalar_subquery().label(f"sample{i}")]
    found: dict[tuple[str, str, str], tuple[Any, Any, int]] = {}
    for row in session.execute(select(*columns)):
        got = row._mapping
        present = [(got[f"first{i}"], got[f"last{i}"], got[f"sample{i}"]) for i in range(len(statuses))
                   if got[f"sample{i}"] is not None]
        if present:
            newest = max(present, key=lambda p: (p[1], p[2]))
            found[keys[got["k"]]] = (min(p[0] for p in present), newest[1], newest[2])
    return found
