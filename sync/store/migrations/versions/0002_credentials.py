"""credentials: encrypted OAuth tokens per (system, connection)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credentials',
    sa.Column('system', sa.String(length=32), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('system', 'connection')
    )


def downgrade() -> None:
    op.drop_table('credentials')
