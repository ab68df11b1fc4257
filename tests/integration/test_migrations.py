"""The Alembic migrations build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from sync.model import Base
from sync.store import upgrade


def test_migrated_schema_matches_the_models(migrated_store):
    with migrated_store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_upgrade_is_idempotent(migrated_store):
    upgrade(migrated_store.engine)
    tables = set(inspect(migrated_store.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
