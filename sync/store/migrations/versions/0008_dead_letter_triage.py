"""dead letters triaged: a reason class to group by (backfilled), dismissal with a note

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from sync.store.reason_class import reason_class


revision = '0008'
down_revision = '0005'
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


def downgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_group')
        batch_op.drop_column('note')
        batch_op.drop_column('dismissed_by')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('reason_class')
