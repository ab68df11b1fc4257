"""Shared set-up of the CRM end-to-end tests: sandboxes on loopback, settings pointing at them."""

from __future__ import annotations

import os
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from sync.config import load_config
from sync.crm.run import sync_connection
from sync.settings import Settings
from sync.store import model

CONFIG = load_config(None)
KEY = Fernet.generate_key().decode()


def settings_for(server: Any, database_url: str, **extra: str) -> Settings:
    """Settings for the sandboxes of ``server`` on ``database_url`` (the process env is not touched)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(server.env(), DATABASE_URL=database_url, LIFESYNC_SECRET_KEY=KEY, **extra)
    return Settings.from_env(env)


def run(system: str, settings: Settings, store: Any, **kwargs: Any) -> dict[str, Any]:
    """One ``lifesync sync`` of the default connection (no real sleeping)."""
    kwargs.setdefault("sleep", lambda seconds: None)
    kwargs.setdefault("config", CONFIG)
    return sync_connection(system, "default", settings=settings, store=store, **kwargs)


def count(store: Any, entity: Any, *where: Any) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(entity).where(*where))


def identities(store: Any, kind: str) -> set[str]:
    with store.transaction() as s:
        return set(s.scalars(select(model.Identity.value).where(model.Identity.kind == kind)))
