"""``webhook_notifier(url)``: post ``{"text": ...}`` (Slack-compatible) through the shared HTTP client.

Timeouts, retries of 429/5xx (Retry-After aware) and typed errors come from ``sync.http``;
the URL itself is a credential (a Slack incoming-webhook URL is its own secret), so it is
one of the settings redacted from every log line (``LIFESYNC_ALERT_WEBHOOK_URL``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from sync.errors import SettingsError
from sync.http import HttpClient, RetryPolicy, make_session
from sync.settings import URL, Settings

TIMEOUT = (5.0, 10.0)
VARIABLE = "LIFESYNC_ALERT_WEBHOOK_URL"
POLICY = RetryPolicy(max_attempts=3, initial_wait=1.0, max_wait=10.0)


def webhook_notifier(url: str, *, session: requests.Session | None = None,
                     sleep: Callable[[float], None] | None = None) -> Callable[[str], None]:
    """A function posting one message to ``url``; raises ``SyncError`` subclasses when it is not taken."""
    options: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    client = HttpClient(session or make_session(timeout=TIMEOUT), vendor="alert webhook", policy=POLICY, **options)

    def post(text: str) -> None:
        client.request("POST", url, json={"text": text})

    return post


def alert_webhook_url(settings: Settings) -> str | None:
    """``LIFESYNC_ALERT_WEBHOOK_URL`` (an http(s) URL), or None when unset; ``SettingsError`` when malformed."""
    raw = settings.connection_setting("alert", "webhook_url")
    if raw is None:
        return None
    try:
        return URL.parse(raw)
    except ValueError:  # never the value: it is a credential
        raise SettingsError(f"{VARIABLE} must be an http:// or https:// URL with a host", variable=VARIABLE) from None
