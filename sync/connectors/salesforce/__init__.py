"""Salesforce: pull Lead / Contact / Opportunity changes, push Lead / Contact updates.

``SalesforceConnector(settings, connection)`` implements ``sync.connectors.crm.Puller`` and
``Pusher``; ``mapping_fields(mapping)`` lists the SOQL fields a mapping reads. The parts are
described in ``sync.connectors.salesforce.connector``. Outbound Messages (the SOAP webhook)
are parsed and authenticated in ``sync.connectors.salesforce.outbound``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562), so that importing the webhook parser ``sync.connectors.salesforce.outbound``
# stays light: a receiver's parser must not load the HTTP client, the credentials store and SQLAlchemy.
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


def __getattr__(name: str) -> Any:
    """The connector's public names, imported from their module when first asked for."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
