"""Job tests use the `settings` and `redis` fixtures of tests/conftest.py (embedded store and real Redis)."""
