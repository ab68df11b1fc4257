"""The one table that classifies an HTTP outcome: status code or exception → action + typed error.

Everything a connector sees from the network passes through ``classify`` exactly once; nothing
deeper parses raw HTTP errors. Actions:

    RETRY         transient (5xx, 408, timeouts, connection resets): retry with backoff
    RATE_LIMITED  429 or a quota refusal: wait (Retry-After when given) then retry
    AUTH          credentials rejected: refresh them, then retry once
    FAIL          the request can never succeed as sent: dead letter with the vendor's message

A connector passes an ``overrides`` table with the same shape; its keys may also be
``(status, vendor_code)`` pairs matched against the vendor's error code in the body
(Salesforce ``[{"errorCode": "REQUEST_LIMIT_EXCEEDED"}]``, HubSpot ``category``/``errorType``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from sync.errors import AuthError, PermanentError, RateLimited, SyncError, TransientError, ValidationError
from sync.http.redact import redact, redact_url

MAX_MESSAGE = 300


class Action(enum.Enum):
    """What the retry layer does with an outcome."""

    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    FAIL = "fail"


@dataclass(frozen=True)
class Rule:
    """One row of the table: the action, the typed error to raise, and what to tell the user."""

    action: Action
    error: type[SyncError]
    message: str


Key = int | tuple[int, str] | type[BaseException]
ErrorTable = Mapping[Key, Rule]

DEFAULT_TABLE: dict[Key, Rule] = {
    400: Rule(Action.FAIL, ValidationError, "the request was rejected"),
    401: Rule(Action.AUTH, AuthError, "the credentials were rejected"),
    403: Rule(Action.FAIL, AuthError, "the credentials lack permission for this request"),
    404: Rule(Action.FAIL, PermanentError, "not found"),
    405: Rule(Action.FAIL, PermanentError, "method not allowed"),
    408: Rule(Action.RETRY, TransientError, "the request timed out"),
    409: Rule(Action.FAIL, PermanentError, "conflict"),
    410: Rule(Action.FAIL, PermanentError, "gone"),
    413: Rule(Action.FAIL, ValidationError, "the request is too large"),
    415: Rule(Action.FAIL, ValidationError, "unsupported media type"),
    422: Rule(Action.FAIL, ValidationError, "the payload was rejected"),
    423: Rule(Action.RETRY, TransientError, "the record is locked"),
    429: Rule(Action.RATE_LIMITED, RateLimited, "rate limit reached"),
    500: Rule(Action.RETRY, TransientError, "server error"),
    502: Rule(Action.RETRY, TransientError, "bad gateway"),
    503: Rule(Action.RETRY, TransientError, "service unavailable"),
    504: Rule(Action.RETRY, TransientError, "gateway timeout"),
    requests.Timeout: Rule(Action.RETRY, TransientError, "the request timed out"),
    requests.ConnectionError: Rule(Action.RETRY, TransientError, "could not connect"),
    requests.exceptions.ChunkedEncodingError: Rule(Action.RETRY, TransientError, "the connection broke"),
}
_FALLBACK_4XX = Rule(Action.FAIL, PermanentError, "the request was refused")
_FALLBACK_5XX = Rule(Action.RETRY, TransientError, "server error")
_FALLBACK_EXC = Rule(Action.FAIL, PermanentError, "the request could not be sent")


@dataclass(frozen=True)
class Outcome:
    """A classified response or exception; ``error`` is None exactly when ``action`` is OK."""

    action: Action
    error: SyncError | None = None
    retry_after: float | None = None
    response: requests.Response | None = None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    raw = (headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def vendor_code(response: requests.Response) -> str:
    """The vendor's machine-readable error code, if the body carries one ('' otherwise)."""
    body = _body(response)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or "")
    if isinstance(body, dict):
        return str(body.get("errorType") or body.get("category") or body.get("errorCode") or "")
    return ""


def vendor_message(response: requests.Response) -> str:
    """The vendor's own explanation of a refusal, redacted and shortened (HubSpot/Salesforce shapes)."""
    body = _body(response)
    if isinstance(body, list):
        body = "; ".join(str(i.get("message", i)) if isinstance(i, dict) else str(i) for i in body[:3])
    elif isinstance(body, dict):
        err = body.get("error")
        body = (body.get("message") or (err.get("message") if isinstance(err, dict) else err)
                or body.get("error_description") or body.get("errors") or "")
    text = " ".join(redact(str(body or "")).split())
    return text[:MAX_MESSAGE]


def rule_for(key: Key, overrides: ErrorTable | None = None) -> Rule | None:
    """The override row for ``key`` if there is one, else the default row."""
    if overrides and key in overrides:
        return overrides[key]
    return DEFAULT_TABLE.get(key)


def classify(result: requests.Response | BaseException, *, overrides: ErrorTable | None = None,
             vendor: str = "the remote system") -> Outcome:
    """Classify a response or a raised exception with the table (``overrides`` win)."""
    if isinstance(result, BaseException):
        rule = next((r for t in type(result).__mro__ if (r := rule_for(t, overrides))), _FALLBACK_EXC)
        error = rule.error(f"{vendor}: {rule.message} ({type(result).__name__})")
        return Outcome(rule.action, error)
    status = result.status_code
    if status < 400 and not (overrides and status in overrides):
        return Outcome(Action.OK, response=result)
    code = vendor_code(result) if status >= 400 else ""
    rule = (rule_for((status, code), overrides) if code else None) or rule_for(status, overrides)
    if rule is None:
        rule = _FALLBACK_5XX if status >= 500 else _FALLBACK_4XX
    detail = vendor_message(result)
    method = result.request.method if result.request is not None else ""
    where = f"{method} {redact_url(result.url or '')}".strip()
    message = f"{vendor}: {rule.message} (HTTP {status}{', ' + code if code else ''}) {where}"
    message += f": {detail}" if detail else ""
    retry_after = retry_after_seconds(result.headers)
    if issubclass(rule.error, RateLimited):
        error: SyncError = rule.error(message, retry_after=retry_after)
    else:
        error = rule.error(message)
    error.status = status  # type: ignore[attr-defined]  # internal detail for callers, never PII
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return Outcome(rule.action, error, retry_after, result)


def raise_for(response: requests.Response, *, overrides: ErrorTable | None = None,
              vendor: str = "the remote system") -> requests.Response:
    """Return ``response`` when the table says OK, otherwise raise its typed error."""
    outcome = classify(response, overrides=overrides, vendor=vendor)
    if outcome.error is not None:
        raise outcome.error
    return response
