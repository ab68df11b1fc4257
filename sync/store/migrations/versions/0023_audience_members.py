"""audiences and audience_members: what each segment's audience destinations hold

``audiences``: one row per (destination, segment) — the remote id ``ensure`` returned, the
last sync's time, counts and error. ``audience_members``: one row per (destination, segment,
contact) — the keys sent (hashes where the network hashes), the state (added, pending_add,
pending_remove, skipped, failed), attempts and the next attempt's time. Written by
``sync.segments.audiences``.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audiences',
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('brand', sa.String(length=32), server_default='default', nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('remote_id', sa.String(length=255), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('destination', 'segment')
    )
    op.create_table('audience_members',
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('keys', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('operation', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('destination', 'segment', 'contact_id')
    )
    op.create_index('ix_audience_members_state', 'audience_members', ['destination', 'segment', 'state'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_audience_members_state', table_name='audience_members')
    op.drop_table('audience_members')
    op.drop_table('audiences')
