"""SQLite inbox writers take turns: across threads, across processes, and in a forked child."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from sync.store.sqlite_lock import lock_path, writer_turn


def _hold(database: str, held, release) -> None:  # a child process holding the turn until told
    with writer_turn(database):
        held.set()
        release.wait(30)


def _try_turn(database: str, got) -> None:  # a child process waiting for the turn
    with writer_turn(database):
        got.set()


def test_threads_of_one_process_take_turns(tmp_path):
    database = str(tmp_path / "a.db")
    order = []
    release = threading.Event()

    def second():
        with writer_turn(database):
            order.append("second")

    with writer_turn(database):
        order.append("first")
        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive() and order == ["first"]
        release.set()
    t.join(10)
    assert order == ["first", "second"]
    assert os.path.exists(lock_path(database))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_another_process_holding_the_turn_makes_this_one_wait(tmp_path, method):
    database = str(tmp_path / "b.db")
    with writer_turn(database):  # this process has opened its lock file before a fork
        pass
    ctx = multiprocessing.get_context(method)
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(database, held, release))
    holder.start()
    try:
        assert held.wait(30)
        done = threading.Event()

        def mine():
            with writer_turn(database):
                done.set()

        t = threading.Thread(target=mine)
        t.start()
        t.join(0.5)
        assert not done.is_set()  # the child's turn is not ours (a forked child has its own lock)
        release.set()
        t.join(10)
        assert done.is_set()
    finally:
        release.set()
        holder.join(10)


def test_a_forked_child_waits_for_the_parent_holding_the_turn(tmp_path):
    database = str(tmp_path / "c.db")
    ctx = multiprocessing.get_context("fork")
    got = ctx.Event()
    with writer_turn(database):  # held while forking: the child must not inherit it
        child = ctx.Process(target=_try_turn, args=(database, got))
        child.start()
        assert not got.wait(0.5)
    assert got.wait(10)
    child.join(10)
    assert child.exitcode == 0


def test_an_in_memory_database_needs_no_lock_file(tmp_path):
    assert lock_path(":memory:") is None and lock_path(None) is None
    with writer_turn(":memory:"), writer_turn(":memory:"):  # nested: a lock here would never be released
        entered = True
    assert entered


def test_a_lock_file_that_cannot_be_opened_leaves_only_sqlites_own_lock(tmp_path, caplog):
    folder = tmp_path / "read-only"
    folder.mkdir()
    database = str(folder / "d.db")
    folder.chmod(0o500)  # the lock file cannot be created here
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode: make the path itself unusable instead
            database = str(tmp_path / "missing-dir" / "d.db")
        with caplog.at_level("WARNING"), writer_turn(database):
            entered = True
        assert entered
        assert "cannot open the SQLite writer lock" in caplog.text
        assert not os.path.exists(lock_path(database))
    finally:
        folder.chmod(0o700)


def test_a_relative_database_path_names_the_same_lock_as_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = f"{tmp_path}/lifesync.db-lifesync-lock"
    assert lock_path("lifesync.db") == lock_path(str(tmp_path / "lifesync.db")) == expected
