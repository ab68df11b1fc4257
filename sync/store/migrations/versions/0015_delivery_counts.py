"""delivery_counts: the delivery report's all-time counts, kept by triggers on outbox and deliveries.

Deliveries are written by every dispatcher (``sync.outbox.deliveries.record_attempts``) and
outbox statuses from several places (dispatch, defer, dead-letter replay, moved conversions,
persist), so the counts are kept by triggers, as dead letters' are (0008, 0013): each appends
+1 / -1 rows to ``delivery_counts``, never updating one. On PostgreSQL they are statement
triggers reading the statement's transition tables (a dispatcher's batch of 2,000 deliveries is
counted by a few set statements, summed per key); on SQLite, row triggers.

- a delivery of a ``conversion`` / ``adjustment`` item counts under (kind, its destination, its
  status); a sent conversion also under its click id, its duplicate refusal and each hashed key
  of its response (``sync.reports.delivery``);
- an item no destination answered yet counts under (kind, its destination, its status): from its
  insert, moved on a change of its status or destination; the statement writing its first
  deliveries takes it off, the one deleting its last gives it back;
- an item's delete first deletes its deliveries (a row trigger, before the row goes: the item is
  still there to read their kind from), then takes the item off.

An item's ``kind`` and a delivery's ``outbox_id`` are never changed by the application; a change
of either is not followed for the deliveries already written (``sync.reports.delivery.rebuild_counts``
recounts). Filled here by
that same ``rebuild_counts``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

# ruff: noqa: S608 - SQL built from this file's own table and column names only
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

KINDS = "('conversion', 'adjustment')"
INTO = "INSERT INTO delivery_counts (part, destination, value, n)"


def _deliveries(dialect: str, *sources: tuple[str, int]) -> str:
    """The rows the deliveries of each (``source`` r, ``n``) count, summed per key: each delivery of a
    conversion or adjustment under its status; a sent conversion's click id, duplicate refusal and keys.
    """
    parts = []
    for source, n in sources:
        rows = f"FROM {source} JOIN outbox o ON o.id = r.outbox_id"
        sent = "o.kind = 'conversion' AND r.status = 'sent'"
        if dialect == "postgresql":
            click, held = "(r.response ->> 'click_id')", "(r.response ->> 'duplicate') = 'true'"
            keys = ("json_array_elements_text(CASE WHEN json_typeof(r.response -> 'keys') = 'array' "
                    "THEN r.response -> 'keys' ELSE '[]'::json END) AS k(value)")
        else:
            click, held = "json_extract(r.response, '$.click_id')", "json_extract(r.response, '$.duplicate') = 1"
            keys = ("json_each(CASE WHEN json_type(r.response, '$.keys') = 'array' "
                    "THEN json_extract(r.response, '$.keys') ELSE '[]' END) AS k")
        parts += [f"SELECT o.kind AS part, r.destination AS destination, r.status AS value, {n} AS n {rows} "
                  f"WHERE o.kind IN {KINDS}",
                  f"SELECT 'click', r.destination, {click}, {n} {rows} WHERE {sent} AND {click} <> ''",
                  f"SELECT 'held', r.destination, '', {n} {rows} WHERE {sent} AND {held}",
                  f"SELECT 'key', r.destination, k.value, {n} {rows} CROSS JOIN {keys} WHERE {sent} AND k.value <> ''"]
    return _summed(" UNION ALL ".join(parts))


def _summed(rows: str) -> str:
    return (f"{INTO} SELECT part, destination, value, sum(n) FROM ({rows}) c "
            "GROUP BY part, destination, value HAVING sum(n) <> 0;")


def _items(*sources: tuple[str, int]) -> str:
    """Outbox items (of each ``source`` r, counted ``n``) no destination answered, under their own status."""
    return _summed(" UNION ALL ".join(
        f"SELECT r.kind AS part, r.destination AS destination, r.status AS value, {n} AS n FROM {source} "
        f"WHERE r.kind IN {KINDS} AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.outbox_id = r.id)"
        for source, n in sources))


def _answered(source: str, n: int) -> str:
    """The items of the deliveries of ``source`` (r) no other delivery answered, under their own status."""
    return _summed(f"SELECT o.kind AS part, o.destination, o.status AS value, {n} AS n FROM outbox o "
                   f"WHERE o.id IN (SELECT r.outbox_id FROM {source}) AND o.kind IN {KINDS} "
                   f"AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.outbox_id = o.id "
                   f"AND x.id NOT IN (SELECT r.id FROM {source}))")


ITEM_COLUMNS = ("kind", "destination", "status")
DELIVERY_COLUMNS = ("destination", "status", "response")
TABLES = ("outbox", "deliveries")


def _changed(columns: tuple[str, ...], distinct: str, text: str) -> str:
    return " OR ".join(f"OLD.{c}{text} {distinct} NEW.{c}{text}" if c == "response" else
                       f"OLD.{c} {distinct} NEW.{c}" for c in columns)


def _row(row: str, columns: tuple[str, ...]) -> str:
    """SQLite: the row ``row`` (OLD / NEW) as a one-row source ``r``."""
    return f"(SELECT {', '.join(f'{row}.{c} AS {c}' for c in ('id', *columns))}) r"


def _updated(table: str, columns: tuple[str, ...]) -> tuple[str, str]:
    """PostgreSQL: the old and new versions (``r``) of the rows an update of ``table`` changed."""
    changed = " OR ".join(f"o.{c}::text IS DISTINCT FROM n.{c}::text" for c in columns)
    ids = f"(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed})"
    return (f"(SELECT * FROM old_rows WHERE id IN {ids}) r", f"(SELECT * FROM new_rows WHERE id IN {ids}) r")


def _triggers(dialect: str) -> list[str]:
    """Each row trigger (SQLite) or statement trigger with its transition tables (PostgreSQL: a
    batch of deliveries is counted in a few set statements); an item's delete, before the row goes.
    """
    item_delete = f"DELETE FROM deliveries WHERE outbox_id = OLD.id; {_items((_row('OLD', ITEM_COLUMNS), -1))}"
    if dialect != "postgresql":
        delivery_columns = ("outbox_id", *DELIVERY_COLUMNS)
        new_item, old_item = _row("NEW", ITEM_COLUMNS), _row("OLD", ITEM_COLUMNS)
        new, old = _row("NEW", delivery_columns), _row("OLD", delivery_columns)
        return [f"CREATE TRIGGER outbox_counted AFTER INSERT ON outbox BEGIN {_items((new_item, 1))} END",
                f"CREATE TRIGGER outbox_recounted AFTER UPDATE OF {', '.join(ITEM_COLUMNS)} ON outbox "
                f"WHEN {_changed(ITEM_COLUMNS, 'IS NOT', '')} BEGIN {_items((old_item, -1), (new_item, 1))} END",
                f"CREATE TRIGGER outbox_uncounted BEFORE DELETE ON outbox BEGIN {item_delete} END",
                f"CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN "
                f"{_deliveries(dialect, (new, 1))} {_answered(new, -1)} END",
                f"CREATE TRIGGER deliveries_recounted AFTER UPDATE OF {', '.join(DELIVERY_COLUMNS)} ON deliveries "
                f"WHEN {_changed(DELIVERY_COLUMNS, 'IS NOT', '')} "
                f"BEGIN {_deliveries(dialect, (old, -1), (new, 1))} END",
                f"CREATE TRIGGER deliveries_uncounted AFTER DELETE ON deliveries BEGIN "
                f"{_deliveries(dialect, (old, -1))} {_answered(old, 1)} END"]
    old_items, new_items = _updated("outbox", ITEM_COLUMNS)
    old, new = _updated("deliveries", DELIVERY_COLUMNS)
    bodies = {"outbox": (_items(("new_rows r", 1)), _items((old_items, -1), (new_items, 1)), None),
              "deliveries": (f"{_deliveries(dialect, ('new_rows r', 1))} {_answered('new_rows r', -1)}",
                             _deliveries(dialect, (old, -1), (new, 1)),
                             f"{_deliveries(dialect, ('old_rows r', -1))} {_answered('old_rows r', 1)}")}
    statements = [f"""CREATE FUNCTION outbox_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {item_delete}
    RETURN OLD;
