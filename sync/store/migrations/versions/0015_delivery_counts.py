"""delivery_counts: the delivery report's all-time counts, kept by triggers on outbox and deliveries.

Deliveries are written by every dispatcher (``sync.outbox.deliveries.record_attempts``) and
outbox statuses from several places (dispatch, defer, dead-letter replay, moved conversions,
persist), so the counts are kept by triggers, as dead letters' are (0008, 0013): each appends
+1 / -1 rows to ``delivery_counts``, never updating one.

- a delivery of a ``conversion`` / ``adjustment`` item counts under (kind, its destination, its
  status); a sent conversion also under its click id, its duplicate refusal and each hashed key
  of its response (``sync.reports.delivery``);
- an item no destination answered yet counts under (kind, its destination, its status): on its
  insert, on a change of its status or destination, and back when its last delivery is deleted;
  its first delivery (the lowest id) takes it off;
- deletes are counted before the row goes (an item's deliveries are deleted first by its
  trigger, so the item is still there to read their kind from).

An item's ``kind`` and a delivery's ``outbox_id`` are never changed by the application; a change
of either is not followed (``sync.reports.delivery_counts.rebuild`` recounts). Filled here by
that same ``rebuild``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

KINDS = "('conversion', 'adjustment')"
INTO = "INSERT INTO delivery_counts (part, destination, value, n)"


def _delivery(dialect: str, row: str, n: int) -> str:
    """The rows one delivery ``row`` (OLD / NEW) of a conversion or adjustment counts, each ``n``."""
    item = f"FROM outbox o WHERE o.id = {row}.outbox_id"
    sent = f"o.kind = 'conversion' AND {row}.status = 'sent'"
    if dialect == "postgresql":
        click = f"({row}.response ->> 'click_id')"
        held = f"({row}.response ->> 'duplicate') = 'true'"
        keys = (f"json_array_elements_text(CASE WHEN json_typeof({row}.response -> 'keys') = 'array' "
                f"THEN {row}.response -> 'keys' ELSE '[]'::json END) AS k(value)")
    else:
        click = f"json_extract({row}.response, '$.click_id')"
        held = f"json_extract({row}.response, '$.duplicate') = 1"
        keys = (f"json_each(CASE WHEN json_type({row}.response, '$.keys') = 'array' "
                f"THEN json_extract({row}.response, '$.keys') ELSE '[]' END) AS k")
    return (f"{INTO} SELECT o.kind, {row}.destination, {row}.status, {n} {item} AND o.kind IN {KINDS} "  # noqa: S608 - our names
            f"UNION ALL SELECT 'click', {row}.destination, {click}, {n} {item} AND {sent} AND {click} <> '' "
            f"UNION ALL SELECT 'held', {row}.destination, '', {n} {item} AND {sent} AND {held} "
            f"UNION ALL SELECT 'key', {row}.destination, k.value, {n} FROM outbox o, {keys} "
            f"WHERE o.id = {row}.outbox_id AND {sent} AND k.value <> '';")


def _item(row: str, n: int) -> str:
    """An outbox item ``row`` no destination answered, counted ``n`` under its own status."""
    return (f"{INTO} SELECT {row}.kind, {row}.destination, {row}.status, {n} WHERE {row}.kind IN {KINDS} "  # noqa: S608 - our names
            f"AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.outbox_id = {row}.id);")


def _answered(row: str, n: int, others: str) -> str:
    """The item of delivery ``row`` counted ``n`` under its own status when no ``others`` delivery of it exists."""
    return (f"{INTO} SELECT o.kind, o.destination, o.status, {n} FROM outbox o WHERE o.id = {row}.outbox_id "  # noqa: S608 - our names
            f"AND o.kind IN {KINDS} AND NOT EXISTS (SELECT 1 FROM deliveries x "
            f"WHERE x.outbox_id = {row}.outbox_id AND {others});")


FIRST = "x.id < NEW.id"  # an inserted delivery takes its item off unless a lower-id one did
LAST = "x.id <> OLD.id"  # a deleted delivery gives it back when no other is left
ITEM_COLUMNS = "kind, destination, status"
DELIVERY_COLUMNS = "destination, status, response"
TABLES = ("outbox", "deliveries")


def _changed(columns: str, distinct: str, text: str) -> str:
    return " OR ".join(f"OLD.{c}{text} {distinct} NEW.{c}{text}" if c == "response" else
                       f"OLD.{c} {distinct} NEW.{c}" for c in columns.split(", "))


def _triggers(dialect: str) -> list[str]:
    item_update = f"{_item('OLD', -1)} {_item('NEW', 1)}"
    item_delete = f"DELETE FROM deliveries WHERE outbox_id = OLD.id; {_item('OLD', -1)}"  # noqa: S608
    delivery_insert = f"{_delivery(dialect, 'NEW', 1)} {_answered('NEW', -1, FIRST)}"
    delivery_update = f"{_delivery(dialect, 'OLD', -1)} {_delivery(dialect, 'NEW', 1)}"
    delivery_delete = f"{_delivery(dialect, 'OLD', -1)} {_answered('OLD', 1, LAST)}"
    bodies = {"outbox": (_item("NEW", 1), item_update, item_delete),
              "deliveries": (delivery_insert, delivery_update, delivery_delete)}
    columns = {"outbox": ITEM_COLUMNS, "deliveries": DELIVERY_COLUMNS}
    statements = []
    for table in TABLES:
        insert, update, delete = bodies[table]
        if dialect == "postgresql":
            statements += [
                f"""CREATE FUNCTION {table}_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {insert}
    ELSIF TG_OP = 'UPDATE' THEN {update}
    ELSE {delete} RETURN OLD;
    END IF;
    RETURN NULL;
END $$""",
                f"CREATE TRIGGER {table}_counted AFTER INSERT ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION {table}_counted()",
                f"CREATE TRIGGER {table}_recounted AFTER UPDATE OF {columns[table]} ON {table} FOR EACH ROW "
                f"WHEN ({_changed(columns[table], 'IS DISTINCT FROM', '::text')}) EXECUTE FUNCTION {table}_counted()",
                f"CREATE TRIGGER {table}_uncounted BEFORE DELETE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION {table}_counted()"]
        else:
            statements += [
                f"CREATE TRIGGER {table}_counted AFTER INSERT ON {table} BEGIN {insert} END",
                f"CREATE TRIGGER {table}_recounted AFTER UPDATE OF {columns[table]} ON {table} "
                f"WHEN {_changed(columns[table], 'IS NOT', '')} BEGIN {update} END",
                f"CREATE TRIGGER {table}_uncounted BEFORE DELETE ON {table} BEGIN {delete} END"]
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
    from sync.reports.delivery_counts import rebuild  # the direct computation, stored

    rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for name in ("counted", "recounted", "uncounted"):
            op.execute(f"DROP TRIGGER {table}_{name} ON {table}" if dialect == "postgresql"
                       else f"DROP TRIGGER {table}_{name}")
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION {table}_counted()")
    op.drop_table('delivery_counts')
