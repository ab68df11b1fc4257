"""segments: membership stays (entered / left), the queue of contacts changed since, and each segment's last run

``segment_members`` keeps every stay of a contact in a segment (current members: ``left_at``
null, at most one per segment and contact); ``segment_dirty`` is the queue of contacts the
pipeline changed, written in the transaction that changed them; ``segment_evaluations`` holds
each segment's last evaluation. See ``sync.segments.membership``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('segment_members',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('contact_id', _ID, nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_segment_members_current', 'segment_members', ['segment', 'contact_id'], unique=True,
                    postgresql_where=sa.text('left_at IS NULL'), sqlite_where=sa.text('left_at IS NULL'))
    op.create_index('ix_segment_members_entered', 'segment_members', ['segment', 'entered_at'])
    op.create_index('ix_segment_members_left', 'segment_members', ['segment', 'left_at', 'contact_id'])
    op.create_index('ix_segment_members_contact', 'segment_members', ['contact_id'])
    op.create_table('segment_dirty',
    sa.Column('contact_id', _ID, nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('contact_id')
    )
    op.create_table('segment_evaluations',
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('full_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('segment')
    )


def downgrade() -> None:
    op.drop_table('segment_evaluations')
    op.drop_table('segment_dirty')
    op.drop_index('ix_segment_members_contact', table_name='segment_members')
    op.drop_index('ix_segment_members_left', table_name='segment_members')
    op.drop_index('ix_segment_members_entered', table_name='segment_members')
    op.drop_index('uq_segment_members_current', table_name='segment_members')
    op.drop_table('segment_members')
