"""canonical lifecycle model

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('conflict_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('winner_source', sa.String(length=32), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conflict_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_log_contact_id'), ['contact_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=True),
    sa.Column('lost_stage', sa.String(length=64), nullable=True),
    sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_lost_stage'), ['lost_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_stage'), ['stage'], unique=False)

    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_status'), ['status'], unique=False)

    op.create_table('merge_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kept_contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merged_contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('via', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merge_log_kept_contact_id'), ['kept_contact_id'], unique=False)

    op.create_table('raw_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('event_key', sa.String(length=255), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'event_key', name='uq_raw_event')
    )
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_events_status'), ['status'], unique=False)

    op.create_table('sync_cursors',
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('connection', 'object')
    )
    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('conversation_id', sa.String(length=255), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('conversation_stats',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('first_inbound_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_outbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'channel', 'conversation_id', name='uq_conversation_stat')
    )
    with op.batch_alter_table('conversation_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_stats_contact_id'), ['contact_id'], unique=False)

    op.create_table('conversion_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('order_id', sa.String(length=255), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversion_events_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversion_events_kind'), ['kind'], unique=False)

    op.create_table('echo_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('origin_source', sa.String(length=32), nullable=False),
    sa.Column('origin_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('system', 'contact_id', 'field', name='uq_echo')
    )
    with op.batch_alter_table('echo_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_echo_records_contact_id'), ['contact_id'], unique=False)

    op.create_table('field_values',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('source_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('contact_id', 'field', 'source')
    )
    op.create_table('identities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'value', name='uq_identity_kind_value')
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_contact_id'), ['contact_id'], unique=False)

    op.create_table('stage_signals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'source', 'kind', 'stage', 'at', name='uq_stage_signal')
    )
    with op.batch_alter_table('stage_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_signals_contact_id'), ['contact_id'], unique=False)

    op.create_table('stage_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=64), nullable=True),
    sa.Column('to_stage', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_transitions_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_transitions_to_stage'), ['to_stage'], unique=False)

    op.create_table('touchpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('network', sa.String(length=32), nullable=True),
    sa.Column('campaign_id', sa.String(length=64), nullable=True),
    sa.Column('adset_id', sa.String(length=64), nullable=True),
    sa.Column('ad_id', sa.String(length=64), nullable=True),
    sa.Column('click_ids', sa.JSON(), nullable=False),
    sa.Column('referral_url', sa.Text(), nullable=True),
    sa.Column('headline', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_touchpoints_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_touchpoints_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_touchpoints_contact_id'), ['contact_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('conversion_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversion_id'], ['conversion_events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_destination'), ['destination'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id', 'destination', name='uq_delivery')
    )
    


def downgrade() -> None:
    
    op.drop_table('deliveries')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_destination'))

    op.drop_table('outbox')
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_touchpoints_contact_id'))
        batch_op.drop_index(batch_op.f('ix_touchpoints_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_touchpoints_ad_id'))

    op.drop_table('touchpoints')
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_transitions_to_stage'))
        batch_op.drop_index(batch_op.f('ix_stage_transitions_contact_id'))

    op.drop_table('stage_transitions')
    with op.batch_alter_table('stage_signals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_signals_contact_id'))

    op.drop_table('stage_signals')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_contact_id'))

    op.drop_table('identities')
    op.drop_table('field_values')
    with op.batch_alter_table('echo_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_echo_records_contact_id'))

    op.drop_table('echo_records')
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversion_events_kind'))
        batch_op.drop_index(batch_op.f('ix_conversion_events_contact_id'))

    op.drop_table('conversion_events')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_activities_contact_id'))

    with op.batch_alter_table('conversation_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_stats_contact_id'))

    op.drop_table('conversation_stats')
    op.drop_table('activities')
    op.drop_table('sync_cursors')
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_events_status'))

    op.drop_table('raw_events')
    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merge_log_kept_contact_id'))

    op.drop_table('merge_log')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_status'))

    op.drop_table('dead_letters')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_stage'))
        batch_op.drop_index(batch_op.f('ix_contacts_lost_stage'))

    op.drop_table('contacts')
    with op.batch_alter_table('conflict_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_log_contact_id'))

    op.drop_table('conflict_log')
    
