"""Dialect-aware bulk statements: insert-or-ignore and upsert for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session, table: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"lifesync supports SQLite and PostgreSQL, not {name}")


def insert_ignore(session: Session, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert rows, skipping any that collide on the unique ``keys``."""
    if rows:
        session.execute(_insert(session, table).on_conflict_do_nothing(index_elements=list(keys)), list(rows))


def upsert(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str], update: Sequence[str]
) -> None:
    """Insert rows; on a collision on ``keys`` overwrite the ``update`` columns."""
    if not rows:
        return
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    session.execute(stmt, list(rows))


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items (keeps IN lists under driver limits)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def allocate_ids(session: Session, table: str, count: int) -> list[int]:
    """Reserve ``count`` primary keys of ``table`` in one query, so rows insert in one executemany.

    PostgreSQL draws them from the column's sequence. SQLite continues after the current
    maximum: safe because lifesync's SQLite transactions begin IMMEDIATE (the writer lock is
    held from the start, see ``sync.store``).
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608
                                    "FROM generate_series(1, :n)"), {"n": count})
        return sorted(r[0] for r in rows)
    start = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()  # noqa: S608
    return list(range(start + 1, start + 1 + count))
