"""OAuth tokens at rest: encrypted with Fernet, one row per (system, connection).

Connectors refresh access tokens and some vendors rotate refresh tokens; the newest ones must
survive a restart or the connection is lost. They are stored encrypted with the key in
``LIFESYNC_SECRET_KEY`` (a Fernet key); without it, on the embedded SQLite default, a key file
``lifesync.key`` (mode 0600) is created in the working directory beside the database, so a bare
machine works. With PostgreSQL the key must be set: web, workers and scheduler are separate
processes, possibly on separate machines, and must all read the same key. A row that no
longer decrypts (the key changed) reads as absent, with a warning: the connector then falls
back to the credentials in its settings.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken

from sync.errors import SettingsError
from sync.settings import Settings
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import upsert

log = logging.getLogger(__name__)

KEY_FILE = "lifesync.key"


class TokenStore(Protocol):
    """Where a connector keeps tokens it obtained."""

    def load(self, system: str, connection: str) -> dict[str, Any] | None:
        """The stored tokens, or None."""

    def save(self, system: str, connection: str, data: dict[str, Any]) -> None:
        """Replace the stored tokens."""


def fernet_key(settings: Settings, key_dir: Path | None = None) -> bytes:
    """The encryption key: ``LIFESYNC_SECRET_KEY``, else a key file created on first use."""
    configured = settings.connection_setting("secret", "key")
    if configured:
        try:
            Fernet(configured.encode())
        except ValueError:
            raise SettingsError("LIFESYNC_SECRET_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                                "make one with: python -c 'from cryptography.fernet import Fernet; "
                                "print(Fernet.generate_key().decode())'") from None
        return configured.encode()
    if settings.database_url.startswith("postgresql"):
        raise SettingsError("LIFESYNC_SECRET_KEY must be set with PostgreSQL (every process must encrypt and read "
                            "stored OAuth tokens with the same key); make one with: python -c 'from "
                            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
    path = (key_dir or Path.cwd()) / KEY_FILE
    if not path.exists():
        # written whole to a private temporary file, then linked into place: a second process either
        # finds no file or the complete key, never an empty one
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        try:
            os.link(tmp, path)
            log.info("created %s to encrypt stored OAuth tokens (set LIFESYNC_SECRET_KEY to use your own key)", path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise SettingsError(f"{path} does not hold a Fernet key; delete it (stored OAuth tokens are then "
                            "re-obtained from the settings) or set LIFESYNC_SECRET_KEY") from None
    return key


class DatabaseTokenStore:
    """``TokenStore`` on the ``credentials`` table."""

    def __init__(self, store: Store, key: bytes):
        self.store, self._fernet = store, Fernet(key)

    def __repr__(self) -> str:
        return "DatabaseTokenStore()"  # never the key

    def load(self, system: str, connection: str) -> dict[str, Any] | None:
        """The tokens stored for (system, connection), decrypted; None when absent or unreadable."""
        with self.store.transaction() as session:
            row = session.get(model.Credential, (system, connection))
            secret = None if row is None else row.secret
        if secret is None:
            return None
        try:
            return json.loads(self._fernet.decrypt(secret))
        except InvalidToken:
            log.warning("stored tokens of %s connection %r do not decrypt with the current key; ignoring them",
                        system, connection)
            return None

    def save(self, system: str, connection: str, data: dict[str, Any]) -> None:
        """Encrypt and store ``data`` for (system, connection), replacing what was there."""
        secret = self._fernet.encrypt(json.dumps(data, sort_keys=True).encode())
        with self.store.transaction() as session:
            upsert(session, model.Credential,
                   [{"system": system, "connection": connection, "secret": secret, "updated_at": model.utcnow()}],
                   ["system", "connection"], ["secret", "updated_at"])


def token_store(store: Store, settings: Settings) -> DatabaseTokenStore:
    """The token store of this process's database and key."""
    return DatabaseTokenStore(store, fernet_key(settings))
