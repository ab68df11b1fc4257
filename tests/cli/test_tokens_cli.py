"""``lifesync tokens create|list|revoke`` and ``lifesync audit``: the shell bootstraps the first admin."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sync.access.tokens import authenticate
from sync.cli.main import main


def test_create_list_revoke_and_audit(store, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    created = runner.invoke(main, ["tokens", "create", "--name", "first admin", "--role", "admin",
                                   "--expires-in-days", "30"])
    assert created.exit_code == 0, created.output
    value = created.stdout.strip().splitlines()[-1]
    who = authenticate(store, value, None)
    assert who is not None and (who.name, who.role) == ("first admin", "admin")

    listed = json.loads(runner.invoke(main, ["tokens", "list", "--json"]).stdout)
    assert [(t["name"], t["state"]) for t in listed] == [("first admin", "active")]
    assert value not in runner.invoke(main, ["tokens", "list"]).stdout

    revoked = runner.invoke(main, ["tokens", "revoke", str(listed[0]["id"])])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert authenticate(store, value, None) is None

    log = json.loads(runner.invoke(main, ["audit", "--json"]).stdout)
    assert [e["action"] for e in log] == ["token.revoke", "token.create"]
    assert all(e["actor"].startswith("cli:") and e["via"] == "cli" for e in log)


def test_unknown_token_and_bad_role_are_clear_errors(store, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    from sync.cli.main import run

    res = CliRunner().invoke(main, ["tokens", "create", "--name", "x", "--role", "root"])
    assert res.exit_code == 2 and "root" in res.output
    monkeypatch.setattr("sys.argv", ["lifesync", "tokens", "revoke", "777"])
    with pytest.raises(SystemExit) as exited:
        run()
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "no token with id 777" in err and "Traceback" not in err
    monkeypatch.setattr("sys.argv", ["lifesync", "tokens", "create", "--name", "bad\nname", "--role", "viewer"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 1 and "name" in capsys.readouterr().err
