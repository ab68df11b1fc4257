"""Every connection's settings checked at once, so a malformed value is reported where it is made.

``lifesync config check`` lists these issues and the web app refuses to start with any of
them: a webhook never meets a setting it cannot parse (which would be a 500 at the first
delivery, long after the deployment that broke it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.connectors.generic import GenericSettings, endpoint_issues
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.connectors.meta.settings import InstagramSettings, MessengerSettings, WhatsAppSettings
from sync.connectors.respondio.settings import RespondioSettings
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.connectors.tiktok import TikTokSettings
from sync.connectors.twilio import TwilioSettings
from sync.errors import ConfigIssue, SettingsError
from sync.settings import ConnectionSettings, Settings

if TYPE_CHECKING:
    from sync.config import Config

BLOCKS: tuple[type[ConnectionSettings], ...] = (
    HubSpotSettings, SalesforceSettings, RespondioSettings, WhatsAppSettings, MessengerSettings,
    InstagramSettings, TikTokSettings, TwilioSettings, GenericSettings,
)


def settings_issues(settings: Settings) -> list[ConfigIssue]:
    """A malformed value in any connection that sets anything of a connector, each naming its variable."""
    issues = []
    for kind in BLOCKS:
        for connection in kind.configured_connections(settings):
            try:
                kind.of(settings, connection)
            except SettingsError as exc:
                issues.append(ConfigIssue("environment", "", str(exc)))
    return issues


def connection_issues(settings: Settings, config: Config) -> list[ConfigIssue]:
    """Malformed connection settings, then (once they parse) generic endpoints the config cannot serve."""
    return settings_issues(settings) or endpoint_issues(settings, config)
