"""Duplicate review: merge snapshots (for unmerge), who merged on purpose, suspected pairs and dismissals.

``merge_log`` gains ``actor``, ``snapshot`` (what each contact held when they merged),
``unmerged_at`` / ``unmerged_by``; ``duplicate_pairs`` holds the review queue and the pairs
dismissed as "not the same person"; ``ix_conflict_log_rule`` finds blocked merges without a scan.
Merges logged before this migration have no snapshot and cannot be undone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('unmerged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unmerged_by', sa.String(length=120), nullable=True))
    op.create_table('duplicate_pairs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('contact_a', BigId, nullable=False),
    sa.Column('contact_b', BigId, nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dismissed_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_a', 'contact_b', name='uq_duplicate_pair')
    )
    op.create_index('ix_duplicate_pairs_status', 'duplicate_pairs', ['status', 'id'], unique=False)
    op.create_index(op.f('ix_duplicate_pairs_contact_b'), 'duplicate_pairs', ['contact_b'], unique=False)
    op.create_index('ix_conflict_log_rule', 'conflict_log', ['rule', 'contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conflict_log_rule', table_name='conflict_log')
    op.drop_index(op.f('ix_duplicate_pairs_contact_b'), table_name='duplicate_pairs')
    op.drop_index('ix_duplicate_pairs_status', table_name='duplicate_pairs')
    op.drop_table('duplicate_pairs')
    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.drop_column('unmerged_by')
        batch_op.drop_column('unmerged_at')
        batch_op.drop_column('snapshot')
        batch_op.drop_column('actor')
