"""The inbox insert: durable when it returns, one statement, and it survives a connection the server dropped."""

from __future__ import annotations

from sqlalchemy import func, select, text

from sync import model
from sync.inbox import InboundEvent, store_events


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
