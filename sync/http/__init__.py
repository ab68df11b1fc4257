"""The shared HTTP layer every connector is composed from.

- ``session``: ``make_session(base_url)`` — timeouts, ``lifesync/<version>`` User-Agent, base URL joining
- ``errors``: the one status/exception → action + typed error table (``classify``, ``raise_for``) and the
  ``ErrorReader`` hook reading a vendor's error body into a ``VendorError`` (the default ``read_error`` is generic)
- ``retry``: ``HttpClient.send`` — tenacity around ``session.send``, Retry-After aware, auth refresh once;
  hooks ``read_error`` (the vendor's body) and ``judge`` (the vendor's verdict on an outcome)
- ``ratelimit``: ``TokenBucket`` — a Redis token bucket per (connection, policy) that learns from headers
- ``redact``: ``redact`` — the one place secrets and personal data are blanked
- ``versions``: ``VersionTable`` — a vendor API's versions with their published end dates, and the one check
  (current / ending within 90 days / ended / unknown) the settings check and the sandboxes share
"""

from sync.http.errors import (
    DEFAULT_TABLE,
    Action,
    ErrorReader,
    Outcome,
    Rule,
    VendorError,
    classify,
    raise_for,
    read_error,
    vendor_text,
)
from sync.http.ratelimit import (
    HUBSPOT_DAILY,
    HUBSPOT_SEARCH,
    HUBSPOT_TEN_SECONDLY,
    SALESFORCE_DAILY,
    Budget,
    Limiters,
    Policy,
    TokenBucket,
)
from sync.http.redact import RedactingFilter, redact, redact_headers, redact_logs, redact_url
from sync.http.retry import HttpClient, Judge, RetryPolicy
from sync.http.session import HttpSession, join_url, make_session
from sync.http.versions import ApiVersion, VersionTable, VersionUse, version_table

__all__ = [
    "DEFAULT_TABLE",
    "HUBSPOT_DAILY",
    "HUBSPOT_SEARCH",
    "HUBSPOT_TEN_SECONDLY",
    "SALESFORCE_DAILY",
    "Action",
    "ApiVersion",
    "Budget",
    "ErrorReader",
    "HttpClient",
    "HttpSession",
    "Judge",
    "Limiters",
    "Outcome",
    "Policy",
    "RedactingFilter",
    "RetryPolicy",
    "Rule",
    "TokenBucket",
    "VendorError",
    "VersionTable",
    "VersionUse",
    "classify",
    "join_url",
    "make_session",
    "raise_for",
    "read_error",
    "redact",
    "redact_headers",
    "redact_logs",
    "redact_url",
    "vendor_text",
    "version_table",
]
