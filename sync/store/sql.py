"""Dialect-aware bulk writes: insert, insert-or-ignore, upsert and update-by-key.

On PostgreSQL every bulk write is at most three statements per table and batch, whatever the
row count: rows that cannot collide are COPYed straight into their table; the others are
COPYed into a temporary table, then ``INSERT … SELECT … ON CONFLICT …`` (or ``UPDATE … FROM``)
moves them — several times faster than executemany. On SQLite the driver's
executemany is already a tight C loop, so it is used directly. Callers pass ORM entities or
tables; rows are plain dicts keyed by column name.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, DateTime, Table, any_, bindparam, cast, literal, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.store import jsontext
from sync.store.planner_stats import note_inserted
from sync.utc import utc


def _table(entity: Any) -> Table:
    return entity.__table__ if hasattr(entity, "__table__") else entity


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"lifesync supports SQLite and PostgreSQL, not {name}")
    return name


def _with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """Fill Python-side column defaults (COPY does not apply them the way Core does)."""
    missing = [c for c in table.c if c.name not in rows[0] and c.default is not None]
    if not missing:
        return rows
    filled = {c.name: c.default.arg(None) if c.default.is_callable else c.default.arg for c in missing}
    return [{**filled, **r} for r in rows]


_staged = itertools.count()


def _utc_text() -> Callable[[Any], Any]:
    """A converter of datetimes to UTC ISO text for one COPY, each distinct instant formatted once.

    psycopg's datetime dumper costs a few µs a value — most of a row's formatting — while a
    batch repeats the same few instants: its write time on every row, a record's timestamp on
    each of its fields. Naive values are taken to be UTC, as ``model.AwareDateTime`` does.
    Equal aware datetimes are the same instant, so they share a key whatever their offsets.
    """
    seen: dict[datetime, str] = {}

    def text_of(value: Any) -> Any:
        if value is None:
            return None
        found = seen.get(value)
        if found is None:
            if not isinstance(value, datetime):  # a date, say: psycopg's dumper, as before
                return value
            found = seen[value] = utc(value).isoformat()
        return found

    return text_of


def _copy_converters(table: Table, cols: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Per column, how a value becomes COPY text psycopg passes through (None: psycopg's own dumper)."""
    out: list[Callable[[Any], Any] | None] = []
    for name in cols:
        kind = table.c[name].type
        stamp = kind if isinstance(kind, DateTime) else getattr(kind, "impl", None)  # AwareDateTime's impl
        if isinstance(kind, JSON):
            out.append(jsontext.dumps)
        elif isinstance(stamp, DateTime) and stamp.timezone:  # timestamptz: the instant is what counts
            out.append(_utc_text())
        else:
            out.append(None)
    return out


