"""respond.io API v2 write-back: upsert a contact, set or clear its lifecycle stage, add or remove tags.

A small client over one ``requests.Session`` (Bearer token, connect/read timeouts). Failures
are classified once, here: 429 → ``RateLimited``, 5xx and connection errors →
``TransientError``, 401/403 → ``AuthError``, 400/422 → ``ValidationError``, 404 →
``NotFound``, any other 4xx → ``PermanentError``. Error messages carry the HTTP status and
respond.io's own message (``vendor_message``) with e-mail addresses and phone numbers blanked;
neither the token nor the contact identifier is ever logged or put in a message. The errors
also carry ``status`` and ``vendor_message`` as declared fields.

Waiting is short and bounded, so a dispatch run never sleeps past its job's timeout:

- a 429 is retried inline only when ``Retry-After`` (else ``X-RateLimit-Reset``) is at most
  ``max_wait`` seconds; a longer wait raises ``RateLimited`` at once, with ``retry_after``,
  for the dispatcher to turn into a not-before time. 5xx and connection errors are retried
  with exponential backoff capped at ``max_wait``. At most ``max_attempts`` tries a call.
- ``X-RateLimit-Remaining: 0`` on a success (respond.io counts per endpoint) pauses the next
  call to that endpoint until ``X-RateLimit-Reset`` (delta seconds, or an epoch time in
  seconds or milliseconds; ``DEFAULT_WINDOW`` when absent, respond.io's limits being per
  second): slept inline when short, otherwise ``RateLimitPause`` is raised *before* sending
  (``sent`` is False: nothing was attempted).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from sync.connectors.respondio.settings import RespondioSettings
from sync.errors import AuthError, PermanentError, RateLimited, SettingsError, TransientError, ValidationError
from sync.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.respond.io/v2"
TOKEN_SETTING = "LIFESYNC_RESPONDIO_API_TOKEN"  # noqa: S105 - a variable name; a named connection has __<NAME>
_IDENTIFIER = re.compile(r"^(?:id:\d+|email:[^\s/]+@[^\s/]+|phone:\+\d{7,15})$")
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_MAX_MESSAGE = 300
MAX_INLINE_WAIT = 5.0  # seconds one wait may take inside a call; longer ones are left to the dispatcher
DEFAULT_WINDOW = 1.0  # seconds to rest after X-RateLimit-Remaining: 0 without a reset time


class NotFound(PermanentError):
    """respond.io has no such contact (HTTP 404)."""


class RateLimitPause(RateLimited):
    """The endpoint's budget is spent for longer than an inline wait; nothing was sent.

    ``sent`` is False so the dispatcher counts no attempt; come back after ``retry_after`` seconds.
    """

    sent = False


MAX_WAIT = 86_400.0  # seconds: a longer (or infinite) wait a server names is read as a day


def _seconds(raw: str | None, *, epoch: bool) -> float | None:
    """A header's wait in seconds (at most ``MAX_WAIT``): delta seconds, an HTTP date, or (``epoch``) a Unix time."""
    wait = _raw_seconds(raw, epoch=epoch)
    return None if wait is None else min(wait, MAX_WAIT)


def _raw_seconds(raw: str | None, *, epoch: bool) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            return None
    if value != value or value < 0:  # NaN or negative: unreadable
        return None
    if epoch and value > 1e12:
        return max(0.0, value / 1000.0 - time.time())
    if epoch and value > 1e9:
        return max(0.0, value - time.time())
    return value


def _retry_after(response: requests.Response) -> float | None:
    """How long a 429 says to wait: ``Retry-After``, else ``X-RateLimit-Reset``; None when neither is readable."""
    after = _seconds(response.headers.get("Retry-After"), epoch=False)
    return after if after is not None else _seconds(response.headers.get("X-RateLimit-Reset"), epoch=True)


