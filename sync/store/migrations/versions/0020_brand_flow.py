"""brands reach conversations and adjustments: activities, first responses and refunds belong to a brand

``activities.brand`` and ``conversation_stats.brand``: the brand owning the connection a message
came through (every existing row: ``default``); a conversation is unique per brand too, so the
same contact writing to two brands' numbers has a first response in each.
``conversion_adjustments.brand``: a refund or cancellation adjusts only its own brand's
conversion of the same kind and order id. See ``sync.config.brands``.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _brand() -> sa.Column:
    return sa.Column('brand', sa.String(length=32), server_default='default', nullable=False)


def upgrade() -> None:
    op.add_column('activities', _brand())
    op.add_column('conversion_adjustments', _brand())
    with op.batch_alter_table('conversation_stats', schema=None) as batch_op:
        batch_op.add_column(_brand())
        batch_op.drop_constraint('uq_conversation_stat', type_='unique')
        batch_op.create_unique_constraint('uq_conversation_stat', ['contact_id', 'channel', 'conversation_id', 'brand'])


def downgrade() -> None:
    # other brands' conversations go with their brand (the key without brand would make them collide)
    op.execute("DELETE FROM conversation_stats WHERE brand <> 'default'")
    with op.batch_alter_table('conversation_stats', schema=None) as batch_op:
        batch_op.drop_constraint('uq_conversation_stat', type_='unique')
        batch_op.create_unique_constraint('uq_conversation_stat', ['contact_id', 'channel', 'conversation_id'])
        batch_op.drop_column('brand')
    op.drop_column('conversion_adjustments', 'brand')
    op.drop_column('activities', 'brand')
