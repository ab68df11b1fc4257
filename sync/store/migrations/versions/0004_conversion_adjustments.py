"""conversion adjustments: retractions and restatements, and the adjusted state of a conversion

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversion_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('object', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('conversion_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversion_adjustments_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_conversion_adjustments_order', ['order_id', 'kind'], unique=False)
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adjusted_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('adjusted_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('adjusted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_conversion_events_order', ['order_id', 'kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.drop_index('ix_conversion_events_order')
        batch_op.drop_column('retracted_at')
        batch_op.drop_column('adjusted_at')
        batch_op.drop_column('adjusted_currency')
        batch_op.drop_column('adjusted_value')
    with op.batch_alter_table('conversion_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_conversion_adjustments_order')
        batch_op.drop_index(batch_op.f('ix_conversion_adjustments_contact_id'))
    op.drop_table('conversion_adjustments')
