"""contact search indexes: name and identity prefixes (PostgreSQL), identities by source, outbox by contact

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-07

The prefix indexes use ``text_pattern_ops`` so ``LIKE 'abc%'`` can use them under any
collation; SQLite's LIKE cannot use an expression index, so they are PostgreSQL only.
"""

from alembic import op
import sqlalchemy as sa

from sync.store.model import POSTGRESQL_ONLY_INDEXES

revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None



def upgrade() -> None:
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index('ix_identities_source_contact', ['source', 'contact_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_contact_id'), ['contact_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for name, (table, sql) in POSTGRESQL_ONLY_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON {table} (({sql}) text_pattern_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in POSTGRESQL_ONLY_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_contact_id'))
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index('ix_identities_source_contact')
