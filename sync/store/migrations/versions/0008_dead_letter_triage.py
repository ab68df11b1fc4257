"""dead letters triaged: a reason class to group by (backfilled), dismissal with a note, counts kept by triggers

``dead_letter_counts`` gets a +1 / -1 row from a trigger for every letter inserted, deleted, or
moved between (status, stage, source, reason class): appended, never updated, so writers never
wait on one another; ``sync.ingest.deadletter_counts`` sums and folds them. On SQLite a later
``batch_alter_table('dead_letters')`` that recreates the table drops these triggers: such a
migration must create them again (``_triggers``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from sync.store.reason_class import reason_class


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BACKFILL_PAGE = 10000


def _backfill() -> None:
    """Every existing letter's class, from its reason, a page of ids at a time (one pass of the table)."""
    bind = op.get_bind()
    letters = sa.table('dead_letters', sa.column('id', sa.BigInteger()), sa.column('reason', sa.Text()),
                       sa.column('reason_class', sa.String(255)))
    last = 0
    while True:
        rows = bind.execute(sa.select(letters.c.id, letters.c.reason).where(letters.c.id > last)
                            .order_by(letters.c.id).limit(BACKFILL_PAGE)).all()
        if not rows:
            return
        bind.execute(letters.update().where(letters.c.id == sa.bindparam('b_id'))
                     .values(reason_class=sa.bindparam('b_class')),
                     [{'b_id': i, 'b_class': reason_class(reason)} for i, reason in rows])
        last = rows[-1][0]


KEY = "status, stage, source, reason_class"
CHANGED = ("OLD.status IS DISTINCT FROM NEW.status OR OLD.stage IS DISTINCT FROM NEW.stage OR "
           "OLD.source IS DISTINCT FROM NEW.source OR OLD.reason_class IS DISTINCT FROM NEW.reason_class")


def _counted(row: str, n: int) -> str:
    return (f"INSERT INTO dead_letter_counts ({KEY}, n) "
            f"VALUES ({row}.status, {row}.stage, {row}.source, {row}.reason_class, {n});")


def _triggers(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"""CREATE FUNCTION dead_letters_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {_counted("OLD", -1)} END IF;
    IF TG_OP <> 'DELETE' THEN {_counted("NEW", 1)} END IF;
    RETURN NULL;
END $$""",
                "CREATE TRIGGER dead_letters_counted AFTER INSERT OR DELETE ON dead_letters "
                "FOR EACH ROW EXECUTE FUNCTION dead_letters_counted()",
                f"CREATE TRIGGER dead_letters_recounted AFTER UPDATE OF {KEY} ON dead_letters "
                f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION dead_letters_counted()"]
    return [f"CREATE TRIGGER dead_letters_counted_insert AFTER INSERT ON dead_letters BEGIN {_counted('NEW', 1)} END",
            f"CREATE TRIGGER dead_letters_counted_delete AFTER DELETE ON dead_letters BEGIN {_counted('OLD', -1)} END",
            f"CREATE TRIGGER dead_letters_recounted AFTER UPDATE OF {KEY} ON dead_letters "
            f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} "
            f"BEGIN {_counted('OLD', -1)} {_counted('NEW', 1)} END"]


def upgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_class', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dismissed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    _backfill()
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.alter_column('reason_class', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_index('ix_dead_letters_group', ['status', 'stage', 'source', 'reason_class', 'created_at'],
                              unique=False)
    op.create_table('dead_letter_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('reason_class', sa.String(length=255), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dead_letter_counts_key', 'dead_letter_counts', ['status', 'stage', 'source', 'reason_class', 'n'],
                    unique=False)
    op.execute(f"INSERT INTO dead_letter_counts ({KEY}, n) SELECT {KEY}, count(*) FROM dead_letters GROUP BY {KEY}")
    for statement in _triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER dead_letters_recounted ON dead_letters")
        op.execute("DROP TRIGGER dead_letters_counted ON dead_letters")
        op.execute("DROP FUNCTION dead_letters_counted()")
    else:
        for name in ("dead_letters_counted_insert", "dead_letters_counted_delete", "dead_letters_recounted"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('dead_letter_counts')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_group')
        batch_op.drop_column('note')
        batch_op.drop_column('dismissed_by')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('reason_class')
