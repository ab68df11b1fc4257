"""privacy: the policy a delivery went out under, suppressions of erased people, the erasure log

``deliveries.policy``: which consent/region policy applied when the item was sent
(``send``, ``restricted``, ``strip``, ``drop``; None for rows written before privacy
policies existed). ``suppressions``: one salted hash per identifier of a forgotten person,
so a source re-sending them does not recreate a sendable contact; no personal data.
``privacy_keys``: the installation's random salt (generated on first use). ``erasures``:
one row per ``contacts forget`` — who asked, when, what was deleted (counts) and the state
of any upstream deletion requests; never the person's values. Written by ``sync.privacy``.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deliveries', sa.Column('policy', sa.String(length=16), nullable=True))
    op.create_table('suppressions',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('erasure_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    op.create_table('privacy_keys',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('erasures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('upstream', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('erasures')
    op.drop_table('privacy_keys')
    op.drop_table('suppressions')
    op.drop_column('deliveries', 'policy')
