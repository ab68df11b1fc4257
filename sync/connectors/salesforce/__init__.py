"""Salesforce: pull Lead / Contact / Opportunity changes, push Lead / Contact updates.

``SalesforceConnector(settings, connection)`` implements ``sync.connectors.crm.Puller`` and
``Pusher``; ``mapping_fields(mapping)`` lists the SOQL fields a mapping reads. The parts are
described in ``sync.connectors.salesforce.connector``. Outbound Messages (the SOAP webhook)
are parsed and authenticated in ``sync.connectors.salesforce.outbound``.
"""

from __future__ import annotations

from sync.connectors.lazy import lazy_exports

# imported on first use: the webhook parser beside them stays light (sync.connectors.lazy)
_EXPORTS = {
    "ApiLimitExceeded": "sync.connectors.salesforce.client",
    "Quota": "sync.connectors.salesforce.client",
    "SalesforceAuth": "sync.connectors.salesforce.auth",
    "SalesforceClient": "sync.connectors.salesforce.client",
    "SalesforceConnector": "sync.connectors.salesforce.connector",
    "Token": "sync.connectors.salesforce.auth",
    "TokenStore": "sync.connectors.salesforce.auth",
    "mapping_fields": "sync.connectors.salesforce.soql",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
