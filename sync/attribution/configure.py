"""Settings → ``DestinationConfig``: which conversion destinations are enabled, and how to reach them.

A destination named in ``conversions.yaml`` is enabled when it is ``enabled`` there and its
credentials are in the environment. Settings are read per network with the destination as
the connection: ``meta`` reads ``LIFESYNC_META_ACCESS_TOKEN``, a second Meta destination
named ``meta-eu`` reads ``LIFESYNC_META_ACCESS_TOKEN__META_EU`` (other settings fall back to
the network's default). Base URLs and API versions are settings too, so any destination can
point at ``lifesync sandbox``, a proxy or a newer API version.
"""

from __future__ import annotations

from typing import Any

from sync.attribution.destination import DestinationConfig
from sync.errors import SettingsError
from sync.settings import Settings

# network -> (settings platform, required credential settings, defaults)
PLATFORMS = {"meta": "meta", "tiktok": "tiktok_events", "google": "google_ads"}
REQUIRED = {"meta": ("access_token", "dataset_id"), "tiktok": ("access_token", "source_id"),
            "google": ("developer_token", "access_token", "customer_id")}
BASE_URLS = {"meta": "https://graph.facebook.com", "tiktok": "https://business-api.tiktok.com",
             "google": "https://googleads.googleapis.com"}
API_VERSIONS = {"meta": "v21.0", "tiktok": "v1.3", "google": "v18"}


def _connection(name: str, network: str) -> str:
    return "default" if name == network else name.replace("-", "_")


def _get(settings: Settings, network: str, key: str, connection: str, fallback: bool = True) -> str | None:
    platform = PLATFORMS[network]
    value = settings.connection_setting(platform, key, connection)
    if value is None and fallback and connection != "default":
        value = settings.connection_setting(platform, key)
    return value


def _pairs(text: str | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, sep, value = part.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise SettingsError(f"{what} must be comma-separated kind=value pairs, e.g. purchase=111,lead=222; "
                                f"got {part.strip()!r}")
        out[kind.strip()] = value.strip()
    return out


def destination_config(settings: Settings, name: str, network: str, region: str = "US") -> DestinationConfig | None:
    """The config of destination ``name``, or None when its credentials are not all set."""
    conn = _connection(name, network)
    creds_needed = REQUIRED[network]
    # credentials never fall back to the default destination's: two ad accounts, two sets of keys
    values = {key: _get(settings, network, key, conn, fallback=False) for key in creds_needed}
    if not all(values.values()):
        return None
    # only the API version is shared with the network's default destination: a second ad account must not
    # inherit its host (a proxy or sandbox would receive this account's token) or its test mode
    base = _get(settings, network, "base_url", conn, fallback=False) or BASE_URLS[network]
    version = _get(settings, network, "api_version", conn) or API_VERSIONS[network]
    test_code = _get(settings, network, "test_event_code", conn, fallback=False)
    if network == "meta":
        secret = _get(settings, network, "app_secret", conn, fallback=False)
        extra = {k: v for k in ("waba_id", "page_id", "ig_account_id")
                 if (v := _get(settings, network, k, conn, fallback=False))}
        return DestinationConfig(name=name, network=network, base_url=base, api_version=version,
                                 credentials={"access_token": values["access_token"],
                                              **({"app_secret": secret} if secret else {})},
                                 account_id=values["dataset_id"], test_event_code=test_code, default_region=region,
                                 extra=extra)
    if network == "tiktok":
        return DestinationConfig(name=name, network=network, base_url=base, api_version=version,
                                 credentials={"access_token": values["access_token"]},
                                 account_id=values["source_id"], test_event_code=test_code, default_region=region,
                                 event_source=_get(settings, network, "event_source", conn, fallback=False) or "crm")
    login = _get(settings, network, "login_customer_id", conn, fallback=False)
    validate_only = (_get(settings, network, "validate_only", conn, fallback=False) or "").lower() == "true"
    actions = _pairs(_get(settings, network, "conversion_actions", conn, fallback=False),
                     f"LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS for destination {name!r}")
    return DestinationConfig(name=name, network=network, base_url=base, api_version=version,
                             credentials={"developer_token": values["developer_token"],
                                          "access_token": values["access_token"],
                                          **({"login_customer_id": login} if login else {})},
                             account_id=values["customer_id"].replace("-", ""), conversion_actions=actions,
                             validate_only=validate_only,
                             default_region=region)


def destination_configs(settings: Settings, config: Any) -> dict[str, DestinationConfig]:
    """Every enabled destination of ``conversions.yaml`` whose credentials are set, by name."""
    rules = getattr(config, "conversions", None)
    region = getattr(getattr(config, "lifecycle", None), "default_region", None) or "US"
    out: dict[str, DestinationConfig] = {}
    for dest in getattr(rules, "destinations", ()) or ():
        if dest.enabled and (built := destination_config(settings, dest.name, dest.network, region)) is not None:
            out[dest.name] = built
    return out


def enabled_destinations(settings: Settings, config: Any) -> frozenset[str]:
    """Names of the destinations conversions are written to the outbox for."""
    return frozenset(destination_configs(settings, config))
