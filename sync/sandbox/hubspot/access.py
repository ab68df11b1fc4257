"""Who may call the HubSpot sandbox, and how often: bearer tokens, OAuth refresh, rate limits.

A caller is the private app (its seeded token) or the OAuth app (any access token the sandbox
issued and that has not expired). Limits count per app, as HubSpot's do — refreshing a token
does not reset them: a rolling ten-second window (``rate_per_10s``) and a daily count
(``daily_limit``, reset at midnight UTC). Requests refused with 429 are not counted.
Every authenticated answer carries the ``X-HubSpot-RateLimit-*`` headers.

CRM search has its own limit, per token: ``search_per_second`` (HubSpot's 4) in any rolling
second (https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase). A search
over it is HubSpot's 429 ``policyName: SECONDLY`` ("You have reached your secondly limit.", as
recorded in https://github.com/HGData/mk-node-hubspot/pull/84), without rate-limit headers;
``search_refused`` counts them.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sync.sandbox.hubspot.errors import expired, oauth_error, rate_limited, unauthenticated
from sync.sandbox.hubspot.records import iso

WINDOW_MS = 10_000
SEARCH_WINDOW_MS = 1_000
DAY_MS = 86_400_000
SCOPES = ["crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.read",
          "crm.objects.deals.write", "crm.schemas.contacts.read", "crm.schemas.deals.read", "oauth"]


@dataclass(frozen=True)
class Credentials:
    """The seeded secrets of the sandbox portal."""

    token: str
    client_id: str
    client_secret: str
    refresh_token: str
    hub_id: int = 62515


class Access:
    """Token checks, OAuth refresh and per-app rate limiting (callers hold the sandbox lock)."""

    def __init__(self, credentials: Credentials, *, clock_ms: Callable[[], int], access_token_ttl: int,
                 rotate_refresh_tokens: bool, rate_per_10s: int | None, daily_limit: int | None, seed: int,
                 search_per_second: int | None = None):
        self.credentials, self._clock_ms = credentials, clock_ms
        self.access_token_ttl, self.rotate_refresh_tokens = access_token_ttl, rotate_refresh_tokens
        self.rate_per_10s, self.daily_limit, self.search_per_second = rate_per_10s, daily_limit, search_per_second
        self.search_refused = 0
        self._searches: dict[str, deque[int]] = {}  # token -> times of its searches in the last second
        self._random = random.Random(f"hubspot-tokens-{seed}")
        self._access: dict[str, int] = {}  # issued access token -> expiry (epoch ms)
        self._refresh: set[str] = {credentials.refresh_token}
        self._window: dict[str, deque[int]] = {}
        self._daily: dict[str, tuple[int, int]] = {}  # app -> (day number, requests that day)

    def authenticate(self, authorization: str | None) -> str:
        """The calling app ("private-app" or "oauth-app") for an Authorization header, or 401."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated()
        token = token.strip()
        if token == self.credentials.token:
            return "private-app"
        expiry = self._access.get(token)
        if expiry is None:
            raise unauthenticated()
        now = self._clock_ms()
        if now >= expiry:
            raise expired((now - expiry) // 1000, iso(expiry))
        return "oauth-app"

    def refresh(self, form: dict[str, str]) -> dict[str, object]:
        """Answer ``POST /oauth/v1/token`` (refresh_token grant): a new access token, or HubSpot's 400."""
        if form.get("grant_type") != "refresh_token":
            raise oauth_error("BAD_GRANT_TYPE", "grant_type must be refresh_token", "unsupported_grant_type")
        if form.get("client_id") != self.credentials.client_id:
            raise oauth_error("BAD_CLIENT_ID", "missing or unknown client id", "invalid_client")
        if form.get("client_secret") != self.credentials.client_secret:
            raise oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client")
        refresh_token = form.get("refresh_token") or ""
        if refresh_token not in self._refresh:
            raise oauth_error("BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked", "invalid_grant")
        if self.rotate_refresh_tokens:
            self._refresh.discard(refresh_token)  # the old one stops working once a new one is issued
            refresh_token = f"sandbox-refresh-{self._random.getrandbits(64):016x}"
            self._refresh.add(refresh_token)
        access_token = f"sandbox-access-{self._random.getrandbits(96):024x}"
        self._access[access_token] = self._clock_ms() + self.access_token_ttl * 1000
        return {"token_type": "bearer", "access_token": access_token, "refresh_token": refresh_token,
                "expires_in": self.access_token_ttl, "hub_id": self.credentials.hub_id, "scopes": SCOPES,
                "token_use": "access_token"}

    def admit(self, app: str) -> dict[str, str]:
        """Count one request of ``app`` and return the rate-limit headers, or raise the 429 (not counted)."""
        now = self._clock_ms()
        window = self._window.setdefault(app, deque())
        while window and window[0] <= now - WINDOW_MS:
            window.popleft()
        day, used = self._daily.get(app, (now // DAY_MS, 0))
        if day != now // DAY_MS:
            day, used = now // DAY_MS, 0
        if self.daily_limit is not None and used >= self.daily_limit:
            raise rate_limited("DAILY", self._headers(len(window), used))
        if self.rate_per_10s is not None and len(window) >= self.rate_per_10s:
            raise rate_limited("TEN_SECONDLY_ROLLING", self._headers(len(window), used))
        if self.rate_per_10s is not None:
            window.append(now)
        self._daily[app] = (day, used + 1)
        return self._headers(len(window), used + 1)

    def admit_search(self, authorization: str) -> None:
        """Count one CRM search of the token in ``authorization``, or raise HubSpot's 429 (not counted)."""
        if self.search_per_second is None:
            return
        now = self._clock_ms()
        window = self._searches.setdefault(authorization.partition(" ")[2].strip(), deque())
        while window and window[0] <= now - SEARCH_WINDOW_MS:
            window.popleft()
        if len(window) >= self.search_per_second:
            self.search_refused += 1
            raise rate_limited("SECONDLY", {})
        window.append(now)

    def _headers(self, in_window: int, used_today: int) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.rate_per_10s is not None:
            out.update({"X-HubSpot-RateLimit-Max": str(self.rate_per_10s),
                        "X-HubSpot-RateLimit-Remaining": str(max(0, self.rate_per_10s - in_window)),
                        "X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_MS)})
        if self.daily_limit is not None:
            out.update({"X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                        "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - used_today))})
        return out
