"""The inbox insert: durable when it returns, one statement, and it survives a connection the server dropped."""

from __future__ import annotations

import json
import sqlite3

import pytest
from psycopg import DataError
from sqlalchemy import exc, func, select, text

from sync.connectors.events import InboundEvent
from sync.ingest.inbox import store_events
from sync.store import model


def event(n: int) -> InboundEvent:
    return InboundEvent("whatsapp", "message", f"wamid.{n}", {"n": n})


def test_a_dropped_connection_costs_nothing_but_a_retry(store):
    assert store_events(store, [event(1)])
    if store.dialect == "postgresql":
        assert store.single is not store.engine  # autocommit, no pre-ping: one round trip per webhook
        with store.single.connect() as conn:
            pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
        with store.engine.connect() as admin:  # the server drops the pooled connection (restart, idle timeout…)
            admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    else:
        assert store.single is store.engine
    ids = store_events(store, [event(2), event(3)])
    assert len(ids) == 2 and store_events(store, [event(2)]) == []  # stored once; a redelivery gets no id
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == 3


def drop_inbox_connections(store) -> None:
    """The server drops every connection of the inbox pool (a restart): three pooled, all terminated."""
    if store.dialect == "postgresql":
        conns = [store.single.connect() for _ in range(3)]
        pids = [c.exec_driver_sql("select pg_backend_pid()").scalar() for c in conns]
        for c in conns:
            c.close()  # back to the pool, where the next inserts find them
        with store.engine.connect() as admin:
            admin.execute(text("select pg_terminate_backend(pid) from unnest(cast(:p as int[])) as pid"), {"p": pids})


def test_one_event_is_stored_durably_with_its_fields_and_survives_a_dropped_connection(store):
    first = store_events(store, [InboundEvent("hubspot", "contact", "k-1", {"name": "Ana Ñ", "n": [1, 2]},
                                              connection="eu", headers=(("x-signature", "abc"),))])
    assert len(first) == 1
    drop_inbox_connections(store)
    second = store_events(store, [event(7)])  # the single-event path retries on a fresh connection
    assert len(second) == 1 and second[0] > first[0]
    assert store_events(store, [event(7)]) == []  # a redelivery is stored once and gets no id
    with store.engine.connect() as other:  # another connection sees both: committed when the call returned
        rows = other.execute(select(model.RawEvent).order_by(model.RawEvent.id)).all()
    assert [(r.source, r.object, r.connection, r.event_key, r.status) for r in rows] == [
        ("hubspot", "contact", "eu", "k-1", "received"), ("whatsapp", "message", "default", "wamid.7", "received")]
    assert rows[0].headers == {"x-signature": "abc"} and rows[0].received_at.tzinfo is not None
    assert abs((model.utcnow() - rows[0].received_at).total_seconds()) < 60  # the instant, whatever the zone
    assert rows[0].body == '{"name":"Ana Ñ","n":[1,2]}'.encode()  # compact UTF-8 JSON, byte for byte
    assert json.loads(rows[0].body) == {"name": "Ana Ñ", "n": [1, 2]}


def test_a_statement_error_is_the_drivers_exception_and_the_connection_serves_on(store):
    too_long = InboundEvent("whatsapp", "m" * 65, "k-long", {"n": 1})  # object is VARCHAR(64)
    if store.dialect == "postgresql":
        with pytest.raises(DataError, match="too long"):
            store_events(store, [too_long])
    else:  # SQLite does not enforce a VARCHAR's length
        assert len(store_events(store, [too_long])) == 1
    assert len(store_events(store, [event(1)])) == 1
    with store.transaction() as s:
        keys = s.scalars(select(model.RawEvent.event_key).order_by(model.RawEvent.id)).all()
    assert keys == (["wamid.1"] if store.dialect == "postgresql" else ["k-long", "wamid.1"])


def test_on_postgresql_the_inbox_insert_is_prepared_once_per_connection(store):
    if store.dialect != "postgresql":
        assert store.single is store.engine
        return
    store.single.dispose()
    for n in range(4):  # one pooled connection serves them all, one after the other
        assert store_events(store, [event(100 + n)])
    with store.single.connect() as conn:
        prepared = conn.exec_driver_sql("select statement from pg_prepared_statements").scalars().all()
    assert any("INSERT INTO raw_events" in s for s in prepared)


def test_one_event_is_stored_exactly_as_the_general_path_stores_several(store):
    import re

    headers = (("x-signature", "abc"),)
    store_events(store, [InboundEvent("whatsapp", "message", "one", {"n": "Ñ"}, headers=headers)])  # one: fast path
    store_events(store, [InboundEvent("whatsapp", "message", k, {"n": "Ñ"}, headers=headers) for k in ("a", "b")])
    # SQLite keeps the timestamp as text, which must be the general path's; PostgreSQL keeps a
    # timestamptz, shown here in a fixed format (its own text drops trailing zeros of the fraction)
    when = ("CAST(received_at AS TEXT)" if store.dialect == "sqlite"
            else "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT {when}, CAST(headers AS TEXT), body, status "
                                    "FROM raw_events ORDER BY id").all()
    stored = {(re.sub(r"\d", "9", at), head, bytes(body), status) for at, head, body, status in rows}
    assert len(rows) == 3 and len(stored) == 1  # same timestamp text shape, JSON text, body bytes and status
    [(at, head, body, status)] = stored
    assert at == "9999-99-99 99:99:99.999999"
    assert (head, body, status) == ('{"x-signature":"abc"}', '{"n":"Ñ"}'.encode(), "received")


