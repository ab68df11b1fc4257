"""The Alembic migrations build exactly the schema the models declare."""

import multiprocessing
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

from sync.store.engine import open_store, upgrade
from sync.store.model import Base, include_object


def _context(conn) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"include_object": include_object})


def test_migrated_schema_matches_the_models(migrated_store):
    with migrated_store.engine.connect() as conn:
        assert compare_metadata(_context(conn), Base.metadata) == []


def test_contacts_carry_generated_name_keys(migrated_store):
    """Left out of the comparison above (their expressions differ per database): they exist and follow the names."""
    with migrated_store.engine.begin() as conn:
        cid = conn.execute(text("INSERT INTO contacts (attributes, consent, created_at, updated_at) VALUES "
                                """('{"first_name": {"value": "Ana"}, "last_name": {"value": "LOPEZ"}}', '{}', """
                                "'2026-01-01', '2026-01-01') RETURNING id")).scalar_one()
        keys = conn.execute(text("SELECT name_key, last_name_key FROM contacts WHERE id = :id"), {"id": cid}).one()
        conn.execute(text("DELETE FROM contacts WHERE id = :id"), {"id": cid})
    assert tuple(keys) == ("ana lopez", "lopez")


def test_upgrade_is_idempotent(migrated_store):
    upgrade(migrated_store.engine)
    tables = set(inspect(migrated_store.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def _open(url: str, barrier, results) -> None:
    barrier.wait()
    try:
        open_store(url).dispose()
        results.put("ok")
    except Exception as exc:  # reported to the test, not swallowed
        results.put(f"{type(exc).__name__}: {exc}"[:300])


@pytest.fixture
def fresh_database_url(database_url, tmp_path):
    """An empty database on the suite's server: a new SQLite file, or a new PostgreSQL database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    url = make_url(database_url)
    name = f"lifesync_fresh_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_processes_opening_a_fresh_database_together_all_migrate_it(fresh_database_url):
    """gunicorn and rq workers start at once: each migrates on open, and none may fail for the others."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(fresh_database_url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * 4
    store = open_store(fresh_database_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        store.dispose()


def test_dead_letters_written_before_their_class_existed_are_classified(fresh_database_url):
    """0008 backfills the reason class of every existing letter with the function new letters use."""
    from sync.store.engine import make_engine
    from sync.store.reason_class import reason_class

    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine, "0005")
        reasons = [f"hubspot contacts record {n}: no usable identity" for n in range(3)] + ["HTTP 400: 'x@y.z'"]
        with engine.begin() as conn:
            for n, reason in enumerate(reasons):
                conn.execute(text("INSERT INTO dead_letters (stage, source, object, record_id, reason, payload, "
                                  "status, created_at) VALUES ('reconcile', 'hubspot', 'contacts', :r, :reason, '{}', "
                                  "'open', CURRENT_TIMESTAMP)"), {"r": str(n), "reason": reason})
        upgrade(engine)
        with engine.connect() as conn:
            classes = conn.execute(text("SELECT reason_class FROM dead_letters ORDER BY id")).scalars().all()
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert classes == [reason_class(r) for r in reasons]
    assert classes == ["hubspot contacts record …: no usable identity"] * 3 + ["HTTP 400: …"]


def test_dead_letters_written_before_the_day_counts_are_counted_per_day_and_downgrade_restores_0008(
        fresh_database_url):
    """0013 fills the per-day counts from the existing letters; its downgrade leaves 0008's triggers counting."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    insert = text("INSERT INTO dead_letters (stage, source, object, record_id, reason, reason_class, payload, status, "
                  "created_at) VALUES ('job', 'q', 'f', :r, 'TransientError', 'TransientError', '{}', :s, :at)")
    letters = [("1", "open", "2026-12-01 23:59:59"), ("2", "open", "2026-12-02 00:00:00"),
               ("3", "dismissed", "2026-12-02 10:00:00"), ("4", "open", "2026-12-02 12:00:00")]
    try:
        upgrade(engine, "0012")
        with engine.begin() as conn:
            for r, s, at in letters:
                conn.execute(insert, {"r": r, "s": s, "at": at})
        upgrade(engine)
        day_counts = ("SELECT status, CAST(day AS TEXT), sum(n) FROM dead_letter_day_counts "
                      "GROUP BY status, day HAVING sum(n) <> 0 ORDER BY 1, 2")
        with engine.begin() as conn:
            filled = [tuple(r) for r in conn.execute(text(day_counts))]
            conn.execute(insert, {"r": "5", "s": "open", "at": "2026-12-03 01:00:00"})  # the new triggers count it
            conn.execute(text("UPDATE dead_letters SET created_at = '2026-12-01 08:00:00' WHERE record_id = '4'"))
            counted = [tuple(r) for r in conn.execute(text(day_counts))]
        command.downgrade(alembic_config(engine), "0012")
        with engine.begin() as conn:
            conn.execute(text("UPDATE dead_letters SET status = 'replayed' WHERE record_id = '1'"))
            kept = dict(conn.execute(text("SELECT status, sum(n) FROM dead_letter_counts GROUP BY status "
                                          "HAVING sum(n) <> 0")).all())
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert filled == [("dismissed", "2026-12-02", 1), ("open", "2026-12-01", 1), ("open", "2026-12-02", 2)]
    assert counted == [("dismissed", "2026-12-02", 1), ("open", "2026-12-01", 2), ("open", "2026-12-02", 1),
                       ("open", "2026-12-03", 1)]
    assert kept == {"open": 3, "dismissed": 1, "replayed": 1}


def test_transitions_written_before_the_funnel_counts_are_counted_and_downgrade_drops_them(fresh_database_url):
    """0014 fills ``funnel_counts`` from the stored transitions; its downgrade removes the table and index change."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    insert = text("INSERT INTO stage_transitions (contact_id, seq, from_stage, to_stage, at, source, reason) "
                  "VALUES (:c, :q, NULL, :s, '2026-12-01 10:00:00', 'test', 'test')")
    rows = [(1, 0, "New Lead"), (1, 1, "Hot Lead"), (1, 2, "New Lead"), (2, 0, "Hot Lead")]
    counts = "SELECT stage, after, n FROM funnel_counts ORDER BY stage, after"
    try:
        upgrade(engine, "0013")
        with engine.begin() as conn:
            for c, q, s in rows:
                conn.execute(insert, {"c": c, "q": q, "s": s})
        upgrade(engine)
        with engine.connect() as conn:
            filled = [tuple(r) for r in conn.execute(text(counts))]
        command.downgrade(alembic_config(engine), "0013")
        with engine.connect() as conn:
            gone = "funnel_counts" not in inspect(conn).get_table_names()
        upgrade(engine)
        with engine.connect() as conn:
            again = [tuple(r) for r in conn.execute(text(counts))]
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert filled == [("Hot Lead", "", 1), ("Hot Lead", "New Lead", 1), ("New Lead", "Hot Lead\x1fNew Lead", 1)]
    assert gone and again == filled


def test_deliveries_written_before_the_delivery_counts_are_counted_and_downgrade_drops_them(fresh_database_url):
    """0015 fills ``delivery_counts`` from the outbox and deliveries and keeps it by triggers; its downgrade
    removes the table and the triggers (writes go on without them)."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    item = text("INSERT INTO outbox (idempotency_key, kind, destination, payload, status, created_at, available_at) "
                "VALUES (:k, :kind, 'meta', '{}', 'pending', '2026-12-01 10:00:00', '2026-12-01 10:00:00')")
    sent = text("INSERT INTO deliveries (outbox_id, destination, status, attempts, response, updated_at) "
                "SELECT id, 'meta', 'sent', 1, :response, '2026-12-01 10:00:00' FROM outbox WHERE idempotency_key = :k")
    counts = "SELECT part, value, sum(n) FROM delivery_counts GROUP BY part, value HAVING sum(n) <> 0 ORDER BY 1, 2"
    try:
        upgrade(engine, "0014")
        with engine.begin() as conn:
            for key, kind in (("a", "conversion"), ("b", "conversion"), ("c", "adjustment"), ("d", "crm")):
                conn.execute(item, {"k": key, "kind": kind})
            conn.execute(sent, {"k": "a", "response": '{"click_id": "fbc", "keys": ["em", "ph"]}'})
        upgrade(engine)
        with engine.begin() as conn:
            filled = [tuple(r) for r in conn.execute(text(counts))]
            conn.execute(sent, {"k": "b", "response": '{"keys": ["em"], "duplicate": true}'})
            kept = [tuple(r) for r in conn.execute(text(counts))]
        command.downgrade(alembic_config(engine), "0014")
        with engine.begin() as conn:
            gone = "delivery_counts" not in inspect(conn).get_table_names()
            conn.execute(sent, {"k": "c", "response": "{}"})  # no trigger left writing to a dropped table
            conn.execute(text("DELETE FROM outbox"))
        upgrade(engine)
        with engine.connect() as conn:
            again = [tuple(r) for r in conn.execute(text(counts))]
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert filled == [("adjustment", "pending", 1), ("click", "fbc", 1), ("conversion", "pending", 1),
                      ("conversion", "sent", 1), ("key", "em", 1), ("key", "ph", 1)]
    assert kept == [("adjustment", "pending", 1), ("click", "fbc", 1), ("conversion", "sent", 2), ("held", "", 1),
                    ("key", "em", 2), ("key", "ph", 1)]
    assert gone and again == []


def test_quality_issues_arrive_with_0016_and_leave_with_its_downgrade(fresh_database_url):
    """0016 adds ``quality_issues`` (one row per refused value, unique by key); its downgrade drops it."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    row = text("INSERT INTO quality_issues (key, source, object, mapping, record_id, field, kind, reason, "
               "created_at, last_seen_at) VALUES ('k1', 'hubspot', 'contacts', 'hubspot_contacts', 'h1', 'phone', "
               "'invalid_phone', 'not a valid phone number for region US', '2026-12-01', '2026-12-01')")
    try:
        upgrade(engine, "0015")
        with engine.connect() as conn:
            absent = "quality_issues" not in inspect(conn).get_table_names()
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(row)  # the same problem of the same record is one row
        command.downgrade(alembic_config(engine), "0015")
        with engine.connect() as conn:
            gone = "quality_issues" not in inspect(conn).get_table_names()
        upgrade(engine)
        with engine.connect() as conn:
            empty = conn.execute(text("SELECT count(*) FROM quality_issues")).scalar_one() == 0
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert absent and gone and empty


def test_merges_logged_before_0017_keep_no_snapshot_and_downgrade_drops_the_review_tables(fresh_database_url):
    """0017 adds merge snapshots (old merges have none: they cannot be undone), the duplicate queue and the
    blocked-merge index; its downgrade removes them (the merge log keeps its rows)."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    old_merge = text("INSERT INTO merge_log (kept_contact_id, merged_contact_id, via, source, record_id, at) "
                     "VALUES (1, 2, 'email', 'hubspot', 'r1', '2026-12-01 10:00:00')")
    try:
        upgrade(engine, "0016")
        with engine.begin() as conn:
            conn.execute(old_merge)
        upgrade(engine)
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT merged_contact_id, snapshot, actor, unmerged_at FROM merge_log")).one()
            indexes = {i["name"] for i in inspect(conn).get_indexes("conflict_log")}
        command.downgrade(alembic_config(engine), "0016")
        with engine.connect() as conn:
            gone = "duplicate_pairs" not in inspect(conn).get_table_names()
            columns = {c["name"] for c in inspect(conn).get_columns("merge_log")}
            rows = conn.execute(text("SELECT count(*) FROM merge_log")).scalar()
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert tuple(kept) == (2, None, None, None) and "ix_conflict_log_rule" in indexes
    assert gone and "snapshot" not in columns and rows == 1


def test_rows_written_before_brands_belong_to_the_default_brand_and_downgrade_drops_the_other_brands(
        fresh_database_url):
    """0018 gives every stage signal, transition and conversion the brand ``default``; a signal is unique per
    brand; its downgrade keeps the default brand's rows and drops the others' funnels and ``contact_stages``."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    signal = ("INSERT INTO stage_signals (contact_id, at, source, kind, stage, reason{b}) "
              "VALUES (1, '2026-12-01 10:00:00', 'shop', 'stage', 'New Lead', 'r'{v})")
    transition = text("INSERT INTO stage_transitions (contact_id, seq, from_stage, to_stage, at, source, reason) "
                      "VALUES (1, 0, NULL, 'New Lead', '2026-12-01 10:00:00', 'shop', 'r')")
    brands = "SELECT (SELECT brand FROM stage_signals), (SELECT brand FROM stage_transitions)"
    try:
        upgrade(engine, "0017")
        with engine.begin() as conn:
            conn.execute(text(signal.format(b="", v="")))
            conn.execute(transition)
        upgrade(engine)
        with engine.begin() as conn:
            before = tuple(conn.execute(text(brands)).one())
            conn.execute(text(signal.format(b=", brand", v=", 'lumen'")))  # the same observation, another brand
            conn.execute(text("INSERT INTO contact_stages (contact_id, brand, stage) VALUES (1, 'lumen', 'New Lead')"))
            both = conn.execute(text("SELECT count(*) FROM stage_signals")).scalar()
        command.downgrade(alembic_config(engine), "0017")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM stage_signals")).scalar()
            gone = "contact_stages" not in inspect(conn).get_table_names()
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert before == ("default", "default") and both == 2 and kept == 1 and gone


