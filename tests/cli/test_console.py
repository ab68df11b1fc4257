"""``lifesync console``: a fresh admin token printed once with the console's address, then serve's code path."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from sync.access.tokens import authenticate
from sync.cli.main import main
from sync.demo.run import DEMO_DB
from sync.settings import Settings
from sync.store.engine import open_store

TOKEN = re.compile(r"lsk_[a-z2-7]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def served(monkeypatch) -> list[tuple[Settings, str, int]]:
    """What `lifesync serve`'s code path was asked to serve (nothing is served)."""
    calls: list[tuple[Settings, str, int]] = []
    monkeypatch.setattr("sync.cli.serving.serve",
                        lambda settings, host, port, *workers: calls.append((settings, host, port)))
    return calls


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LIFESYNC_OPS_TOKEN", raising=False)


def printed_token(output: str) -> str:
    [token] = TOKEN.findall(output)  # exactly once
    assert output.count(token) == 1
    return token


def test_console_creates_an_admin_token_prints_it_once_with_the_address_and_serves(store, env, served):
    res = CliRunner().invoke(main, ["console", "--port", "8123"])
    assert res.exit_code == 0, res.output
    token = printed_token(res.output)
    who = authenticate(store, token, None)
    assert who is not None and who.role == "admin" and who.name.startswith("console-")
    assert "http://127.0.0.1:8123/console/" in res.output and "shown only now" in res.output
    [(settings, host, port)] = served
    assert (settings.database_url, host, port) == (Settings.from_env().database_url, "127.0.0.1", 8123)

    again = CliRunner().invoke(main, ["console", "--host", "0.0.0.0"])  # each run: a new token, serve's default port
    assert again.exit_code == 0, again.output
    assert printed_token(again.output) != token and authenticate(store, printed_token(again.output), None)
    assert "http://0.0.0.0:8000/console/" in again.output and served[1][1:] == ("0.0.0.0", 8000)


def test_console_demo_uses_the_demos_database_and_refuses_without_one(store, env, served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # the demo's world has none: never used with --demo
    res = CliRunner().invoke(main, ["console", "--demo"])
    assert res.exit_code == 1 and f"no demo database here ({tmp_path / DEMO_DB})" in res.output
    assert "lifesync demo` writes it" in res.output and not served and not TOKEN.search(res.output)

    demo = open_store(f"sqlite:///{tmp_path / DEMO_DB}")  # as `lifesync demo` leaves it (the console needs no rows)
    try:
        res = CliRunner().invoke(main, ["console", "--demo"])
        assert res.exit_code == 0, res.output
        token = printed_token(res.output)
        assert authenticate(demo, token, None).role == "admin"
        assert authenticate(store, token, None) is None  # not in DATABASE_URL's database
    finally:
        demo.dispose()
    [(settings, _, _)] = served
    assert settings.database_url == f"sqlite:///{tmp_path / DEMO_DB}" and settings.redis_url is None


def test_serve_goes_through_the_same_entry_point(store, env, served):
    res = CliRunner().invoke(main, ["serve", "--port", "8124"])
    assert res.exit_code == 0, res.output
    assert [(host, port) for _, host, port in served] == [("127.0.0.1", 8124)]