def _exhausted_for(response: requests.Response) -> float | None:
    """Seconds until the endpoint's budget refills when ``X-RateLimit-Remaining`` says it is spent, else None."""
    try:
        remaining = float(response.headers["X-RateLimit-Remaining"])
    except (KeyError, TypeError, ValueError):
        return None
    if remaining > 0:
        return None
    reset = _seconds(response.headers.get("X-RateLimit-Reset"), epoch=True)
    return DEFAULT_WINDOW if reset is None else reset


def vendor_message(response: requests.Response) -> str:
    """respond.io's explanation of a refusal, with e-mail addresses and phone numbers blanked.

    respond.io sends no error code: the body is ``{message}``, else ``{error: text or {message}}``,
    else ``{errors}``, else text.
    """
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        err = body.get("error")
        body = body.get("message") or (err.get("message") if isinstance(err, dict) else err) or body.get("errors")
    text = body if isinstance(body, str) else ("" if body is None else str(body))
    text = _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))
    return " ".join(text.split())[:_MAX_MESSAGE]


def raise_for(response: requests.Response, token_setting: str = TOKEN_SETTING) -> None:
    """Raise the typed error for a failed response (nothing for 2xx); ``status`` and the vendor's message go with it.

    ``token_setting`` is the variable a refused token came from (a named connection's own).
    """
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        raise RateLimited("respond.io rate limit reached (HTTP 429)", retry_after=_retry_after(response),
                          status=status)
    if status >= 500:
        raise TransientError(f"respond.io is unavailable (HTTP {status})", status=status)
    if status in (401, 403):
        raise AuthError(f"respond.io rejected the API token (HTTP {status}); check {token_setting}", status=status)
    detail = vendor_message(response)
    error = ValidationError if status in (400, 422) else NotFound if status == 404 else PermanentError
    raise error(f"respond.io refused the request (HTTP {status})" + (f": {detail}" if detail else ""),
                status=status, vendor_message=detail)


MAX_TAGS = 10  # tags per add/remove call (respond.io API v2)
MAX_TAG_LENGTH = 255


def _tags(tags: list[str]) -> list[str]:
    """``tags`` as respond.io takes them: 1-10 distinct strings of at most 255 characters (else ValidationError)."""
    distinct = list(dict.fromkeys(t.strip() for t in tags if t and t.strip()))
    if not 1 <= len(distinct) <= MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in distinct):
        raise ValidationError(f"respond.io takes 1-{MAX_TAGS} distinct tags of at most {MAX_TAG_LENGTH} characters "
                              f"per call, got {len(distinct)}")
    return distinct


def encode_identifier(identifier: str) -> str:
    """``id:123``, ``email:a@b.c`` or ``phone:+E164``, percent-encoded for a URL path (``+`` → %2B)."""
    if not _IDENTIFIER.match(identifier or ""):
        raise PermanentError("a respond.io contact identifier must be id:<number>, email:<address> or phone:+<E.164>")
    return quote(identifier, safe=":@")


