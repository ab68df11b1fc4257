"""The inbox: webhook events persisted before they are acknowledged, then processed.

A receiver verifies a delivery, splits it into events (one per vendor event id, each the
record its mapping consumes) and calls ``store_events`` — a unique key per (source, event
key) makes redelivery a no-op. ``process_events`` later maps and reconciles them through the
same pipeline as pulled records; an event that cannot be processed is dead-lettered with its
reason and marked ``dead``, never lost. ``received`` is a drain job's next batch; ``pending``
finds events that waited too long (a lost nudge or job), for the sweeper.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from sync.config.brands import ONE_BRAND, Brands
from sync.connectors.events import InboundEvent
from sync.ingest.pipeline import IngestResult, ingest_patches, letter_brand, map_records, mapping_for
from sync.outbox.effects import Effects
from sync.store import jsontext, model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of
from sync.store.sqlite_lock import writer_turn

if TYPE_CHECKING:
    from sync.config import Config

log = logging.getLogger(__name__)


def store_events(store: Store, events: Sequence[InboundEvent]) -> list[int]:
    """Persist events in one transaction; the ids of those not stored before.

    Redeliveries get no id: their first delivery is already waiting for (or through) a drain
    job, which takes every ``received`` event (``jobs.handover``).
    """
    if not events:
        return []
    now = model.utcnow()
    if len(events) == 1:  # most webhooks carry one event
        return (_insert_one_pg if store.dialect == "postgresql" else _insert_one_sqlite)(store, events[0], now)
    rows = [{"source": e.source, "object": e.object, "connection": e.connection, "event_key": inbox_key(e.event_key),
             "received_at": now, "headers": dict(e.headers), "status": "received",
             "body": _body(e)} for e in events]
    table = model.RawEvent.__table__
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["source", "event_key"]).returning(table.c.id)
    # the hot path of every webhook: one statement, durable when it returns (Store.single)
    for attempt in (1, 2):
        try:
            with _writer_turn(store), store.single.begin() as conn:
                if len(rows) == 1:
                    new_id = conn.execute(stmt, rows[0]).scalar()
                    return [] if new_id is None else [new_id]
                return sorted(conn.execute(stmt, rows).scalars())
        except DBAPIError as exc:  # a pooled connection the server dropped: once more on a fresh one
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def inbox_key(key: str) -> str:
    """The stored key of an event: itself, or its SHA-256 when longer than the column or holding a NUL.

    A cut would let two long keys with one prefix pass for the same event (the second dropped as
    a redelivery); a NUL is refused by PostgreSQL's text columns.
    """
    if len(key) <= 255 and "\x00" not in key:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _writer_turn(store: Store) -> Any:
    """On SQLite, the turn among inbox writers (``sync.store.sqlite_lock``); elsewhere nothing."""
    return writer_turn(store.engine.url.database) if store.dialect == "sqlite" else nullcontext()


def _body(event: InboundEvent) -> bytes:
    """The stored body: the event's record as compact UTF-8 JSON."""
    return jsontext.dumps_bytes(event.record)


def _one_row(event: InboundEvent) -> tuple[str, str, str, str, str, bytes]:
    """source, object, connection, event key, headers (JSON text) and body of a one-event insert."""
    return (event.source, event.object, event.connection, inbox_key(event.event_key),
            jsontext.dumps(dict(event.headers)), _body(event))


_PG_INSERT_ONE = b"lifesync_inbox_insert_one"
_PG_INSERT_ONE_SQL = (
    b"INSERT INTO raw_events (source, object, connection, event_key, received_at, headers, status, body) "
    b"VALUES ($1, $2, $3, $4, $5::timestamptz, $6::json, 'received', $7) "
    b"ON CONFLICT (source, event_key) DO NOTHING RETURNING id")
_TEXT, _BINARY = 0, 1
_FORMATS = (_TEXT,) * 6 + (_BINARY,)