END $$""", "CREATE TRIGGER outbox_uncounted BEFORE DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_uncounted()"]
    for table in TABLES:
        insert, update, delete = bodies[table]
        statements += [f"""CREATE FUNCTION {table}_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {insert}
    ELSIF TG_OP = 'UPDATE' THEN {update}
    {f"ELSE {delete}" if delete else ""}
    END IF;
    RETURN NULL;
END $$"""]
        for event, name, tables in (("INSERT", "counted", "NEW TABLE AS new_rows"),
                                    ("UPDATE", "recounted", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                    ("DELETE", "uncounted", "OLD TABLE AS old_rows")):
            if event != "DELETE" or delete:
                statements.append(f"CREATE TRIGGER {table}_{name} AFTER {event} ON {table} REFERENCING {tables} "
                                  f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_counted()")
    return statements


def upgrade() -> None:
    op.create_table('delivery_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('part', sa.String(length=16), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_delivery_counts_key', 'delivery_counts', ['part', 'destination', 'value', 'n'], unique=False)
    op.create_index('ix_delivery_counts_pending', 'delivery_counts', ['id'], unique=False,
                    postgresql_where=sa.text('pending'), sqlite_where=sa.text('pending'))
    dialect = op.get_bind().dialect.name
    for statement in _triggers(dialect):
        op.execute(statement)
    if dialect == "postgresql":  # writers wait until the fill below commits
        op.execute("LOCK TABLE outbox, deliveries IN SHARE ROW EXCLUSIVE MODE")
    from sync.reports.delivery import rebuild_counts  # the direct computation, stored

    rebuild_counts(Session(bind=op.get_bind()))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for name in ("counted", "recounted", "uncounted"):
            op.execute(f"DROP TRIGGER {table}_{name} ON {table}" if dialect == "postgresql"
                       else f"DROP TRIGGER {table}_{name}")
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION {table}_counted()")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION outbox_uncounted()")
    op.drop_table('delivery_counts')
