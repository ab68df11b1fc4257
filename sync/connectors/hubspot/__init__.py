"""The HubSpot CRM connector: pull contacts and deals, push changes back (issue 4).

    connector = HubSpotConnector(settings, "default", redis=redis, tokens=token_store)
    for page in connector.pull("contacts", cursor):      # sync.connectors.crm.Page
        ingest(page.records); save(page.cursor)
    results = connector.push("contacts", items)           # one PushResult per PushItem

``webhooks`` verifies and splits HubSpot's webhook deliveries (v1, v2, v3). May import http,
settings, errors, config, mappings and ``sync.store.credentials`` (rotated tokens).
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562), so that importing the webhook parser ``sync.connectors.hubspot.webhooks``
# stays light: a receiver's parser must not load the HTTP client, the credentials store and SQLAlchemy.
_EXPORTS = {
    "HubSpotConnector": "sync.connectors.hubspot.connector",
    "TokenStore": "sync.connectors.hubspot.auth",
    "default_properties": "sync.connectors.hubspot.connector",
    "mapping_properties": "sync.connectors.hubspot.properties",
    "options_of": "sync.connectors.hubspot.properties",
    "validate_mapping": "sync.connectors.hubspot.properties",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The connector's public names, imported from their module when first asked for."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