def _insert_one_pg(store: Store, event: InboundEvent, now: datetime) -> list[int]:
    """One event (most webhooks carry one) on PostgreSQL, as a statement prepared on the connection.

    The same INSERT … ON CONFLICT DO NOTHING as the general path, sent through psycopg's libpq
    layer (``pgconn``): parameters go as text (the body as bytes), so neither SQLAlchemy's
    per-statement work nor psycopg's cursor and adapters are paid — together most of the
    request's database CPU. Autocommit, so durable when it returns. When the server dropped
    the connection (a restart, an idle timeout) every pooled connection is suspect: the pool
    is emptied and the insert tried once more on a new one. Any other error is the
    request's (500; the sender delivers again).
    """
    for attempt in (1, 2):
        pooled = store.single.raw_connection()
        try:
            conn = pooled.driver_connection
            encoding = conn.info.encoding
            source, obj, connection, key, headers, body = _one_row(event)
            params = [*(v.encode(encoding) for v in (source, obj, connection, key)), now.isoformat().encode(),
                      headers.encode(encoding), body]
            pgconn = conn.pgconn
            if not pooled.info.get(_PG_INSERT_ONE):  # once per connection
                _check(pgconn, pgconn.prepare(_PG_INSERT_ONE, _PG_INSERT_ONE_SQL), encoding)
                pooled.info[_PG_INSERT_ONE] = True
            result = _check(pgconn, pgconn.exec_prepared(_PG_INSERT_ONE, params, _FORMATS), encoding)
            return [int(result.get_value(0, 0))] if result.ntuples else []
        except psycopg.OperationalError:
            if attempt == 2 or not pooled.driver_connection.broken:
                raise
            pooled.invalidate()
            store.single.dispose()  # its siblings went with the server: connect afresh
        finally:
            pooled.close()
    raise AssertionError("unreachable")


_SQLITE_INSERT_ONE = (
    "INSERT INTO raw_events (source, object, connection, event_key, received_at, headers, status, body) "
    "VALUES (?, ?, ?, ?, ?, ?, 'received', ?) ON CONFLICT (source, event_key) DO NOTHING RETURNING id")


def _insert_one_sqlite(store: Store, event: InboundEvent, now: datetime) -> list[int]:
    """One event on SQLite, straight through sqlite3 (which keeps the statement prepared).

    The same INSERT … ON CONFLICT DO NOTHING in its own ``BEGIN IMMEDIATE`` transaction as
    the general path, committed before it returns, without SQLAlchemy's per-statement work —
    two thirds of the insert's CPU. The timestamp is formatted by the column's own type, so
    the stored text is the general path's.

    Its commit does not checkpoint the WAL (SQLite's auto-checkpoint would run inside the
    writer turn, holding every other web worker up for milliseconds: the p99 of
    ``bench/webhooks.py``). Instead, every ``CHECKPOINT_EVERY`` inserts of a process run a
    PASSIVE checkpoint after the turn, while the others go on writing.
    """
    received_at = model.RawEvent.__table__.c.received_at.type.bind_processor(store.engine.dialect)(now)
    source, obj, connection, key, headers, body = _one_row(event)
    params = (source, obj, connection, key, received_at, headers, body)
    global _since_checkpoint
    pooled = store.single.raw_connection()
    try:
        conn = pooled.driver_connection
        conn.execute("PRAGMA wal_autocheckpoint=0")  # this commit must not checkpoint inside the turn
        try:
            with _writer_turn(store):  # queue for the write lock without SQLite's sleeps
                conn.execute("BEGIN IMMEDIATE")
                try:
                    found = conn.execute(_SQLITE_INSERT_ONE, params).fetchone()
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT}")
        _since_checkpoint += 1
        if _since_checkpoint >= CHECKPOINT_EVERY:  # outside the turn: the other writers go on meanwhile
            _since_checkpoint = 0
            _checkpoint(conn)
        return [] if found is None else [found[0]]
    finally:
        pooled.close()


