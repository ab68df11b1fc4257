"""The shared HTTP layer every connector is composed from.

- ``session``: ``make_session(base_url)`` — timeouts, ``lifesync/<version>`` User-Agent, base URL joining
- ``errors``: the one status/exception → action + typed error table (``classify``, ``raise_for``)
- ``retry``: ``HttpClient.send`` — tenacity around ``session.send``, Retry-After aware, auth refresh once
- ``ratelimit``: ``TokenBucket`` — a Redis token bucket per (connection, policy) that learns from headers
- ``redact``: ``redact`` — the one place secrets and personal data are blanked
"""

from sync.http.errors import DEFAULT_TABLE, Action, Outcome, Rule, classify, raise_for, vendor_message
from sync.http.ratelimit import (
    HUBSPOT_DAILY,
    HUBSPOT_TEN_SECONDLY,
    SALESFORCE_DAILY,
    Budget,
    Limiters,
    Policy,
    TokenBucket,
)
from sync.http.redact import RedactingFilter, redact, redact_headers, redact_url
from sync.http.retry import HttpClient, RetryPolicy
from sync.http.session import HttpSession, join_url, make_session

__all__ = [
    "DEFAULT_TABLE",
    "HUBSPOT_DAILY",
    "HUBSPOT_TEN_SECONDLY",
    "SALESFORCE_DAILY",
    "Action",
    "Budget",
    "HttpClient",
    "HttpSession",
    "Limiters",
    "Outcome",
    "Policy",
    "RedactingFilter",
    "RetryPolicy",
    "Rule",
    "TokenBucket",
    "classify",
    "join_url",
    "make_session",
    "raise_for",
    "redact",
    "redact_headers",
    "redact_url",
    "vendor_message",
]
