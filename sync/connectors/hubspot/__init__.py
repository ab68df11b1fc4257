"""The HubSpot CRM connector: pull contacts and deals, push changes back (issue 4).

    connector = HubSpotConnector(settings, "default", redis=redis, tokens=token_store)
    for page in connector.pull("contacts", cursor):      # sync.connectors.crm.Page
        ingest(page.records); save(page.cursor)
    results = connector.push("contacts", items)           # one PushResult per PushItem

``webhooks`` verifies and splits HubSpot's webhook deliveries (v1, v2, v3). May import http,
settings, errors, config, mappings and ``sync.store.credentials`` (rotated tokens).
"""

from __future__ import annotations

from sync.connectors.lazy import lazy_exports

# imported on first use: the webhook parser beside them stays light (sync.connectors.lazy)
_EXPORTS = {
    "HubSpotConnector": "sync.connectors.hubspot.connector",
    "TokenStore": "sync.connectors.hubspot.auth",
    "default_properties": "sync.connectors.hubspot.connector",
    "mapping_properties": "sync.connectors.hubspot.properties",
    "options_of": "sync.connectors.hubspot.properties",
    "validate_mapping": "sync.connectors.hubspot.properties",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
