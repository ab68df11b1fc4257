"""``RespondioSettings``: one respond.io connection's settings (``LIFESYNC_RESPONDIO_*``), parsed once.

The webhook signing keys (one per webhook, so a list; unset: the endpoint is 404) and the
API token and base URL of write-back. Nothing falls back from a named connection: each is
its own respond.io workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sync.settings import URL, ConnectionSettings, comma_list, setting


@dataclass(frozen=True)
class RespondioSettings(ConnectionSettings):
    """The settings of one respond.io connection (workspace)."""

    platform: ClassVar[str] = "respondio"

    webhook_keys: tuple[str, ...] = setting("LIFESYNC_RESPONDIO_WEBHOOK_KEY", comma_list())
    api_url: str = setting("LIFESYNC_RESPONDIO_API_URL", URL)
    api_token: str | None = setting("LIFESYNC_RESPONDIO_API_TOKEN")
