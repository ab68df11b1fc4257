"""HubSpot's error bodies, read for the shared HTTP layer (``HttpClient.read_error``).

HubSpot answers a refusal with ``{status: "error", message, correlationId, category,
errors?, context?}``; a 429 names its policy in ``errorType`` (``RATE_LIMIT``) instead of a
category, and the OAuth token endpoint adds RFC 6749's ``error``/``error_description``.
The code is ``errorType`` or ``category``; the message is ``message`` (else ``error``,
``error_description``, ``errors``), redacted and shortened.
"""

from __future__ import annotations

import requests

from sync.http.errors import VendorError, body_of, first_message, vendor_text
from sync.http.errors import read_error as read_any_error

MESSAGE_KEYS = ("message", "error", "error_description", "errors")


def read_error(response: requests.Response) -> VendorError:
    """HubSpot's code (``errorType`` or ``category``) and message; any other body as the default reader reads it."""
    body = body_of(response)
    if not isinstance(body, dict):
        return read_any_error(response)
    code = str(body.get("errorType") or body.get("category") or "")
    return VendorError(code=code, message=vendor_text(first_message(body, MESSAGE_KEYS)))
