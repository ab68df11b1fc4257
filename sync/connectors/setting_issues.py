"""Every connection's settings checked at once, so a malformed value is reported where it is made.

``lifesync config check`` lists these issues and the web app refuses to start with any of
them: a webhook never meets a setting it cannot parse (which would be a 500 at the first
delivery, long after the deployment that broke it).

``version_issues`` checks the vendor API versions lifesync is set to call — the CRM connections'
(``version_uses``) and the conversion destinations' (``sync.attribution.configure.version_uses``)
— against each vendor's table of published end dates (``sync.http.versions``): past its end, or
unknown, is an error naming the setting; within 90 days of it, a warning. Only ``config check``
asks: no webhook calls these APIs, so the web app starts regardless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from sync.connectors.generic import GenericSettings, endpoint_issues
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.connectors.hubspot.versions import versions_in_use as hubspot_versions_in_use
from sync.connectors.meta.settings import InstagramSettings, MessengerSettings, WhatsAppSettings
from sync.connectors.respondio.settings import RespondioSettings
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.connectors.salesforce.versions import VERSIONS as SALESFORCE_VERSIONS
from sync.connectors.tiktok import TikTokSettings
from sync.connectors.twilio import TwilioSettings
from sync.errors import ConfigIssue, SettingsError
from sync.http.versions import ERROR, VersionUse, problem
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


def version_uses(settings: Settings) -> list[VersionUse]:
    """The vendor API versions the configured CRM connections call (destinations: ``sync.attribution.configure``).

    A Salesforce connection counts once it has a client id, a HubSpot one once it has a token or
    a refresh token; a connection whose settings do not parse is left to ``settings_issues``.
    """
    uses = []
    for connection in SalesforceSettings.configured_connections(settings):
        try:
            conf = SalesforceSettings.of(settings, connection)
        except SettingsError:
            continue
        if conf.client_id:
            own = SalesforceSettings.is_set(settings, "api_version", connection)
            variable = SalesforceSettings.variable("api_version", connection) + ("" if own else " (default)")
            uses.append(VersionUse(SALESFORCE_VERSIONS, conf.api_version, variable,
                                   f"Salesforce connection {connection!r}"))
    for connection in HubSpotSettings.configured_connections(settings):
        try:
            conf = HubSpotSettings.of(settings, connection)
        except SettingsError:
            continue
        if conf.token or conf.refresh_token:
            own = HubSpotSettings.is_set(settings, "api_version", connection)
            uses += hubspot_versions_in_use(conf, defaulted=not own)
    return uses


def version_issues(uses: Iterable[VersionUse], on: date) -> tuple[list[ConfigIssue], list[ConfigIssue]]:
    """(errors, warnings) about ``uses`` on day ``on``: past its end or unknown is an error, ending soon a warning."""
    errors: list[ConfigIssue] = []
    warnings: list[ConfigIssue] = []
    for use in uses:
        found = problem(use, on)
        if found is not None:
            (errors if found.severity == ERROR else warnings).append(ConfigIssue("environment", "", found.message))
    return errors, warnings
