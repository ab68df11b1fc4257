"""The one table that classifies an HTTP outcome: status code or exception → action + typed error.

Everything a connector sees from the network passes through ``classify`` exactly once; nothing
deeper parses raw HTTP errors. Actions:

    RETRY         transient (5xx, 408, timeouts, connection resets): retry with backoff
    RATE_LIMITED  429 or a quota refusal: wait (Retry-After when given) then retry
    AUTH          credentials rejected: refresh them, then retry once
    FAIL          the request can never succeed as sent: dead letter with the vendor's message

A connector passes an ``overrides`` table with the same shape; its keys may also be
``(status, vendor_code)`` pairs matched against the vendor's error code in the body. The body
is read by an ``ErrorReader`` — a function from a refused response to a ``VendorError`` (the
vendor's code and message) — that the connector passes along with its table: the body shapes
live with their connector (``sync.connectors.hubspot.errors``, ``sync.connectors.salesforce.errors``).
The default ``read_error`` knows no vendor: a JSON object's ``message`` (or ``error``, or
``errors``), else the text. The typed error carries the context as declared fields
(``status``, ``retry_after``, ``vendor_code``, ``vendor_message``; see ``sync.errors``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from sync.errors import (
    AuthError,
    LifesyncError,
    PermanentError,
    RateLimited,
    SyncError,
    TransientError,
    ValidationError,
)
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


@dataclass(frozen=True)
class VendorError:
    """The vendor's own account of a refusal, read from the response body by an ``ErrorReader``.

    ``code`` is what ``(status, code)`` rows of an error table match (with ``subcode``, as
    ``full_code``); ``message`` is redacted and shortened (``vendor_text``). The ad networks also
    say whether the vendor calls the failure temporary (``transient``), which events of a batch
    it named (``located``: {index in the batch: message}) and how long it asked to wait when it
    says so outside ``Retry-After`` (``retry_after``).
    """

    code: str = ""  # "100"; with a subcode, "100/2804003" is full_code
    message: str = ""
    subcode: str = ""
    transient: bool = False
    located: Mapping[int, str] = field(default_factory=dict)
    retry_after: float | None = None

    @property
    def full_code(self) -> str:
        """``code/subcode`` when there is a subcode, else ``code``."""
        return f"{self.code}/{self.subcode}" if self.subcode else self.code


ErrorReader = Callable[[requests.Response], VendorError]
"""Reads a refused response's body into a ``VendorError`` (``HttpClient.read_error``, ``classify``)."""


def body_of(response: requests.Response) -> Any:
    """The response's JSON, or its text when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text


def vendor_text(value: Any) -> str:
    """A vendor message, redacted (no e-mails, phones or tokens), on one line and shortened."""
    return " ".join(redact(str(value or "")).split())[:MAX_MESSAGE]


def first_message(body: Mapping[str, Any], keys: Sequence[str] = ("message", "error", "errors")) -> Any:
    """The first non-empty of ``keys`` in an error object; an ``error`` object gives its ``message``."""
    for key in keys:
        value = body.get(key)
        if key == "error" and isinstance(value, dict):
            value = value.get("message")
        if value:
            return value
    return ""


def read_error(response: requests.Response) -> VendorError:
    """The default ``ErrorReader``, for a vendor whose body shape is not known: no code, a message.

    The message is a JSON object's ``message``, else its ``error`` (a string, or an object's
    ``message``), else its ``errors``; a JSON array is quoted as sent, any other body as text.
    """
    body = body_of(response)
    if isinstance(body, dict):
        return VendorError(message=vendor_text(first_message(body)))
    return VendorError(message=vendor_text(response.text if isinstance(body, list) else body))


def rule_for(key: Key, overrides: ErrorTable | None = None) -> Rule | None:
    """The override row for ``key`` if there is one, else the default row."""
    if overrides and key in overrides:
        return overrides[key]
    return DEFAULT_TABLE.get(key)


def classify(result: requests.Response | BaseException, *, overrides: ErrorTable | None = None,
             vendor: str = "the remote system", read_error: ErrorReader = read_error) -> Outcome:
    """Classify a response or a raised exception with the table (``overrides`` win).

    A refused response's body is read once, by ``read_error``: its code picks ``(status, code)``
    rows, its message ends the error's message, and both are kept on the error.
    """
    if isinstance(result, BaseException):
        rule = next((r for t in type(result).__mro__ if (r := rule_for(t, overrides))), _FALLBACK_EXC)
        error = rule.error(f"{vendor}: {rule.message} ({type(result).__name__})")
        return Outcome(rule.action, error)
    status = result.status_code
    if status < 400 and not (overrides and status in overrides):
        return Outcome(Action.OK, response=result)
    found = read_error(result)
    code = found.full_code if status >= 400 else ""
    rule = (rule_for((status, code), overrides) if code else None) or rule_for(status, overrides)
    if rule is None:
        rule = _FALLBACK_5XX if status >= 500 else _FALLBACK_4XX
    detail = found.message
    method = result.request.method if result.request is not None else ""
    where = f"{method} {redact_url(result.url or '')}".strip()
    message = f"{vendor}: {rule.message} (HTTP {status}{', ' + code if code else ''}) {where}"
    message += f": {detail}" if detail else ""
    retry_after = retry_after_seconds(result.headers)
    # internal detail for callers, never personal data (the vendor's message is redacted)
    error = rule.error(message, status=status, retry_after=retry_after, vendor_code=code, vendor_message=detail)
    return Outcome(rule.action, error, retry_after, result)


def raise_for(response: requests.Response, *, overrides: ErrorTable | None = None,
              vendor: str = "the remote system", read_error: ErrorReader = read_error) -> requests.Response:
    """Return ``response`` when the table says OK, otherwise raise its typed error."""
    outcome = classify(response, overrides=overrides, vendor=vendor, read_error=read_error)
    if outcome.error is not None:
        raise outcome.error
    return response


def failure_text(exc: BaseException) -> str:
    """The error as the connector classified it: what was refused and why, ending with the vendor's own message.

    ``sync.http`` builds it (``<vendor>: <what to check> (HTTP 401, <code>) GET <url>: <vendor's message>``)
    with the URL and the message redacted; a bare vendor message (e.g. Salesforce's ``invalid_grant``)
    would not say which setting to look at.
    """
    text = str(exc)
    if isinstance(exc, SyncError) and exc.vendor_message and exc.vendor_message not in text:
        text += f": {exc.vendor_message}"
    return text or type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """Any error as a connection's failure: ``failure_text`` for lifesync's own, else its type and redacted text."""
    if isinstance(exc, LifesyncError):
        return failure_text(exc)
    return f"{type(exc).__name__}: {redact(failure_text(exc))}"
