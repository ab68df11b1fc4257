"""Planner statistics and costs during bulk loads (PostgreSQL; on SQLite both are no-ops)."""

from __future__ import annotations

from sqlalchemy import event, text

from sync.ingest.persist import reconcile_lock
from sync.store import planner_stats
from sync.store.model import Contact, utcnow
from sync.store.sql import insert_rows


def known_rows(session, table: str) -> float:
    """What the planner believes the table holds (PostgreSQL: -1 before its first ANALYZE)."""
    return session.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar()


def contacts(n: int, start: int) -> list[dict]:
    now = utcnow()
    return [{"id": start + i, "created_at": now, "updated_at": now, "attributes": {}} for i in range(n)]


def test_a_table_that_outgrew_its_statistics_is_analysed_once_it_has_about_doubled(store, monkeypatch):
    monkeypatch.setattr(planner_stats, "MIN_ROWS", 100)
    monkeypatch.setattr(planner_stats, "_growth", {})
    with store.transaction() as s:
        if store.dialect != "postgresql":
            insert_rows(s, Contact, contacts(300, 1))
            assert planner_stats.note_inserted(s, "contacts", 300) is False  # SQLite plans without them
            return
        before = known_rows(s, "contacts")
        insert_rows(s, Contact, contacts(60, 1))  # COPY counts its rows: 60 < 100, nothing yet
        assert known_rows(s, "contacts") == before
        insert_rows(s, Contact, contacts(60, 61))  # 120 written since: analysed
        assert known_rows(s, "contacts") == 120
        insert_rows(s, Contact, contacts(60, 121))  # 60 more: short of the 120 the statistics know
        assert known_rows(s, "contacts") == 120
        assert planner_stats.note_inserted(s, "contacts", 59) is False  # 119 < 120
        assert planner_stats.note_inserted(s, "contacts", 1) is True  # doubled
        assert known_rows(s, "contacts") == 180


def test_reconcile_transactions_cost_index_lookups_as_cached_but_keep_a_lower_server_setting(store):
    with store.transaction() as s:
        if store.dialect != "postgresql":  # BEGIN IMMEDIATE is SQLite's lock, and it has no such costs
            sent = []

            def record(conn, cursor, statement, *args):
                sent.append(statement)

            event.listen(store.engine, "before_cursor_execute", record)
            try:
                reconcile_lock(s)
            finally:
                event.remove(store.engine, "before_cursor_execute", record)
            assert sent == []
            return
        server = float(s.execute(text("SHOW random_page_cost")).scalar())  # PostgreSQL's default: 4
        reconcile_lock(s)
        assert float(s.execute(text("SHOW random_page_cost")).scalar()) == min(server, 1.1)
    with store.transaction() as s:
        assert float(s.execute(text("SHOW random_page_cost")).scalar()) == server  # LOCAL: gone at commit
        s.execute(text("SET LOCAL random_page_cost = 1.05"))  # a server tuned lower than 1.1 ...
        reconcile_lock(s)
        assert float(s.execute(text("SHOW random_page_cost")).scalar()) == 1.05  # ... keeps its value


def test_an_analyze_that_would_wait_for_a_vacuum_is_put_off_not_waited_for(store, monkeypatch):
    monkeypatch.setattr(planner_stats, "MIN_ROWS", 100)
    monkeypatch.setattr(planner_stats, "_growth", {})
    if store.dialect != "postgresql":
        with store.transaction() as s:
            assert planner_stats.note_inserted(s, "contacts", 500) is False
        return
    with store.engine.connect() as other:
        other.execute(text("LOCK TABLE contacts IN SHARE UPDATE EXCLUSIVE MODE"))  # what a VACUUM holds
        with store.transaction() as s:
            insert_rows(s, Contact, contacts(120, 1))  # past the threshold, but the table is taken
            assert known_rows(s, "contacts") != 120
            assert s.execute(text("SHOW lock_timeout")).scalar() == "0"  # the ingest's own setting is back
            assert s.execute(text("SELECT count(*) FROM contacts")).scalar() == 120  # its rows are intact
        other.rollback()  # the vacuum is done
    with store.transaction() as s:
        assert planner_stats.note_inserted(s, "contacts", 1) is True  # the next write analyses it
        assert known_rows(s, "contacts") == 120


def test_an_analyze_covers_the_columns_of_keys_and_indexes_not_the_payload_columns(store, monkeypatch):
    monkeypatch.setattr(planner_stats, "MIN_ROWS", 100)
    monkeypatch.setattr(planner_stats, "_growth", {})
    assert planner_stats.indexed_columns("contacts") == ("id", "updated_at", "stage", "lost_stage")
    assert planner_stats.indexed_columns("field_values") == ("contact_id", "field", "source")
    assert planner_stats.indexed_columns("no_such_table") == ()
    if store.dialect != "postgresql":
        return
    sent = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.transaction() as s:
            insert_rows(s, Contact, contacts(120, 1))  # past the threshold: analysed
            analysed = set(s.scalars(text("SELECT attname FROM pg_stats WHERE schemaname = 'public' "
                                          "AND tablename = 'contacts'")))
            assert known_rows(s, "contacts") == 120
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert [q for q in sent if q.startswith("ANALYZE")] == ["ANALYZE contacts (id, updated_at, stage, lost_stage)"]
    assert {"id", "updated_at", "stage", "lost_stage"} <= analysed