def _pg_copy(session: Session, table: Table, target: str, rows: Sequence[dict[str, Any]],
             defaults: bool = True) -> list[str]:
    """COPY rows into ``target`` (a table with ``table``'s columns); returns the column names.

    ``defaults`` fills the columns the rows leave out with their defaults (inserts); updates
    must not: a column a row leaves out is one it does not change.
    """
    if defaults:
        rows = _with_defaults(table, rows)
    cols = list(rows[0])
    values = itemgetter(*cols) if len(cols) > 1 else lambda row: (row[cols[0]],)  # a row's values, in C
    convert = [(i, f) for i, f in enumerate(_copy_converters(table, cols)) if f is not None]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({', '.join(cols)}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            out = list(values(row))
            for i, f in convert:
                out[i] = f(out[i])
            write(out)
    return cols


def _pg_stage(session: Session, table: Table, rows: Sequence[dict[str, Any]],
              defaults: bool = True) -> tuple[str, list[str]]:
    """COPY rows into a temporary table shaped like ``table`` (dropped at commit); its name and columns."""
    tmp = f"_ls_{table.name}_{next(_staged)}"
    cols = list(_with_defaults(table, rows[:1])[0] if defaults else rows[0])
    session.execute(text(f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS "  # noqa: S608 - names from our models
                         f"SELECT {', '.join(cols)} FROM {table.name} WITH NO DATA"))
    return tmp, _pg_copy(session, table, tmp, rows, defaults)


# Below this many rows a plain INSERT beats COPY through a temporary table (fewer round trips).
COPY_THRESHOLD = 50


def _write(session: Session, entity: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str] | None,
           update_cols: Sequence[str] | None) -> None:
    if not rows:
        return
    table = _table(entity)
    dialect = _dialect(session)
    if dialect == "postgresql" and len(rows) >= COPY_THRESHOLD:
        if keys is None:  # nothing can collide: straight into the table
            _pg_copy(session, table, table.name, rows)
        else:
            tmp, cols = _pg_stage(session, table, rows)
            col_list = ", ".join(cols)
            sql = f"INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM {tmp}"  # noqa: S608
            sql += f" ON CONFLICT ({', '.join(keys)}) "
            sql += ("DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update_cols)) if update_cols \
                else "DO NOTHING"
            session.execute(text(sql))
        note_inserted(session, table.name, len(rows))  # a bulk load keeps the planner's statistics current
        return
    # SQLite, and a few rows on PostgreSQL (a webhook's events): one multi-row INSERT
    stmt: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    if keys is not None:
        stmt = (stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols})
                if update_cols else stmt.on_conflict_do_nothing(index_elements=list(keys)))
    session.execute(stmt, list(rows))


def insert_rows(session: Session, entity: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Plain bulk insert, for rows that cannot collide with existing ones (COPY on PostgreSQL)."""
    _write(session, entity, rows, None, None)


def insert_ignore(session: Session, entity: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert rows, skipping any that collide on the unique ``keys``."""
    _write(session, entity, rows, keys, None)


def upsert(
    session: Session, entity: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str], update: Sequence[str]
) -> None:
    """Insert rows; on a collision on ``keys`` overwrite the ``update`` columns."""
    _write(session, entity, rows, keys, list(update))


def update_by_id(session: Session, entity: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows by their ``id``; every row carries the same columns."""
    if not rows:
        return
    table = _table(entity)
    if _dialect(session) == "postgresql":
        tmp, cols = _pg_stage(session, table, rows, defaults=False)  # only the columns given change
        sets = ", ".join(f"{c} = v.{c}" for c in cols if c != "id")
        session.execute(text(f"UPDATE {table.name} SET {sets} FROM {tmp} AS v "  # noqa: S608
                             f"WHERE {table.name}.id = v.id"))
        return
    values = {c: bindparam(c) for c in rows[0] if c != "id"}
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(values),
                    [{**{c: r[c] for c in values}, "b_id": r["id"]} for r in rows])


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``: one array parameter on PostgreSQL, an expanding IN list on SQLite.

    An array is fast to send and to plan at any size; SQLite callers chunk (see ``chunks``).
    """
    if _dialect(session) == "postgresql":
        return column == any_(cast(literal(list(values)), postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items (keeps IN lists under driver limits)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def allocate_ids(session: Session, table: str, count: int) -> list[int]:
    """Reserve ``count`` primary keys of ``table`` in one query, so rows insert in one statement.

    PostgreSQL draws them from the column's sequence. SQLite continues after the current
    maximum: safe because lifesync's SQLite transactions begin IMMEDIATE (the writer lock is
    held from the start, see ``sync.store.engine``).
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # one row holding an array: a thousand ids parse in C instead of as a thousand result rows. The
        # sequence is looked up once (MATERIALIZED): in the select list it was looked up for every id,
        # five times the query's time.
        sql = (f"WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS seq) "  # noqa: S608
               "SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, :n)")
        return sorted(session.execute(text(sql), {"n": count}).scalar_one())
    start = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()  # noqa: S608
    return list(range(start + 1, start + 1 + count))

