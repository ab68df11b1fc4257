"""quality issues carry their record's brand, for the data-quality report to narrow by brand

``quality_issues.brand``: the brand owning the connection the record came through (``sync.config.brands``);
every issue written before this revision belongs to the default brand, which owned every record then.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the server default fills every existing row with the default brand
    op.add_column('quality_issues', sa.Column('brand', sa.String(length=32), server_default='default', nullable=False))


def downgrade() -> None:
    op.drop_column('quality_issues', 'brand')
