"""Salesforce's error bodies, read for the shared HTTP layer (``HttpClient.read_error``).

The REST API refuses with an array, ``[{"message", "errorCode", "fields"}]``: the code is the
first entry's ``errorCode`` (what ``(status, code)`` rows of ``client.OVERRIDES`` match) and the
message joins the first three entries' messages. The OAuth token endpoint answers an object,
``{"error": "invalid_grant", "error_description": ...}``: its message is ``message``, else
``error: error_description`` (the code alone, ``invalid_grant``, does not say which grant
failed or why), else ``errors``. Messages are redacted and shortened.
"""

from __future__ import annotations

import requests

from sync.http.errors import VendorError, body_of, first_message, vendor_text
from sync.http.errors import read_error as read_any_error

MESSAGE_KEYS = ("message", "error", "error_description", "errors")
MAX_ENTRIES = 3  # entries of an error array quoted in the message


def read_error(response: requests.Response) -> VendorError:
    """Salesforce's ``errorCode`` and message, from an error array or an OAuth error object."""
    body = body_of(response)
    if isinstance(body, list):
        code = str(body[0].get("errorCode") or "") if body and isinstance(body[0], dict) else ""
        message = "; ".join(str(entry.get("message", entry)) if isinstance(entry, dict) else str(entry)
                            for entry in body[:MAX_ENTRIES])
        return VendorError(code=code, message=vendor_text(message))
    if isinstance(body, dict):
        message = first_message(body, MESSAGE_KEYS)
        if not body.get("message") and body.get("error") and body.get("error_description"):
            message = f"{body['error']}: {body['error_description']}"  # OAuth: what failed, and why
        return VendorError(code=str(body.get("errorCode") or ""), message=vendor_text(message))
    return read_any_error(response)