def _hold_turn(database: str, held, release) -> None:  # another web worker, inside its insert
    from sync.store.sqlite_lock import writer_turn

    with writer_turn(database):
        held.set()
        release.wait(30)


@pytest.mark.parametrize("count", [1, 3])  # the one-event insert and the general path
def test_on_sqlite_inbox_inserts_take_turns_across_processes(store, count):
    import multiprocessing
    import threading

    if store.dialect != "sqlite":  # PostgreSQL inserts never wait for one another
        assert len(store_events(store, [event(n) for n in range(count)])) == count
        return
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_turn, args=(store.engine.url.database, held, release))
    other.start()
    try:
        assert held.wait(60)
        stored: list[int] = []
        mine = threading.Thread(target=lambda: stored.extend(store_events(store, [event(n) for n in range(count)])))
        mine.start()
        mine.join(0.5)
        assert mine.is_alive() and stored == []  # queued behind the other worker's turn
        release.set()  # the kernel hands the turn over: no SQLite busy-handler sleep
        mine.join(10)
        assert len(stored) == count
    finally:
        release.set()
        other.join(10)
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == count


@pytest.mark.parametrize("events", [1, 2])
def test_a_failed_insert_returns_its_connection_with_no_transaction_open(store, events):
    """The statements pool skips the rollback on return: autocommit must leave nothing to roll back."""
    if store.dialect != "postgresql":
        assert store.single is store.engine  # SQLite's inserts use the main engine, reset as usual
        return
    from psycopg import pq

    store.single.dispose()
    bad = [InboundEvent("whatsapp", "m" * 65, f"k-long-{n}", {"n": n}) for n in range(events)]
    with pytest.raises((DataError, exc.DataError)):  # psycopg's (one event) or wrapped by SQLAlchemy (several)
        store_events(store, bad)
    pooled = store.single.raw_connection()
    try:
        assert pooled.driver_connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    finally:
        pooled.close()
    assert store_events(store, [event(7), event(8)]) and store_events(store, [event(9)])


def test_sqlite_inserts_checkpoint_the_wal_outside_the_writer_turn(tmp_path, monkeypatch):
    """A commit that checkpointed inside the turn held the other web workers up for milliseconds (p99)."""
    from contextlib import contextmanager

    from sqlalchemy import event as sa_event

    from sync.ingest import inbox
    from sync.store.engine import open_store

    sqlite_store = open_store(f"sqlite:///{tmp_path}/inbox.db")  # this path is SQLite's, whatever the suite's db
    monkeypatch.setattr(inbox, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(inbox, "_since_checkpoint", 0)
    in_turn, statements = [], []
    real_turn = inbox.writer_turn

    @contextmanager
    def watched_turn(database):
        with real_turn(database):
            in_turn.append(True)
            try:
                yield
            finally:
                in_turn.pop()

    monkeypatch.setattr(inbox, "writer_turn", watched_turn)
    sa_event.listen(sqlite_store.engine, "connect", lambda conn, _: conn.set_trace_callback(
        lambda sql: statements.append((sql, bool(in_turn)))))
    sqlite_store.engine.dispose()
    try:
        for n in range(6):
            assert store_events(sqlite_store, [event(n)])
        steps = [(sql, turn) for sql, turn in statements
                 if sql.startswith(("PRAGMA wal_", "BEGIN", "COMMIT", "INSERT INTO raw_events"))]
        assert steps[:5] == [("PRAGMA wal_autocheckpoint=0", False), ("BEGIN IMMEDIATE", True),
                             (steps[2][0], True), ("COMMIT", True), ("PRAGMA wal_autocheckpoint=1000", False)]
        assert [turn for sql, turn in steps if sql.startswith("PRAGMA wal_checkpoint")] == [False, False]  # 3rd, 6th
        with sqlite_store.engine.connect() as conn:  # every other write checkpoints as SQLite does by default
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        sqlite_store.dispose()


def test_a_refused_checkpoint_is_logged_not_raised(caplog):
    """The checkpoint runs after the event is committed: its failure must not turn a stored event into a 500."""
    from sync.ingest import inbox

    class Refusing:
        def execute(self, sql):
            assert sql == "PRAGMA wal_checkpoint(PASSIVE)"
            raise sqlite3.OperationalError("database is locked")

    inbox._checkpoint(Refusing())
    assert "WAL checkpoint after an inbox insert failed (database is locked)" in caplog.text
