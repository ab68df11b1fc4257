"""Counting dead letters by group without reading them: the trigger-kept ``dead_letter_counts``.

Counting a million letters takes PostgreSQL ~0.4 s; summing the counts table takes a
millisecond. Triggers (migrations 0008, 0013) append +1 / -1 rows as letters are written,
replayed, dismissed, re-reasoned or deleted, whoever writes them, to two tables: the counts per
group (:func:`counted`) and per group and UTC day of ``created_at`` (:func:`counted_since`:
the letters since a moment are the days after it summed, plus its own day's letters counted
from the index). :func:`compact` folds each changed key's rows into one (in one statement on
PostgreSQL, so a row committed meanwhile is never lost), and runs when a read finds more than
:data:`COMPACT_AFTER` appended rows in either table.

First and last seen and the sample come from the letters themselves, two index probes and one
a group (index ``ix_dead_letters_group``), only for the groups on the page (:func:`seen`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, text, union_all

from sync.store import model
from sync.store.engine import Store
from sync.utc import utc

COMPACT_AFTER = 5000
KEY = ("status", "stage", "source", "reason_class")
TABLES = ((model.DeadLetterCount, KEY), (model.DeadLetterDayCount, (*KEY, "day")))


def _fold(table: str, key: Sequence[str]) -> str:
    """PostgreSQL: every row of each key with a pending row, replaced by their sum (deletes exactly what it sums)."""
    listed = ", ".join(key)
    return (f"WITH changed AS (SELECT DISTINCT {listed} FROM {table} WHERE pending), "  # noqa: S608 - our names
            f"moved AS (DELETE FROM {table} t USING changed c WHERE "
            f"{' AND '.join(f't.{k} = c.{k}' for k in key)} RETURNING {', '.join(f't.{k}' for k in key)}, t.n) "
            f"INSERT INTO {table} ({listed}, n, pending) SELECT {listed}, sum(n), false FROM moved "
            f"GROUP BY {listed} HAVING sum(n) <> 0")


def counted(status: str | None, stage: str | None, source: str | None) -> Any:
    """A subquery of (stage, source, reason_class, n) of the groups with letters of ``status`` (None: any)."""
    c = model.DeadLetterCount
    return (select(c.stage, c.source, c.reason_class, func.sum(c.n).label("n"))
            .where(*_matching(c, status, stage, source)).group_by(c.stage, c.source, c.reason_class)
            .having(func.sum(c.n) > 0).subquery())


def counted_since(status: str | None, stage: str | None, source: str | None, since: datetime) -> Any:
    """:func:`counted` of the letters created at or after ``since``.

    Whole UTC days are summed from ``dead_letter_day_counts``. Within the day of ``since`` the
    smaller part is counted from the letters (an index-only range of ``ix_dead_letters_group`` for
    each key that day's counts name): from ``since`` to the next midnight, added to the later days;
    or, when ``since`` is in the first half of its day, from midnight to ``since``, taken off the
    day's count. None when ``since`` is a midnight.
    """
    c, d = model.DeadLetterDayCount, model.DeadLetter
    since = utc(since)
    day = since.date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    before = since - midnight <= timedelta(hours=12)  # count [midnight, since) and take it off the day
    matching = _matching(c, status, stage, source)
    parts: list[Any] = [select(c.stage, c.source, c.reason_class, c.n).where(
        *matching, c.day >= day if before else c.day > day)]
    if since > midnight:
        lower, upper = (midnight, since) if before else (since, midnight + timedelta(days=1))
        keys = (select(c.status, c.stage, c.source, c.reason_class).where(*matching, c.day == day)
                .group_by(c.status, c.stage, c.source, c.reason_class).having(func.sum(c.n) > 0).subquery())
        letters = (select(func.count()).where(
            d.status == keys.c.status, d.stage == keys.c.stage, d.source == keys.c.source,
            d.reason_class == keys.c.reason_class, d.created_at >= lower, d.created_at < upper).scalar_subquery())
        parts.append(select(keys.c.stage, keys.c.source, keys.c.reason_class,
                            (-letters if before else letters).label("n")))
    both = union_all(*parts).subquery()
    return (select(both.c.stage, both.c.source, both.c.reason_class, func.sum(both.c.n).label("n"))
            .group_by(both.c.stage, both.c.source, both.c.reason_class).having(func.sum(both.c.n) > 0).subquery())


def _matching(c: Any, status: str | None, stage: str | None, source: str | None) -> list[Any]:
    return [col == value for col, value in ((c.status, status), (c.stage, stage), (c.source, source))
            if value is not None]


def count(session: Any, status: str, stage: str, source: str, reason_class: str) -> int:
    """How many letters of ``status`` one group holds."""
    c = model.DeadLetterCount
    return int(session.scalar(select(func.coalesce(func.sum(c.n), 0)).where(
        c.status == status, c.stage == stage, c.source == source, c.reason_class == reason_class)) or 0)


def compact(store: Store, threshold: int = COMPACT_AFTER, tables: Sequence[tuple[Any, Sequence[str]]] = TABLES) -> bool:
    """Fold each counts table (of ``tables``: table, key columns) whose pending (appended) rows are more
    than ``threshold``; whether it did. Any trigger-kept table of ``n`` and ``pending`` rows: the delivery
    report's too (``sync.reports.delivery_counts``).
    """
    with store.sessions() as session:  # one statement: each table's pending rows (their partial index)
        pending = session.execute(select(*(select(func.count()).select_from(table).where(table.pending)
                                           .scalar_subquery() for table, _ in tables))).one()
    due = [spec for spec, n in zip(tables, pending, strict=True) if n > threshold]
    for table, key in due:
        with store.transaction() as session:
            if store.dialect == "postgresql":  # deletes exactly the rows it sums, whatever commits meanwhile
                session.execute(text(_fold(table.__tablename__, key)))
            else:  # SQLite has one writer at a time: this transaction sees every row it deletes
                columns = [getattr(table, k) for k in key]
                sums = session.execute(select(*columns, func.sum(table.n)).group_by(*columns)).all()
                session.execute(table.__table__.delete())
                rows = [{**dict(zip(key, r[:-1], strict=True)), "n": r[-1], "pending": False} for r in sums if r[-1]]
                if rows:
                    session.execute(table.__table__.insert(), rows)
    return bool(due)


def seen(page: Any, statuses: Sequence[str], since: datetime | None, *also: Any) -> tuple[list[Any], Any]:
    """Columns giving each group of ``page`` (a subquery of stage, source, reason_class) its letters' first and
    last seen and newest letter's id among ``statuses`` (since ``since``; of the letters ``also`` holds for),
    and a function of a result row to that (first seen, last seen, id), or None when the group has no such
    letters any more.

    Correlated subqueries: PostgreSQL runs them after the page's sort and limit (they cost more than
    the sort), a group at a time, as index probes of ``ix_dead_letters_group``. One cacheable statement.
    """
    d = model.DeadLetter
    columns: list[Any] = []
    for i, status in enumerate(statuses):
        where = and_(d.status == status, d.stage == page.c.stage, d.source == page.c.source,
                     d.reason_class == page.c.reason_class, *([d.created_at >= since] if since is not None else []),
                     *also)
        columns += [select(func.min(d.created_at)).where(where).scalar_subquery().label(f"first{i}"),
                    select(func.max(d.created_at)).where(where).scalar_subquery().label(f"last{i}"),
                    select(d.id).where(where).order_by(d.created_at.desc(), d.id.desc()).limit(1)
                    .scalar_subquery().label(f"sample{i}")]

    def found(row: Any) -> tuple[Any, Any, int] | None:
        got = row._mapping
        present = [(got[f"first{i}"], got[f"last{i}"], got[f"sample{i}"]) for i in range(len(statuses))
                   if got[f"sample{i}"] is not None]
        if not present:
            return None
        newest = max(present, key=lambda p: (p[1], p[2]))
        return min(p[0] for p in present), newest[1], newest[2]

    return columns, found
