"""Rotated OAuth tokens at rest: encrypted, readable back with the same key, never with another."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from sync.errors import SettingsError
from sync.settings import Settings
from sync.store import model
from sync.store.credentials import DatabaseTokenStore, fernet_key, token_store

TOKENS = {"access_token": "00Dxx!AQ4AQ.secret-access", "refresh_token": "5Aep861-secret-refresh",
          "instance_url": "https://acme.my.salesforce.com"}


def test_tokens_are_stored_encrypted_and_read_back(store):
    tokens = DatabaseTokenStore(store, Fernet.generate_key())
    assert tokens.load("salesforce", "default") is None
    tokens.save("salesforce", "default", TOKENS)
    assert tokens.load("salesforce", "default") == TOKENS
    assert tokens.load("salesforce", "emea") is None and tokens.load("hubspot", "default") is None
    with store.transaction() as s:
        raw = s.scalar(select(model.Credential.secret))
    assert b"secret-refresh" not in raw and b"secret-access" not in raw
    tokens.save("salesforce", "default", {**TOKENS, "refresh_token": "rotated"})  # replaced, not added
    assert tokens.load("salesforce", "default")["refresh_token"] == "rotated"
    assert "secret" not in repr(tokens)


def test_tokens_written_with_another_key_read_as_absent(store, caplog):
    DatabaseTokenStore(store, Fernet.generate_key()).save("hubspot", "default", TOKENS)
    assert DatabaseTokenStore(store, Fernet.generate_key()).load("hubspot", "default") is None
    assert "do not decrypt" in caplog.text and "secret" not in caplog.text


def test_the_key_comes_from_the_environment_or_a_private_key_file(tmp_path):
    key = Fernet.generate_key().decode()
    assert fernet_key(Settings.from_env({"LIFESYNC_SECRET_KEY": key}), tmp_path) == key.encode()
    assert not (tmp_path / "lifesync.key").exists()
    made = fernet_key(Settings.from_env({}), tmp_path)
    path = tmp_path / "lifesync.key"
    assert path.read_bytes().strip() == made and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fernet_key(Settings.from_env({}), tmp_path) == made  # the same key on the next start
    with pytest.raises(SettingsError, match="Fernet key"):
        fernet_key(Settings.from_env({"LIFESYNC_SECRET_KEY": "not-a-key"}), tmp_path)


def test_token_store_of_settings_round_trips(store):
    settings = Settings.from_env({"LIFESYNC_SECRET_KEY": Fernet.generate_key().decode()})
    token_store(store, settings).save("hubspot", "salon2", {"refresh_token": "r"})
    assert token_store(store, settings).load("hubspot", "salon2") == {"refresh_token": "r"}


def test_postgresql_deployments_must_share_a_configured_key(tmp_path):
    with pytest.raises(SettingsError, match="LIFESYNC_SECRET_KEY must be set with PostgreSQL"):
        fernet_key(Settings.from_env({"DATABASE_URL": "postgresql://u@db/lifesync"}), tmp_path)
    (tmp_path / "lifesync.key").write_bytes(b"")  # e.g. a crash left it empty
    with pytest.raises(SettingsError, match="does not hold a Fernet key"):
        fernet_key(Settings.from_env({}), tmp_path)
