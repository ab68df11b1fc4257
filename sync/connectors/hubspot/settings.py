"""``HubSpotSettings``: one HubSpot connection's settings (``LIFESYNC_HUBSPOT_*``), parsed and validated once.

Credentials belong to one portal (``TOKEN``, ``REFRESH_TOKEN``); what one app or one proxy
shares between portals falls back from a named connection to the default's: the OAuth app
(``OAUTH_CLIENT_ID``, and ``CLIENT_SECRET`` as the app's secret), the API host and version, its
rate and lookback, and the webhook receiver's public URL and accepted signature versions. The webhook
receiver verifies with the connection's own ``CLIENT_SECRET`` (unset: the endpoint is 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sync.connectors.hubspot import endpoints
from sync.connectors.hubspot.webhooks import VERSIONS
from sync.settings import URL, ConnectionSettings, choice, comma_list, integer, setting


@dataclass(frozen=True)
class HubSpotSettings(ConnectionSettings):
    """The settings of one HubSpot connection (portal)."""

    platform: ClassVar[str] = "hubspot"

    token: str | None = setting("LIFESYNC_HUBSPOT_TOKEN")
    refresh_token: str | None = setting("LIFESYNC_HUBSPOT_REFRESH_TOKEN")
    oauth_client_id: str | None = setting("LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID", fallback=True)
    # one variable, two uses: the OAuth app's secret is shared by every portal the app is installed in,
    # while a webhook endpoint is configured only where its own secret is set
    app_client_secret: str | None = setting("LIFESYNC_HUBSPOT_CLIENT_SECRET", fallback=True)
    client_secret: str | None = setting("LIFESYNC_HUBSPOT_CLIENT_SECRET")
    base_url: str = setting("LIFESYNC_HUBSPOT_BASE_URL", URL, fallback=True)
    api_version: str = setting("LIFESYNC_HUBSPOT_API_VERSION", choice(*endpoints.VERSIONS), fallback=True)
    preferences_version: str = setting("LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION",
                                       choice(*endpoints.PREFERENCES_VERSIONS), fallback=True)
    rate_per_10s: int = setting("LIFESYNC_HUBSPOT_RATE_PER_10S", integer(1), fallback=True)
    lookback_seconds: int = setting("LIFESYNC_HUBSPOT_LOOKBACK_SECONDS", integer(0), fallback=True)
    public_url: str | None = setting("LIFESYNC_HUBSPOT_PUBLIC_URL", URL, fallback=True)
    signature_versions: tuple[str, ...] = setting("LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS",
                                                  comma_list(choice(*VERSIONS), required=True), fallback=True)
