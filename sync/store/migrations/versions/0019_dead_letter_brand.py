"""dead letters carry their record's brand, for a replay to land it in that brand's funnel

``dead_letters.brand``: the brand a record was stamped with when it was dead-lettered (the
brand owning the connection it came through, or a file ingest's brand); null for the default
brand, which is what every letter written before this revision was replayed into.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTERs, no batch: a batch rebuild on SQLite would drop the table's counting triggers (0013)
    op.add_column('dead_letters', sa.Column('brand', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column('dead_letters', 'brand')