def _checkpoint(conn: Any) -> None:
    """A PASSIVE WAL checkpoint; a refusal is logged, not raised (the event is stored: the next one retries)."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.OperationalError as exc:
        log.warning("WAL checkpoint after an inbox insert failed (%s); the next one will retry", exc)


CHECKPOINT_EVERY = 200  # a process's one-event inserts between two of its WAL checkpoints
_AUTOCHECKPOINT = 1000  # SQLite's default, which every other write keeps
_since_checkpoint = 0


def _check(pgconn: pq.abc.PGconn, result: Any, encoding: str) -> Any:
    """A libpq result, or the exception a psycopg cursor would have raised for it."""
    if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        return result
    if pgconn.status == pq.ConnStatus.BAD:  # the server went away: retried on a fresh connection
        raise psycopg.OperationalError(result.error_message.decode(encoding, "replace").strip())
    raise psycopg.errors.error_from_result(result, encoding=encoding)


def process_events(store: Store, config: Config, ids: Iterable[int], effects: Effects | None = None) -> IngestResult:
    """Map and reconcile received events; each (source, object) group is one transaction."""
    total = IngestResult()
    ids = sorted(set(ids))
    with store.transaction() as session:
        raws = [r for part in chunks(ids, 5000) for r in session.scalars(
            select(model.RawEvent).where(one_of(session, model.RawEvent.id, part),
                                         model.RawEvent.status == "received").order_by(model.RawEvent.id))]
    groups: dict[tuple[str, str, str, str | None], list[model.RawEvent]] = defaultdict(list)
    brands = getattr(config, "brands", None) or ONE_BRAND
    for raw in raws:  # a group per brand owning the connection an event came through, and per namespace of its
        brand = brands.brand_of(raw.source, raw.connection)  # record ids (identity.namespaced: the connection)
        groups[(raw.source, raw.object, brand, brands.namespace(raw.source, brand, raw.connection))].append(raw)
    # by first arrival: a message before what adds to its contact
    for (source, obj, brand, namespace), group in groups.items():
        try:
            mapping = mapping_for(config, source, obj)
        except Exception as exc:  # no mapping: keep the events, visible as dead with the reason
            _mark(store, [r.id for r in group], "dead", str(exc))
            continue
        records = [json.loads(r.body) for r in group]
        items, dead = map_records(mapping, records, [r.received_at for r in group])
        dropped: list[Any] = []
        total.add(ingest_patches(store, config.lifecycle, items, dead, effects or Effects.rules_only(config),
                                 brand=brand, namespace=namespace, suppressed=dropped))
        _mark(store, [r.id for r in group], "processed", None)
        if dropped:  # a forgotten person's event: its body goes, the row stays (a re-sent webhook is still a duplicate)
            ids = {id(record) for record in dropped}
            _redact(store, [r.id for r, record in zip(group, records, strict=True) if id(record) in ids])
    return total


def process_isolating(store: Store, config: Config, ids: Sequence[int], effects: Effects | None = None) -> IngestResult:
    """``process_events``, except that an event whose processing raises cannot hold back the rest.

    The inbox is processed oldest first, so an event that always fails would otherwise stop
    every drain at the same batch. A failing batch is split in halves until the failure is
    down to single events, which are quarantined (``quarantine``). Database trouble
    (``OperationalError``: unreachable, deadlock, serialization) is raised instead, for the
    job to be retried: it is not the event's fault, and would fail its quarantine too.
    """
    try:
        return process_events(store, config, ids, effects)
    except OperationalError:
        raise
    except Exception as exc:  # a bug on one event: isolate it
        if len(ids) == 1:
            log.exception("inbox event %s raised while being processed; quarantined as a dead letter", ids[0])
            return quarantine(store, ids[0], exc, getattr(config, "brands", None) or ONE_BRAND)
        mid = len(ids) // 2
        total = process_isolating(store, config, ids[:mid], effects)
        total.add(process_isolating(store, config, ids[mid:], effects))
        return total


def quarantine(store: Store, event_id: int, exc: BaseException, brands: Brands = ONE_BRAND) -> IngestResult:
    """Mark an event ``dead`` and keep its record as a replayable dead letter (``lifesync deadletter replay``).

    The letter records the brand owning the event's connection (``brands``), as a drained event's would.
    """
    from sync.ingest.deadletter import reason_for

    reason, result = reason_for(exc), IngestResult()
    with store.transaction() as session:
        raw = session.get(model.RawEvent, event_id)
        if raw is None or raw.status != "received":
            return result
        session.add(model.DeadLetter(stage="reconcile", source=raw.source, object=raw.object,
                                     record_id=raw.event_key, reason=reason, payload=json.loads(raw.body),
                                     brand=letter_brand(brands.brand_of(raw.source, raw.connection))))
        raw.status, raw.error, raw.processed_at = "dead", reason, model.utcnow()
    result.records = result.dead_lettered = 1
    return result


def _redact(store: Store, ids: list[int]) -> None:
    with store.transaction() as session:
        for part in chunks(ids, 5000):
            session.execute(update(model.RawEvent).where(one_of(session, model.RawEvent.id, part)).values(body=b""))


def _mark(store: Store, ids: list[int], status: str, error: str | None) -> None:
    with store.transaction() as session:
        for part in chunks(ids, 5000):
            session.execute(update(model.RawEvent).where(one_of(session, model.RawEvent.id, part))
                            .values(status=status, error=error, processed_at=model.utcnow()))


def received(store: Store, limit: int) -> list[int]:
    """Ids of the oldest ``limit`` events waiting to be processed (a drain job's next batch)."""
    with store.transaction() as session:
        return list(session.scalars(select(model.RawEvent.id).where(model.RawEvent.status == "received")
                                    .order_by(model.RawEvent.id).limit(limit)))


def pending(store: Store, older_than: timedelta, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Ids of events still ``received`` after ``older_than`` (their job was lost or crashed)."""
    cutoff = (now or model.utcnow()) - older_than
    with store.transaction() as session:
        return list(session.scalars(select(model.RawEvent.id).where(
            model.RawEvent.status == "received", model.RawEvent.received_at <= cutoff)
            .order_by(model.RawEvent.id).limit(limit)))
