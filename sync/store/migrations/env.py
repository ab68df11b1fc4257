"""Alembic environment: runs against the engine lifesync hands over (never a URL in a file)."""

from alembic import context
from sqlalchemy import text

from sync.store.model import Base, include_object

# PostgreSQL advisory lock key ("lifesync" in ASCII) held while migrating
MIGRATION_LOCK = 0x6C69666573796E63

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # processes that start together (gunicorn and rq workers on a fresh database) migrate one
        # after another, and each next one finds the schema at head; SQLite's BEGIN IMMEDIATE
        # (sync.store.engine) already serialises them
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    context.run_migrations()