def test_dead_letters_written_before_0019_have_no_brand_and_downgrade_drops_the_column(fresh_database_url):
    """0019 adds ``dead_letters.brand``: old letters read null (the default brand); its downgrade drops the
    column and keeps the letters (and the counting triggers still count them)."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    letter = ("INSERT INTO dead_letters (stage, source, object, record_id, reason, payload, status, created_at, "
              "reason_class{b}) VALUES ('reconcile', 'shop', 'order', '{r}', 'r', '{{}}', 'open', "
              "'2026-12-01 10:00:00', 'r'{v})")
    try:
        upgrade(engine, "0018")
        with engine.begin() as conn:
            conn.execute(text(letter.format(b="", r="old", v="")))
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text(letter.format(b=", brand", r="new", v=", 'lumen'")))
            brands = dict(conn.execute(text("SELECT record_id, brand FROM dead_letters")).all())
        command.downgrade(alembic_config(engine), "0018")
        with engine.begin() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("dead_letters")}
            kept = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
            conn.execute(text(letter.format(b="", r="after", v="")))
            counted = conn.execute(text("SELECT sum(n) FROM dead_letter_counts")).scalar()
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert brands == {"old": None, "new": "lumen"}
    assert "brand" not in columns and kept == 2 and counted == 3


def test_quality_issues_written_before_0021_belong_to_the_default_brand_and_downgrade_drops_the_column(
        fresh_database_url):
    """0021 adds ``quality_issues.brand``: old issues read ``default``; its downgrade drops the column, not them."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    issue = ("INSERT INTO quality_issues (key, source, object, mapping, record_id, field, kind, reason, "
             "created_at, last_seen_at{b}) VALUES ('{k}', 'hubspot', 'contacts', 'hubspot_contacts', 'h1', 'phone', "
             "'invalid_phone', 'r', '2026-12-01', '2026-12-01'{v})")
    try:
        upgrade(engine, "0020")
        with engine.begin() as conn:
            conn.execute(text(issue.format(b="", k="old", v="")))
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text(issue.format(b=", brand", k="new", v=", 'lumen'")))
            brands = dict(conn.execute(text("SELECT key, brand FROM quality_issues")).all())
        command.downgrade(alembic_config(engine), "0020")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("quality_issues")}
            kept = conn.execute(text("SELECT count(*) FROM quality_issues")).scalar()
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert brands == {"old": "default", "new": "lumen"}
    assert "brand" not in columns and kept == 2


