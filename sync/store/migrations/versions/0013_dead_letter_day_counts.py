"""dead letters counted per UTC day too (``since`` without reading the letters); folds only what changed

``dead_letter_day_counts`` is ``dead_letter_counts`` with the day of the letter's
``created_at``: the counting triggers of 0008 now append a +1 / -1 row to both (and also fire
when a letter's ``created_at`` changes). Both tables get ``pending`` (true on what the triggers
append, false on a folded row) and a partial index of the pending rows, so a fold touches only
the keys that changed — the day table holds a row per group and day, too many to rewrite whole
at every fold. The day table is filled from the existing letters under the triggers' lock.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _previous():
    """Migration 0008 (its triggers, restored on downgrade, and its helpers)."""
    spec = importlib.util.spec_from_file_location("migration_0008", Path(__file__).with_name("0008_dead_letter_triage.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KEY = "status, stage, source, reason_class"
CHANGED = "OLD.created_at IS DISTINCT FROM NEW.created_at"


def _day(dialect: str, row: str) -> str:
    return f"({row}.created_at AT TIME ZONE 'UTC')::date" if dialect == "postgresql" else f"date({row}.created_at)"


def _counted(dialect: str, row: str, n: int) -> str:
    return (f"{_previous()._counted(row, n)} INSERT INTO dead_letter_day_counts ({KEY}, day, n) "
            f"VALUES ({row}.status, {row}.stage, {row}.source, {row}.reason_class, {_day(dialect, row)}, {n});")


def _triggers(dialect: str) -> list[str]:
    changed = f"{_previous().CHANGED} OR {CHANGED}"
    if dialect == "postgresql":
        return [f"""CREATE OR REPLACE FUNCTION dead_letters_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {_counted(dialect, "OLD", -1)} END IF;
    IF TG_OP <> 'DELETE' THEN {_counted(dialect, "NEW", 1)} END IF;
    RETURN NULL;
END $$""",
                "DROP TRIGGER dead_letters_recounted ON dead_letters",
                f"CREATE TRIGGER dead_letters_recounted AFTER UPDATE OF {KEY}, created_at ON dead_letters "
                f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION dead_letters_counted()"]
    return [*(f"DROP TRIGGER {name}" for name in ("dead_letters_counted_insert", "dead_letters_counted_delete",
                                                  "dead_letters_recounted")),
            f"CREATE TRIGGER dead_letters_counted_insert AFTER INSERT ON dead_letters "
            f"BEGIN {_counted(dialect, 'NEW', 1)} END",
            f"CREATE TRIGGER dead_letters_counted_delete AFTER DELETE ON dead_letters "
            f"BEGIN {_counted(dialect, 'OLD', -1)} END",
            f"CREATE TRIGGER dead_letters_recounted AFTER UPDATE OF {KEY}, created_at ON dead_letters "
            f"WHEN {changed.replace('IS DISTINCT FROM', 'IS NOT')} "
            f"BEGIN {_counted(dialect, 'OLD', -1)} {_counted(dialect, 'NEW', 1)} END"]


def _pending_index(table: str) -> None:
    op.create_index(f'ix_{table}_pending', table, ['id'], unique=False, postgresql_where=sa.text('pending'),
                    sqlite_where=sa.text('pending'))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column('dead_letter_counts', sa.Column('pending', sa.Boolean(), server_default=sa.true(), nullable=False))
    _pending_index('dead_letter_counts')
    op.create_table('dead_letter_day_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('reason_class', sa.String(length=255), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dead_letter_day_counts_key', 'dead_letter_day_counts',
                    ['status', 'day', 'stage', 'source', 'reason_class', 'n'], unique=False)
    _pending_index('dead_letter_day_counts')
    for statement in _triggers(dialect):  # first: their lock holds writers off until the fill below commits
        op.execute(statement)
    day = _day(dialect, "dead_letters")
    op.execute(f"INSERT INTO dead_letter_day_counts ({KEY}, day, n, pending) "
               f"SELECT {KEY}, {day}, count(*), false FROM dead_letters GROUP BY {KEY}, {day}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER dead_letters_recounted ON dead_letters")
        op.execute("DROP FUNCTION dead_letters_counted() CASCADE")
    else:
        for name in ("dead_letters_counted_insert", "dead_letters_counted_delete", "dead_letters_recounted"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('dead_letter_day_counts')
    op.drop_index('ix_dead_letter_counts_pending', table_name='dead_letter_counts')
    with op.batch_alter_table('dead_letter_counts', schema=None) as batch_op:  # SQLite: recreated, no trigger naming it
        batch_op.drop_column('pending')
    for statement in _previous()._triggers(dialect):
        op.execute(statement)
