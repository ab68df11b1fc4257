"""sync_runs: one row per CRM sync run; indexes for connection health (last webhook, last delivery)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sync_runs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=32), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('records_in', sa.Integer(), nullable=False),
    sa.Column('records_out', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('api_calls', sa.Integer(), nullable=False),
    sa.Column('rate_limit_waits', sa.Integer(), nullable=False),
    sa.Column('rate_limit_seconds', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sync_runs_started_at'), 'sync_runs', ['started_at'], unique=False)
    op.create_index('ix_sync_runs_connection', 'sync_runs', ['system', 'connection', 'started_at'], unique=False)
    op.create_index('ix_raw_events_receiver', 'raw_events', ['source', 'connection', 'received_at'], unique=False)
    op.create_index('ix_deliveries_destination', 'deliveries', ['destination', 'updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_destination', table_name='deliveries')
    op.drop_index('ix_raw_events_receiver', table_name='raw_events')
    op.drop_index('ix_sync_runs_connection', table_name='sync_runs')
    op.drop_index(op.f('ix_sync_runs_started_at'), table_name='sync_runs')
    op.drop_table('sync_runs')