class RespondioClient:
    """Calls respond.io API v2 with short, bounded retries; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(self, token: str, base_url: str = DEFAULT_URL, *, session: requests.Session | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0), max_attempts: int = 3,
                 max_wait: float = MAX_INLINE_WAIT, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, token_setting: str = TOKEN_SETTING):
        if not token:
            raise SettingsError(f"{token_setting} is not set", variable=token_setting)
        self.token_setting = token_setting
        self.base_url = base_url.rstrip("/")
        self.timeout, self.max_attempts, self.max_wait, self.sleep = timeout, max_attempts, max_wait, sleep
        self.clock = clock
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self._backoff = wait_exponential(multiplier=0.5, max=max_wait)
        self._resume_at: dict[str, float] = {}  # "METHOD template" -> clock time its budget is back

    def __repr__(self) -> str:
        return f"RespondioClient(base_url={self.base_url!r})"  # never the token

    @classmethod
    def from_settings(cls, settings: Settings, connection: str = "default", **kwargs: Any) -> RespondioClient:
        """A client for one connection (``RespondioSettings``: ``LIFESYNC_RESPONDIO_API_TOKEN``/``_API_URL``)."""
        conf = RespondioSettings.of(settings, connection)
        variable = RespondioSettings.variable("api_token", connection)
        if not conf.api_token:
            raise SettingsError(f"{variable} is not set", variable=variable)
        return cls(conf.api_token, conf.api_url, token_setting=variable, **kwargs)

    def upsert_contact(self, identifier: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update the contact ``identifier`` with vendor-shaped ``fields`` (firstName, custom_fields…)."""
        return self._post(f"/contact/create_or_update/{encode_identifier(identifier)}", dict(fields),
                          "/contact/create_or_update/{identifier}")

    def update_lifecycle(self, identifier: str, stage: str | None) -> dict[str, Any]:
        """Set the contact's lifecycle stage by name; None clears it."""
        return self._post(f"/contact/{encode_identifier(identifier)}/lifecycle/update", {"name": stage},
                          "/contact/{identifier}/lifecycle/update")

    def update_contact(self, identifier: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Update the existing contact ``identifier`` (``PUT``; an unknown contact is ``NotFound``, never created)."""
        return self._call("PUT", f"/contact/{encode_identifier(identifier)}", dict(fields), "/contact/{identifier}")

    def add_tags(self, identifier: str, tags: list[str]) -> dict[str, Any]:
        """Add ``tags`` (1-10, each at most 255 characters) to the contact ``identifier``."""
        return self._call("POST", f"/contact/{encode_identifier(identifier)}/tag", _tags(tags),
                          "/contact/{identifier}/tag")

    def remove_tags(self, identifier: str, tags: list[str]) -> dict[str, Any]:
        """Remove ``tags`` (1-10) from the contact ``identifier`` (``DELETE`` with the tags as its body)."""
        return self._call("DELETE", f"/contact/{encode_identifier(identifier)}/tag", _tags(tags),
                          "/contact/{identifier}/tag")

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after  # never above max_wait: ``_stop`` gives up on longer ones
        return self._backoff(state)

    def _stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.max_attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        return isinstance(exc, RateLimited) and (exc.retry_after or 0.0) > self.max_wait  # the dispatcher waits

    def _post(self, path: str, body: dict[str, Any], template: str) -> dict[str, Any]:
        return self._call("POST", path, body, template)

    def _call(self, method: str, path: str, body: Any, template: str) -> dict[str, Any]:
        retrying = Retrying(stop=self._stop, wait=self._wait, sleep=self.sleep,
                            retry=retry_if_exception_type((RateLimited, TransientError)), reraise=True)
        return retrying(self._send, method, path, body, template)

    def _await_budget(self, template: str) -> None:
        """Wait out a spent endpoint budget inline when short; raise ``RateLimitPause`` (nothing sent) when not."""
        wait = self._resume_at.get(template, 0.0) - self.clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimitPause(f"respond.io rate limit spent (X-RateLimit-Remaining: 0); resuming in {wait:.0f}s",
                                 retry_after=wait)
        log.info("respond.io %s: rate limit spent, waiting %.1fs", template, wait)
        self.sleep(wait)

    def _send(self, method: str, path: str, body: Any, template: str) -> dict[str, Any]:
        endpoint = f"{method} {template}"  # respond.io counts its limit per API method
        self._await_budget(endpoint)
        try:
            response = self.session.request(method, self.base_url + path, json=body, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            log.warning("respond.io %s %s: %s", method, template, type(exc).__name__)
            raise TransientError(f"could not reach respond.io ({type(exc).__name__})") from None
        log.debug("respond.io %s %s -> HTTP %d", method, template, response.status_code)
        if response.status_code < 400 and (rest := _exhausted_for(response)) is not None:
            self._resume_at[endpoint] = self.clock() + rest
        raise_for(response, self.token_setting)
        try:
            data = response.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {"data": data}
