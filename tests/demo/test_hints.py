"""The demo's suggested commands: spelled as this installation is called, reading the database the demo filled."""

from __future__ import annotations

import sys

from sync.demo.hints import program, reading
from sync.settings import Settings


def installed(tmp_path, monkeypatch, *, on_path: bool = False):
    """A venv under ``tmp_path`` whose Python runs this process."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "lifesync").write_text("#!/bin/sh\n")
    (bin_dir / "lifesync").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(bin_dir) if on_path else "/nonexistent")
    return bin_dir


def test_program_is_spelled_as_the_readme_runs_it_from_the_checkout(tmp_path, monkeypatch):
    bin_dir = installed(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert program() == ".venv/bin/lifesync"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert program() == str(bin_dir / "lifesync")  # not under the working directory, not on PATH: its full path
    monkeypatch.setenv("PATH", str(bin_dir))
    assert program() == "lifesync"


def test_the_demos_own_file_is_read_with_demo_and_a_given_database_is_named(tmp_path, monkeypatch):
    installed(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    env = Settings.from_env({"DATABASE_URL": "postgresql://app@db.internal/prod"})
    assert reading(None, env)("report funnel") == ".venv/bin/lifesync report funnel --demo"
    same = reading("postgresql+psycopg://app@db.internal/prod", env)  # the environment's own: nothing to add
    assert same("config check") == ".venv/bin/lifesync config check"
    other = reading("sqlite:////tmp/my demo.db", env)("report funnel")
    assert other == "DATABASE_URL='sqlite:////tmp/my demo.db' .venv/bin/lifesync report funnel"
    secret = reading("postgresql://app:s3cret@db.internal/demo", env)("report funnel")
    assert "s3cret" not in secret and secret.startswith("DATABASE_URL='postgresql://app:***@db.internal/demo' ")
