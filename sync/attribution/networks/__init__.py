"""The ad networks conversions are sent to: one module each, every module's ``NETWORK`` in one registry.

``meta`` (Conversions API), ``tiktok`` (Events API 2.0) and ``google`` (a package: offline
conversions through the Data Manager API, or the Google Ads API) each build their payloads,
send them, and declare the rest as a ``Network`` (``sync.attribution.network``). Shared code
looks a network up here by the name conversions.yaml gives it — ``network(name)``,
``network_for(dest)`` (the transport the destination uses), ``sender_for(dest)`` — and never
names one.

A network module imports only the shared attribution modules (destination, delivery, facts,
hashing, touch, network); this registry imports the network modules; everything else imports
this registry. Adding a network is adding its module here: the registry finds every module
that exports a ``NETWORK``.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable

import requests

from sync.attribution.delivery import BatchSender
from sync.attribution.destination import DestinationConfig
from sync.attribution.network import Network
from sync.errors import SettingsError


def _discover() -> dict[str, Network]:
    """Every module of this package exporting ``NETWORK``, by network name (sorted: stable messages)."""
    found: dict[str, Network] = {}
    for module in pkgutil.iter_modules(__path__):
        declared = getattr(importlib.import_module(f"{__name__}.{module.name}"), "NETWORK", None)
        if isinstance(declared, Network):
            if declared.name in found:
                raise RuntimeError(f"two ad-network modules declare the network {declared.name!r}")
            found[declared.name] = declared
    return dict(sorted(found.items()))


NETWORKS: dict[str, Network] = _discover()


def network(name: str) -> Network:
    """The registered network called ``name``; ``ValueError`` naming the known ones when there is none."""
    found = NETWORKS.get(name)
    if found is None:
        raise ValueError(f"unknown ad network {name!r}; expected one of {list(NETWORKS)}")
    return found


def network_for(dest: DestinationConfig) -> Network:
    """The network ``dest`` sends to, as the transport it is configured with declares it."""
    return network(dest.network).transport(dest.transport or None)


def sender_for(dest: DestinationConfig, session: requests.Session | None = None,
               sleep: Callable[[float], None] = time.sleep) -> BatchSender:
    """The sender for ``dest``'s network, over ``session`` (a new session for ``dest.base_url`` by default)."""
    if dest.network not in NETWORKS:
        raise SettingsError(f"conversion destination {dest.name!r}: unknown network {dest.network!r}; "
                            f"expected one of {list(NETWORKS)}")
    return network_for(dest).sender(dest, session, sleep=sleep)
