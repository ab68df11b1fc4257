"""brands: a stage per brand, conversions scoped by brand, tokens limited to brands

``stage_signals``, ``stage_transitions``, ``conversion_events`` and ``touchpoints`` gain ``brand`` (every
existing row: ``default``, the brand of an installation without brands.yaml); a signal is
unique per brand too. ``contact_stages`` holds a contact's stage in each brand other than
the default one (``contacts.stage`` stays the default brand's). ``api_tokens.brands`` limits a
token to some brands (null: every brand). See ``sync.config.brands``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _brand() -> sa.Column:
    return sa.Column('brand', sa.String(length=32), server_default='default', nullable=False)


def upgrade() -> None:
    op.create_table('contact_stages',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=True),
    sa.Column('lost_stage', sa.String(length=64), nullable=True),
    sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('contact_id', 'brand')
    )
    with op.batch_alter_table('contact_stages', schema=None) as batch_op:
        batch_op.create_index('ix_contact_stages_brand_stage', ['brand', 'stage'], unique=False)
    with op.batch_alter_table('stage_signals', schema=None) as batch_op:
        batch_op.add_column(_brand())
        batch_op.drop_constraint('uq_stage_signal', type_='unique')
        batch_op.create_unique_constraint('uq_stage_signal', ['contact_id', 'source', 'kind', 'stage', 'at', 'brand'])
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.add_column(_brand())
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.add_column(_brand())
        batch_op.create_index(batch_op.f('ix_conversion_events_brand'), ['brand'], unique=False)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brands', sa.JSON(), nullable=True))
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(_brand())


def downgrade() -> None:
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_column('brand')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('brands')
    with op.batch_alter_table('conversion_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversion_events_brand'))
        batch_op.drop_column('brand')
    # other brands' funnels go with their brand (conversions stay: they were recorded, maybe sent)
    op.execute("DELETE FROM stage_transitions WHERE brand <> 'default'")
    op.execute("DELETE FROM stage_signals WHERE brand <> 'default'")
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.drop_column('brand')
    with op.batch_alter_table('stage_signals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stage_signal', type_='unique')
        batch_op.create_unique_constraint('uq_stage_signal', ['contact_id', 'source', 'kind', 'stage', 'at'])
        batch_op.drop_column('brand')
    op.drop_table('contact_stages')
