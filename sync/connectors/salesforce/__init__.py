"""Salesforce: pull Lead / Contact / Opportunity changes, push Lead / Contact updates.

``SalesforceConnector(settings, connection)`` implements ``sync.connectors.crm.Puller`` and
``Pusher``; ``mapping_fields(mapping)`` lists the SOQL fields a mapping reads. The parts are
described in ``sync.connectors.salesforce.connector``. Outbound Messages (the SOAP webhook)
live apart, in ``sync.connectors.salesforce.outbound``.
"""

from sync.connectors.salesforce.auth import SalesforceAuth, Token, TokenStore
from sync.connectors.salesforce.client import ApiLimitExceeded, Quota, SalesforceClient
from sync.connectors.salesforce.connector import SalesforceConnector
from sync.connectors.salesforce.soql import mapping_fields

__all__ = [
    "ApiLimitExceeded",
    "Quota",
    "SalesforceAuth",
    "SalesforceClient",
    "SalesforceConnector",
    "Token",
    "TokenStore",
    "mapping_fields",
]
