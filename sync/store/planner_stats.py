"""Fresh planner statistics while a bulk load grows its tables (PostgreSQL).

PostgreSQL plans every query from the statistics of its last ANALYZE. autovacuum refreshes
them after a table grew by a tenth, but only on its next round (a minute apart by default),
so during a backfill the planner still believes a table holds the few rows it had when the
load began. For the identity lookup of every batch (``kind = … AND value = ANY(…)``) it
then scans every identity of that kind and filters it, instead of probing the unique index
once per value: a cost that grows with the table, batch after batch.

``note_inserted`` counts the rows this process wrote to a table since its statistics were
last refreshed, and runs ``ANALYZE`` on it once that count reaches what the statistics know
of (at least ``MIN_ROWS``): the table has about doubled, so a load of N rows analyses each
table about log2(N / MIN_ROWS) times. ANALYZE samples a fixed number of rows and runs inside
the caller's transaction; it blocks no reader or writer (autovacuum yields to it), and it
waits at most ``LOCK_WAIT`` for a table a VACUUM or another ANALYZE holds.

Only the columns an index or a key (primary, unique, foreign) covers are analysed
(``indexed_columns``): those are the statistics that decide between probing an index and
scanning, and leaving out the rest — a field's JSON value, a contact's attributes — takes a
third to a half off each ANALYZE.
The planner's row count is refreshed either way; autovacuum's own ANALYZE, when it comes,
covers every column.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sync.store.model import Base

MIN_ROWS = 10_000  # below this growth the old statistics are good enough
LOCK_WAIT = "100ms"  # how long an ANALYZE waits for a table another session holds (then: next time)
LOCK_NOT_AVAILABLE = "55P03"

# (database, table) -> [rows written since the last refresh, rows the statistics know of]
_growth: dict[tuple[str, str], list[float]] = {}


def note_inserted(session: Session, table: str, count: int) -> bool:
    """Count ``count`` rows written to ``table``; ANALYZE it when it has outgrown its statistics. True if it did."""
    bind = session.get_bind()
    if count <= 0 or bind.dialect.name != "postgresql":
        return False
    key = (bind.url.render_as_string(hide_password=True), table)
    state = _growth.get(key)
    if state is None:
        state = _growth[key] = [0, _known_rows(session, table)]
    state[0] += count
    if state[0] < max(MIN_ROWS, state[1]) or not _analyze(session, table):
        return False
    state[0], state[1] = 0, _known_rows(session, table)
    return True


def refresh(session: Session, table: str) -> bool:
    """ANALYZE ``table`` now (PostgreSQL; elsewhere nothing): a caller about to join it at a new size. True if done."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    done = _analyze(session, table)
    if done:
        _growth.pop((session.get_bind().url.render_as_string(hide_password=True), table), None)
    return done


def forget() -> None:
    """Drop what this process counted: after tables were emptied behind its back (a test's TRUNCATE)."""
    _growth.clear()


def _analyze(session: Session, table: str) -> bool:
    """ANALYZE ``table`` unless another session holds a conflicting lock (a VACUUM, another ANALYZE).

    ANALYZE keeps its lock until the transaction ends, and a manual VACUUM of a big table
    can hold one for minutes: rather than stall the ingest behind it, give up after
    ``LOCK_WAIT`` and try again at the next write. The savepoint undoes the failed attempt.
    """
    previous = session.execute(text("SELECT current_setting('lock_timeout')")).scalar()
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": LOCK_WAIT})
            columns = ", ".join(indexed_columns(table))
            session.execute(text(f"ANALYZE {table} ({columns})" if columns else f"ANALYZE {table}"))  # our names
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    finally:
        session.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": previous})
    return True


@cache
def indexed_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table``'s keys (primary, unique, foreign) and indexes, in table order (none if unknown)."""
    found = Base.metadata.tables.get(table)
    if found is None:
        return ()
    keyed = {c.name for c in found.primary_key.columns}
    for index in found.indexes:
        keyed.update(c.name for c in index.columns)
    for constraint in found.constraints:
        keyed.update(c.name for c in getattr(constraint, "columns", ()))
    return tuple(c.name for c in found.columns if c.name in keyed)


def _known_rows(session: Session, table: str) -> float:
    """The planner's row count of ``table`` (0 when it was never analysed)."""
    found = session.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}).scalar()
    return max(float(found or 0), 0.0)
