"""A fresh SQLite file switched to WAL while another process holds it: retried, not 'database is locked'."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from sync.store.engine import _wal


def test_the_switch_to_wal_waits_for_another_connection_to_let_go(tmp_path):
    path = tmp_path / "fresh.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another worker, mid-migration of the new file
    holder.execute("CREATE TABLE t (x)")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    cur = other.cursor()
    _wal(cur)
    assert cur.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    holder.close()
    other.close()


def test_a_lock_that_outlasts_the_retries_is_raised(tmp_path):
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    other = sqlite3.connect(path, isolation_level=None, timeout=0.01)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _wal(other.cursor(), attempts=2)
    holder.execute("ROLLBACK")
    holder.close()
    other.close()
