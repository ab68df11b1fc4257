"""Storage: the canonical model's tables, the engine, bulk SQL, migrations, credentials at rest.

- ``model`` — the SQLAlchemy 2 tables of the canonical lifecycle model (DESIGN §2);
- ``engine`` — ``open_store(url)``: engine, sessions, SQLite pragmas, Alembic upgrade;
- ``sql`` — dialect-aware bulk insert / insert-ignore / upsert / update-by-id;
- ``jsontext`` — JSON columns' text; ``planner_stats`` — fresh PostgreSQL statistics in bulk loads;
- ``sqlite_lock`` — the file lock SQLite writers take turns on;
- ``credentials`` — rotated OAuth tokens, Fernet-encrypted;
- ``migrations/`` — Alembic.

May import: ``sync.settings``, ``sync.errors``, ``sync.utc`` — nothing above the store.
"""
