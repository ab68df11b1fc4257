"""contact search: index contacts.updated_at (``updated_since`` without a scan)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07

Without it, ``updated_since`` walks the primary key when few contacts pass (a time nothing
passes: the whole table, 680 ms at 1M). Its write cost: every contact update changes
``updated_at``, so no contact update is HOT any more (PostgreSQL 15); bench/README.md
(search18) has the steady-state ingest measured with and without.
"""

from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_updated_at'))
