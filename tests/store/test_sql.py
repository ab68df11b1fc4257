"""``update_by_id`` changes the columns it is given and nothing else (both databases, both write paths)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from sync.store import model
from sync.store.sql import COPY_THRESHOLD, allocate_ids, insert_rows, update_by_id


@pytest.mark.parametrize("n", [1, COPY_THRESHOLD + 5])  # plain UPDATE, and COPY into a staging table on PostgreSQL
def test_columns_left_out_keep_their_values(store, n):
    made = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = [{"id": i, "idempotency_key": f"k{i}", "kind": "crm", "destination": "hubspot", "contact_id": None,
             "payload": {"values": {"city": f"C{i}"}}, "status": "pending", "created_at": made, "available_at": made}
            for i in range(1, n + 1)]
    with store.transaction() as s:
        insert_rows(s, model.Outbox, rows)
    with store.transaction() as s:
        update_by_id(s, model.Outbox, [{"id": r["id"], "status": "sent", "available_at": made} for r in rows])
    with store.transaction() as s:
        got = list(s.scalars(select(model.Outbox).order_by(model.Outbox.id)))
    assert [o.status for o in got] == ["sent"] * n
    assert [o.payload for o in got] == [r["payload"] for r in rows]  # not reset to the column's default
    assert {o.created_at for o in got} == {made} and {o.kind for o in got} == {"crm"}


def test_bulk_writes_keep_every_character(store):
    """Tabs, newlines, backslashes, quotes, accents and emoji survive COPY (PostgreSQL) and INSERT alike."""
    tricky = ["a\tb", "line1\nline2\r\n", "back\\slash \\N", 'quote " and \\"', "José — ✨", "", " "]
    made = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = [{"id": i + 1, "idempotency_key": f"k{i}", "kind": "crm", "destination": "hubspot", "contact_id": None,
             "payload": {"v": value, "n": i, "f": 1.5, "b": True, "none": None},
             "status": value[:16] or "x", "created_at": made, "available_at": made}
            for i, value in enumerate(tricky * 10)]  # 70 rows: above the COPY threshold
    with store.transaction() as s:
        insert_rows(s, model.Outbox, rows)
    with store.transaction() as s:
        got = {o.id: (o.payload, o.status) for o in s.scalars(select(model.Outbox))}
    assert got == {r["id"]: (r["payload"], r["status"]) for r in rows}



@pytest.mark.parametrize("n", [6, COPY_THRESHOLD + 5])  # INSERT, and COPY on PostgreSQL
def test_bulk_writes_store_the_instant_of_every_timestamp(store, n):
    """Offsets, naive values (taken as UTC), repeated and equal instants and NULL land as the same instant."""
    from datetime import timedelta, timezone

    utc = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    mexico = utc.astimezone(timezone(timedelta(hours=-6)))  # equal to ``utc``: the same instant, other text
    kolkata = datetime(2026, 3, 4, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    naive = datetime(2026, 3, 4, 5, 6, 7)
    cases = [utc, mexico, kolkata, naive, None, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    rows, want = [], {}
    for i in range(n):
        at = cases[i % len(cases)]
        rows.append({"contact_id": 1, "field": f"f{i}", "source": "hubspot", "value": i, "source_time": at,
                     "arrived_at": utc, "record_id": None})
        want[f"f{i}"] = (None if at is None else at.replace(tzinfo=UTC) if at.tzinfo is None else at, utc)
    with store.transaction() as s:
        if store.dialect == "postgresql":  # a server whose sessions are not on UTC
            s.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        insert_rows(s, model.FieldValue, rows)
    with store.transaction() as s:
        got = {v.field: (v.source_time, v.arrived_at) for v in s.scalars(select(model.FieldValue))}
    assert got == want
    assert got["f1"][0] == utc and got["f3"][0] == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert all(t.utcoffset() == timedelta(0) for pair in got.values() for t in pair if t is not None)


def test_allocated_ids_are_distinct_ascending_and_never_drawn_again(store):
    def contacts(ids):
        now = model.utcnow()
        return [{"id": i, "created_at": now, "updated_at": now, "attributes": {}} for i in ids]

    with store.transaction() as s:
        first = allocate_ids(s, "contacts", 120)
        assert allocate_ids(s, "contacts", 0) == []
        insert_rows(s, model.Contact, contacts(first))  # SQLite draws after the maximum: insert before the next
        second = allocate_ids(s, "contacts", 3)
        insert_rows(s, model.Contact, contacts(second))
        assert s.scalar(text("SELECT count(*) FROM contacts")) == 123
    assert len(set(first)) == 120 and first == sorted(first)
    assert min(second) > max(first)  # from the same sequence (PostgreSQL) or after the maximum (SQLite)
    with store.transaction() as s:
        assert min(allocate_ids(s, "contacts", 5)) > max(second)