def test_conversations_and_adjustments_written_before_0020_belong_to_the_default_brand(fresh_database_url):
    """0020 gives activities, conversations and adjustments the brand ``default``; a conversation is unique per
    brand; its downgrade keeps the default brand's conversations and drops the other brands'."""
    from alembic import command

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    contact = ("INSERT INTO contacts (id, attributes, consent, created_at, updated_at) "
               "VALUES (1, '{}', '{}', '2026-01-01', '2026-01-01')")
    stat = ("INSERT INTO conversation_stats (contact_id, channel, conversation_id, first_inbound_at, updated_at{b}) "
            "VALUES (1, 'whatsapp', '', '2026-12-01 10:00:00', '2026-12-01 10:00:00'{v})")
    activity = ("INSERT INTO activities (key, contact_id, channel, direction, occurred_at, source) "
                "VALUES ('a1', 1, 'whatsapp', 'inbound', '2026-12-01 10:00:00', 'whatsapp')")
    adjustment = ("INSERT INTO conversion_adjustments (key, contact_id, kind, order_id, action, occurred_at, source, "
                  "object, record_id, status, created_at) VALUES ('k1', 1, 'purchase', 'o1', 'retract', "
                  "'2026-12-01 10:00:00', 'shop', 'refund', 'r1', 'unmatched', '2026-12-01 10:00:00')")
    brands = ("SELECT (SELECT brand FROM activities), (SELECT brand FROM conversation_stats), "
              "(SELECT brand FROM conversion_adjustments)")
    try:
        upgrade(engine, "0019")
        with engine.begin() as conn:
            for statement in (contact, stat.format(b="", v=""), activity, adjustment):
                conn.execute(text(statement))
        upgrade(engine)
        with engine.begin() as conn:
            before = tuple(conn.execute(text(brands)).one())
            conn.execute(text(stat.format(b=", brand", v=", 'lumen'")))  # the same conversation, another brand
            both = conn.execute(text("SELECT count(*) FROM conversation_stats")).scalar()
        command.downgrade(alembic_config(engine), "0019")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM conversation_stats")).scalar()
            columns = {c["name"] for t in ("activities", "conversion_adjustments", "conversation_stats")
                       for c in inspect(conn).get_columns(t)}
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert before == ("default", "default", "default") and both == 2 and kept == 1 and "brand" not in columns


