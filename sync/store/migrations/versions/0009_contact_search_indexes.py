"""contact search: generated name keys and prefix indexes (PostgreSQL), identities by source, outbox by contact

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``contacts.name_key`` / ``last_name_key`` are generated (stored) columns: on PostgreSQL adding
them rewrites the contacts table once. The prefix indexes (``text_pattern_ops``, covering the
contact id) are PostgreSQL only: SQLite's case-insensitive LIKE cannot use them.
"""

from alembic import op
import sqlalchemy as sa

from sync.store.model import NAME_KEYS_SQL, POSTGRESQL_ONLY_INDEXES

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    keys = NAME_KEYS_SQL['postgresql' if op.get_bind().dialect.name == 'postgresql' else 'sqlite']
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        for column in ('name_key', 'last_name_key'):
            batch_op.add_column(sa.Column(column, sa.Text(), sa.Computed(keys[column], persisted=True), nullable=True))
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index('ix_identities_source_contact', ['source', 'contact_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_contact_id'), ['contact_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for name, (table, column, covered) in POSTGRESQL_ONLY_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON {table} ({column} text_pattern_ops) INCLUDE ({covered})')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in POSTGRESQL_ONLY_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_contact_id'))
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index('ix_identities_source_contact')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('last_name_key')
        batch_op.drop_column('name_key')
