"""Settings → ``DestinationConfig``: which conversion destinations are enabled, and how to reach them.

A destination named in ``conversions.yaml`` is enabled when it is ``enabled`` there and its
credentials are in the environment. Settings are read per network with the destination as
the connection: ``meta`` reads ``LIFESYNC_META_ACCESS_TOKEN``, a second Meta destination
named ``meta-eu`` reads ``LIFESYNC_META_ACCESS_TOKEN__META_EU`` (other settings fall back to
the network's default). Base URLs and API versions are settings too, so any destination can
point at ``lifesync sandbox``, a proxy or a newer API version.

What a network reads is declared by its ``Network`` (``sync.attribution.networks``): the
settings platform, the required credentials, the default base URL and API version, and its
``configure`` hook for the rest (credentials, account id, network-specific options). A network
with several transports (Google) is read as the one its ``transport`` setting names
(``LIFESYNC_GOOGLE_ADS_TRANSPORT[__NAME]``, the destination's own): its required settings, base
URL and version are that transport's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.attribution.destination import DestinationConfig
from sync.attribution.network import Network
from sync.attribution.networks import network as lookup
from sync.attribution.networks import network_for
from sync.errors import SettingsError
from sync.http.versions import VersionUse
from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config
    from sync.config.privacy import PrivacyConfig


def _connection(name: str, network: str) -> str:
    return "default" if name == network else name.replace("-", "_")


def _get(settings: Settings, net: Network, key: str, connection: str, fallback: bool = True) -> str | None:
    value = settings.connection_setting(net.settings_platform, key, connection)
    if value is None and fallback and connection != "default":
        value = settings.connection_setting(net.settings_platform, key)
    return value


def _variable(net: Network, key: str, conn: str) -> str:
    variable = f"LIFESYNC_{net.settings_platform.upper()}_{key.upper()}"
    return variable if conn == "default" else f"{variable}__{conn.upper()}"


def transport_of(settings: Settings, name: str, network: str) -> tuple[str, Network]:
    """(transport name, the network as it declares it) for destination ``name``; SettingsError for an unknown one."""
    net = lookup(network)
    if not net.transports:
        return "", net
    conn = _connection(name, network)
    chosen = (_get(settings, net, "transport", conn, fallback=False) or "").strip().lower()
    if chosen and chosen not in net.transports:
        raise SettingsError(f"{_variable(net, 'transport', conn)}={chosen!r} for conversion destination {name!r} is "
                            f"not a transport of {network}; expected one of {sorted(net.transports)}")
    chosen = chosen or next(iter(net.transports))
    return chosen, net.transport(chosen)


def destination_config(settings: Settings, name: str, network: str, region: str = "US",
                       privacy: PrivacyConfig | None = None) -> DestinationConfig | None:
    """The config of destination ``name``, or None when its credentials are not all set."""
    transport, net = transport_of(settings, name, network)
    conn = _connection(name, network)
    # credentials never fall back to the default destination's: two ad accounts, two sets of keys
    values = {key: _get(settings, net, key, conn, fallback=False) for key in net.required_settings}
    if not all(values.values()):
        return None
    # only the API version is shared with the network's default destination: a second ad account must not
    # inherit its host (a proxy or sandbox would receive this account's token) or its test mode
    base = _get(settings, net, "base_url", conn, fallback=False) or net.base_url
    version = api_version_setting(settings, name, network)[1] if net.version_setting else net.api_version
    own = net.configure(lambda key: _get(settings, net, key, conn, fallback=False),
                        {key: value for key, value in values.items() if value}, name)
    return DestinationConfig(name=name, network=network, base_url=base, api_version=version, default_region=region,
                             transport=transport, privacy=privacy, **own)


def api_version_setting(settings: Settings, name: str, network: str) -> tuple[str, str]:
    """(the variable that sets destination ``name``'s API version, the version): its own, the default's, or the default.

    The variable is ``LIFESYNC_<PLATFORM>_API_VERSION[__<NAME>]`` as set, or ``… (default)`` when
    no variable sets it and the network's default applies.
    """
    net = transport_of(settings, name, network)[1]
    conn = _connection(name, network)
    variable = f"LIFESYNC_{net.settings_platform.upper()}_API_VERSION"
    own = settings.connection_setting(net.settings_platform, "api_version", conn)
    if own is not None:
        return (variable if conn == "default" else f"{variable}__{conn.upper()}"), own
    shared = settings.connection_setting(net.settings_platform, "api_version")  # the default destination's
    return (variable, shared) if shared is not None else (f"{variable} (default)", net.api_version)


def destination_configs(settings: Settings, config: Config) -> dict[str, DestinationConfig]:
    """Every enabled destination of ``conversions.yaml`` whose credentials are set, by name."""
    region = config.lifecycle.default_region or "US"
    out: dict[str, DestinationConfig] = {}
    for dest in config.conversions.destinations:
        if dest.enabled and (built := destination_config(settings, dest.name, dest.network, region,
                                                         config.privacy)) is not None:
            out[dest.name] = built
    return out


def enabled_destinations(settings: Settings, config: Config) -> frozenset[str]:
    """Names of the destinations conversions are written to the outbox for."""
    return frozenset(destination_configs(settings, config))


def version_uses(settings: Settings, config: Config) -> list[VersionUse]:
    """The API version each enabled destination whose credentials are set calls, with the variable that chose it."""
    uses = []
    for name, dest in destination_configs(settings, config).items():
        net = network_for(dest)
        user = f"conversion destination {name!r}"
        if not net.version_setting:  # the transport's own version: no setting to change
            uses.append(VersionUse(net.versions, dest.api_version, f"the {net.vendor} paths", user,
                                   fix=f"lifesync must call a current {net.vendor} version"))
            continue
        variable, version = api_version_setting(settings, name, dest.network)
        uses.append(VersionUse(net.versions, version, variable, user))
    return uses