def test_segments_tables_upgrade_and_downgrade(fresh_database_url):
    """0022 adds segment membership (one current stay per segment and contact), its queue and evaluations; its
    downgrade drops them and leaves 0021's schema."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    stay = ("INSERT INTO segment_members (segment, contact_id, entered_at, left_at) "
            "VALUES ('vip', 7, '2026-12-01 10:00:00', {left})")
    try:
        upgrade(engine, "0021")
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text(stay.format(left="'2026-12-02 10:00:00'")))
            conn.execute(text(stay.format(left="NULL")))  # left, then entered again: history kept
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(stay.format(left="NULL")))  # a second current stay
        command.downgrade(alembic_config(engine), "0021")
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert not tables & {"segment_members", "segment_dirty", "segment_evaluations"}


def test_audience_tables_arrive_with_0023_and_leave_with_its_downgrade(fresh_database_url):
    """0023 adds ``audiences`` and ``audience_members`` (one row per destination, segment and contact); its
    downgrade drops both."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    row = text("INSERT INTO audience_members (destination, segment, contact_id, keys, state, attempts) "
               "VALUES ('meta-lapsed', 'lapsed', 7, '{\"em\": \"ab12\"}', 'added', 0)")
    try:
        upgrade(engine, "0022")
        with engine.connect() as conn:
            absent = {"audiences", "audience_members"}.isdisjoint(inspect(conn).get_table_names())
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(row)  # one row per (destination, segment, contact)
        command.downgrade(alembic_config(engine), "0022")
        with engine.connect() as conn:
            gone = {"audiences", "audience_members"}.isdisjoint(inspect(conn).get_table_names())
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert absent and gone


def test_privacy_tables_arrive_with_0024_and_leave_with_its_downgrade(fresh_database_url):
    """0024 adds ``deliveries.policy``, ``suppressions`` (one row per digest), ``privacy_keys`` and ``erasures``;
    its downgrade removes them all."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from sync.store.engine import alembic_config, make_engine

    engine = make_engine(fresh_database_url)
    row = text("INSERT INTO suppressions (digest, kind, created_at) VALUES ('ab12', 'email', '2026-12-07 10:00:00')")
    new = {"suppressions", "privacy_keys", "erasures"}
    try:
        upgrade(engine, "0023")
        with engine.connect() as conn:
            absent = new.isdisjoint(inspect(conn).get_table_names())
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(row)
            columns = {c["name"] for c in inspect(conn).get_columns("deliveries")}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(row)  # one row per digest
        command.downgrade(alembic_config(engine), "0023")
        with engine.connect() as conn:
            gone = new.isdisjoint(inspect(conn).get_table_names())
            after = {c["name"] for c in inspect(conn).get_columns("deliveries")}
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(_context(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert absent and gone and "policy" in columns and "policy" not in after
