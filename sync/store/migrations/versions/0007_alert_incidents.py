"""alert incidents and scheduled-run streaks; indexes that keep /metrics and the alert rules bounded

Revision ID: 0007
Revises: 0006

raw_events (status) and dead_letters (status) become (status, received_at) and
(status, stage, created_at): still every lookup by status, the oldest received event in one
probe, open letters by stage and those opened lately from the index alone. deliveries gets (status, updated_at) and
raw_events processed_at is indexed (events drained lately).
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('alert_incidents',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('open_notified', sa.Boolean(), nullable=False),
    sa.Column('resolve_notified', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.create_index('ix_alert_incidents_open', ['rule', 'subject', 'resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_incidents_opened_at'), ['opened_at'], unique=False)
    op.create_table('scheduled_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=64), nullable=False),
    sa.Column('failures_in_row', sa.Integer(), nullable=False),
    sa.Column('last_outcome', sa.String(length=16), nullable=False),
    sa.Column('last_reason', sa.Text(), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_events_status'))
        batch_op.create_index('ix_raw_events_status_received', ['status', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_events_processed_at'), ['processed_at'], unique=False)
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_status'))
        batch_op.create_index('ix_dead_letters_status_stage_created', ['status', 'stage', 'created_at'], unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_status_updated', ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_updated')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_status_stage_created')
        batch_op.create_index(batch_op.f('ix_dead_letters_status'), ['status'], unique=False)
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_events_processed_at'))
        batch_op.drop_index('ix_raw_events_status_received')
        batch_op.create_index(batch_op.f('ix_raw_events_status'), ['status'], unique=False)
    op.drop_table('scheduled_runs')
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_incidents_opened_at'))
        batch_op.drop_index('ix_alert_incidents_open')
    op.drop_table('alert_incidents')
