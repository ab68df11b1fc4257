"""HubSpot's REST API versions with their published end dates, and the ones this connector calls.

Since 2026-03-30 HubSpot versions its REST APIs by date (``/crm/objects/2026-09/contacts``):
a new version every March and September, *current* for 6 months, *supported* until 18 months
after its release, then *unsupported* (no fixes; it may keep answering). The numbered paths end
on their own dates: ``/v4/`` on 2027-03-30, ``/v1/``-``/v3/`` in September 2027 (month only).
``ends`` below is where support ends — what ``lifesync config check`` warns about.

``versions_in_use`` says which of them a connection calls: the date-based version its
``LIFESYNC_HUBSPOT_API_VERSION`` names (``sync.connectors.hubspot.endpoints``), or with
``legacy`` the numbered paths (``/crm/v3/`` objects, search, batch and properties, ``/crm/v4/``
associations); the Communication Preferences version (``LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION``,
opt-outs written back); and ``/oauth/v1/token`` when it refreshes OAuth tokens.
"""

from __future__ import annotations

from sync.connectors.hubspot.endpoints import DEFAULT_VERSION, LEGACY
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.http.versions import VersionUse, version_table

_CHANGELOG = "https://developers.hubspot.com/changelog/"
# Checked 2026-12-06. Date-based versions: unsupported 18 months after GA
# (https://developers.hubspot.com/docs/developer-tooling/platform/versioning); 2026-09 shipped on 2026-09-08
# (https://developers.hubspot.com/changelog, "Breaking Change: CRM API Write Validation Enforcement").
VERSIONS = version_table("HubSpot API", "https://developers.hubspot.com/docs/developer-tooling/platform/versioning", [
    ("2026-09", "2026-09-08", "2028-03-08"),
    ("2026-03", "2026-03-30", "2027-09-30"),
    ("v4", None, "2027-03-30", _CHANGELOG + "deprecating-support-for-hubspot-v4-apis"),
    ("v3", None, "2027-09", _CHANGELOG + "legacy-apis-and-legacy-apps-whats-going-unsupported-and-when"),
    ("v2", None, "2027-09", _CHANGELOG + "legacy-apis-and-legacy-apps-whats-going-unsupported-and-when"),
    ("v1", None, "2027-09", _CHANGELOG + "legacy-apis-and-legacy-apps-whats-going-unsupported-and-when"),
])

# (version, the paths of this connector that call it) with LIFESYNC_HUBSPOT_API_VERSION=legacy
LEGACY_PATHS = (("v3", "/crm/v3/ (objects, search, batch, properties)"), ("v4", "/crm/v4/ (associations)"))
OAUTH_PATH = ("v1", "/oauth/v1/token (token refresh)")
_FIX_LEGACY = f"set {HubSpotSettings.variable('api_version')} to a date-based version, e.g. {DEFAULT_VERSION}"
_FIX_OAUTH = "HubSpot publishes no date-based OAuth token path yet; it answers on /oauth/v1/ until its end date"


def versions_in_use(conf: HubSpotSettings, *, defaulted: bool = False) -> list[VersionUse]:
    """The HubSpot API versions ``conf``'s connection calls (the OAuth path only when it refreshes tokens).

    ``defaulted``: the version setting is unset, so the variable is named with ``(default)``.
    """
    user = f"HubSpot connection {conf.connection!r}"
    variable = HubSpotSettings.variable("api_version", conf.connection) + (" (default)" if defaulted else "")
    if conf.api_version == LEGACY:
        uses = [VersionUse(VERSIONS, version, f"the connector's {paths} ({variable}=legacy)", user, _FIX_LEGACY)
                for version, paths in LEGACY_PATHS]
    else:
        uses = [VersionUse(VERSIONS, conf.api_version, variable, user)]
    # the Communication Preferences API (marketing e-mail opt-outs written back) has its own dated version
    uses.append(VersionUse(VERSIONS, conf.preferences_version,
                           HubSpotSettings.variable("preferences_version", conf.connection), user))
    if conf.refresh_token:
        uses.append(VersionUse(VERSIONS, OAUTH_PATH[0], f"the connector's {OAUTH_PATH[1]}", user, _FIX_OAUTH))
    return uses
