"""funnel_counts: the all-time funnel's per (stage, later stages) contact counts; deliveries' 24 h counts index-only.

``funnel_counts`` is kept by ``sync.ingest.funnel_counts`` where ``sync.ingest.persist``
writes stage transitions, and filled here from the stored transitions (its ``rebuild``).
``ix_deliveries_destination`` gains ``status``: a connection's "last 24 hours" sent / failed
counts are then read from the index alone.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funnel_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stage', 'after', name='uq_funnel_counts')
    )
    from sync.ingest.funnel_counts import rebuild  # the same count the writer keeps

    rebuild(Session(bind=op.get_bind()), branded=False)  # stage_transitions has no brand column before 0018
    op.drop_index('ix_deliveries_destination', table_name='deliveries')
    op.create_index('ix_deliveries_destination', 'deliveries', ['destination', 'updated_at', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_destination', table_name='deliveries')
    op.create_index('ix_deliveries_destination', 'deliveries', ['destination', 'updated_at'], unique=False)
    op.drop_table('funnel_counts')
