"""ad_names: ad → ad set and campaign names, as the ad networks answered (or refused)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ad_names',
    sa.Column('network', sa.String(length=32), nullable=False),
    sa.Column('ad_id', sa.String(length=64), nullable=False),
    sa.Column('ad_name', sa.Text(), nullable=True),
    sa.Column('adset_id', sa.String(length=64), nullable=True),
    sa.Column('adset_name', sa.Text(), nullable=True),
    sa.Column('campaign_id', sa.String(length=64), nullable=True),
    sa.Column('campaign_name', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('network', 'ad_id')
    )
    op.create_index(op.f('ix_ad_names_resolved_at'), 'ad_names', ['resolved_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ad_names_resolved_at'), table_name='ad_names')
    op.drop_table('ad_names')
