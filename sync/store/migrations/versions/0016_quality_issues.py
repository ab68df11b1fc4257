"""quality_issues: values a mapping or the lifecycle refused, one row per record, field and reason

Written by ``sync.ingest.persist`` in the transaction of the record they belong to
(``sync.quality.issues``), read by the data-quality report (``sync.quality.report``). Not a
dead letter: the rest of the record landed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('quality_issues',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.String(length=120), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.Column('contact_id', BigId, nullable=True),
    sa.Column('field', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index(op.f('ix_quality_issues_record_id'), 'quality_issues', ['record_id'], unique=False)
    op.create_index(op.f('ix_quality_issues_contact_id'), 'quality_issues', ['contact_id'], unique=False)
    op.create_index(op.f('ix_quality_issues_created_at'), 'quality_issues', ['created_at'], unique=False)
    op.create_index('ix_quality_issues_source_kind', 'quality_issues', ['source', 'kind', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_quality_issues_source_kind', table_name='quality_issues')
    op.drop_index(op.f('ix_quality_issues_created_at'), table_name='quality_issues')
    op.drop_index(op.f('ix_quality_issues_contact_id'), table_name='quality_issues')
    op.drop_index(op.f('ix_quality_issues_record_id'), table_name='quality_issues')
    op.drop_table('quality_issues')
