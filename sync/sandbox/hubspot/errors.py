"""HubSpot's error bodies, as the sandbox answers them.

Shapes follow HubSpot's documented errors: ``{status: "error", message, correlationId,
category, errors?, context?}`` for API errors, ``errorType``/``policyName`` on 429s,
``{status: "BAD_REFRESH_TOKEN", error: "invalid_grant", ...}`` from the OAuth token endpoint,
and per-property validation results serialised into the message as HubSpot does
(``Property values were not valid: [{"isValid":false,...}]``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

INVALID_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class ApiError(Exception):
    """An error answer: HTTP status, HubSpot-shaped JSON body, extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message", ""))
        self.status, self.body, self.headers = status, body, dict(headers or {})


def error_body(message: str, category: str | None = None, **extra: Any) -> dict[str, Any]:
    """The common error envelope (a fresh correlation id each time, as HubSpot does)."""
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
    if category:
        body["category"] = category
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def validation_error(message: str, **extra: Any) -> ApiError:
    """A 400 VALIDATION_ERROR."""
    return ApiError(400, error_body(message, "VALIDATION_ERROR", **extra))


def invalid_property(name: str, message: str, code: str) -> dict[str, Any]:
    """One property validation result, as HubSpot lists them inside its message."""
    return {"isValid": False, "message": message, "error": code, "name": name}


def property_values_message(results: list[dict[str, Any]]) -> str:
    """HubSpot's summary message with the validation results serialised into it."""
    return "Property values were not valid: " + json.dumps(results, separators=(",", ":"))


def property_errors(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``errors`` array of a validation error: one entry per invalid property."""
    return [{"message": r["message"], "code": r["error"], "in": r["name"], "context": {"propertyName": [r["name"]]}}
            for r in results]


def invalid_properties(results: list[dict[str, Any]]) -> ApiError:
    """400 for a request whose property values were not valid (the whole request is refused)."""
    return validation_error(property_values_message(results), errors=property_errors(results))


def batch_error(category: str, message: str, context: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    """One entry of a 207 response's ``errors`` array."""
    entry: dict[str, Any] = {"status": "error", "category": category, "message": message, "context": context}
    entry.update({key: value for key, value in extra.items() if value is not None})
    return entry


def not_found_message(object_type: str) -> str:
    """HubSpot's message for ids that do not exist in a batch (``CONTACT``, ``DEAL`` …)."""
    return f"Could not get some {object_type} objects, they may be deleted or not exist. Check that ids are valid."


def unauthenticated() -> ApiError:
    """401 for a missing or unknown bearer token."""
    return ApiError(401, error_body(INVALID_AUTH_MESSAGE, "INVALID_AUTHENTICATION"))


def expired(seconds_ago: int, expired_at_iso: str) -> ApiError:
    """401 for an OAuth access token past its lifetime (HubSpot says how long ago)."""
    return ApiError(401, error_body(f"The OAuth token used to make this call expired {seconds_ago} second(s) ago.",
                                    "EXPIRED_AUTHENTICATION", context={"expire time": [expired_at_iso]}))


def rate_limited(policy: str, headers: dict[str, str], retry_after: float | None = None) -> ApiError:
    """429 in HubSpot's rate-limit shape; Retry-After only when given (HubSpot usually omits it)."""
    window = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "DAILY": "daily", "SECONDLY": "secondly"}[policy]
    body = {"status": "error", "message": f"You have reached your {window} limit.", "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy}
    extra = dict(headers)
    if retry_after is not None:
        extra["Retry-After"] = str(max(0, round(retry_after)))
    return ApiError(429, body, extra)


def oauth_error(status: str, message: str, error: str) -> ApiError:
    """400 from the token endpoint: HubSpot's ``status``/``message`` plus RFC 6749 ``error`` fields."""
    return ApiError(400, {"status": status, "message": message, "correlationId": str(uuid.uuid4()),
                          "error": error, "error_description": message})
