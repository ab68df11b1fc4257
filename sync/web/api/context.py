"""What a route needs from the app: the store, settings, active configuration, and who is asking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g

from sync.access.roles import Principal
from sync.settings import Settings
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config


def store() -> Store:
    """The app's database."""
    return current_app.extensions["lifesync"]["store"]


def settings() -> Settings:
    """The app's settings."""
    return current_app.extensions["lifesync"]["settings"]


def config() -> Config:
    """The active configuration (revisions picked up within seconds: ``sync.config.active``)."""
    from sync.web.app import current_config

    return current_config()


def principal() -> Principal:
    """Who the request acts as (set by ``sync.web.api.auth`` before any route runs)."""
    return g.principal
