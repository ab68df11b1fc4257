"""The HubSpot CRM connector: pull contacts and deals, push changes back (issue 4).

    connector = HubSpotConnector(settings, "default", redis=redis, tokens=token_store)
    for page in connector.pull("contacts", cursor):      # sync.connectors.crm.Page
        ingest(page.records); save(page.cursor)
    results = connector.push("contacts", items)           # one PushResult per PushItem

Webhook parsing lives apart, in ``sync.connectors.hubspot.webhooks``.
"""

from sync.connectors.hubspot.auth import TokenStore
from sync.connectors.hubspot.connector import HubSpotConnector, default_properties
from sync.connectors.hubspot.properties import mapping_properties, options_of, validate_mapping

__all__ = ["HubSpotConnector", "TokenStore", "default_properties", "mapping_properties", "options_of",
           "validate_mapping"]
