"""HubSpot credentials: a private-app token, or OAuth access tokens refreshed before they expire.

``credentials_from_settings`` reads one connection's settings and returns the ``requests`` auth
to attach to the API session:

- ``LIFESYNC_HUBSPOT_TOKEN[__<CONNECTION>]`` → ``BearerToken`` (a private app's token never
  expires; a 401 means it was revoked, so there is nothing to refresh);
- else ``LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID`` + ``LIFESYNC_HUBSPOT_CLIENT_SECRET`` + a refresh
  token → ``OAuthTokens``. The app's id and secret fall back to the default connection's (one
  public app is installed in many portals); the refresh token belongs to one portal and does
  not. A refresh token kept in the token store wins over the setting: HubSpot may rotate it,
  and the stored one is the newest.

``OAuthTokens`` refreshes by TTL: it posts ``grant_type=refresh_token`` to
``{base}/oauth/v1/token`` when the access token has less than ``margin`` seconds left (not
on a 401), persists the access token, its expiry and any rotated refresh token with
``tokens.save("hubspot", connection, {...})``, and reuses a stored access token that is still
valid after a restart. ``refresh()`` forces a new token; ``HttpClient``'s ``refresh`` hook uses
it so a 401 gets exactly one refresh and one retry. If HubSpot refuses the stored refresh
token and the setting holds a different one (the operator re-authorised the app), the setting
is tried once. Tokens never reach logs, reprs or error messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests
from requests.auth import AuthBase

from sync.connectors.hubspot.settings import HubSpotSettings
from sync.errors import AuthError, SettingsError
from sync.settings import Settings

log = logging.getLogger(__name__)

SYSTEM = "hubspot"
TOKEN_PATH = "/oauth/v1/token"  # noqa: S105 - an endpoint, not a secret
REFRESH_MARGIN = 300.0  # seconds before expiry at which an access token is replaced


class TokenStore(Protocol):
    """Where refreshed tokens are kept between runs (``sync.store.credentials.TokenStore`` has this shape)."""

    def load(self, system: str, connection: str) -> dict[str, Any] | None:
        """The stored tokens, or None."""

    def save(self, system: str, connection: str, data: dict[str, Any]) -> None:
        """Replace the stored tokens."""


def setting_name(name: str, connection: str) -> str:
    """The environment variable of HubSpot setting ``name`` (a ``HubSpotSettings`` field) for ``connection``."""
    return HubSpotSettings.variable(name, connection)


class BearerToken(AuthBase):
    """A private-app access token sent as ``Authorization: Bearer``."""

    def __init__(self, token: str):
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken()"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the header."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


# posts the token form and returns HubSpot's JSON answer (raises the typed error on refusal)
TokenPoster = Callable[[dict[str, str]], dict[str, Any]]


class OAuthTokens(AuthBase):
    """OAuth access tokens for one connection, refreshed before they expire and persisted."""

    def __init__(self, *, connection: str, client_id: str, client_secret: str, refresh_token: str | None,
                 post: TokenPoster, tokens: TokenStore | None = None, clock: Callable[[], float] = time.time,
                 margin: float = REFRESH_MARGIN):
        self.connection, self._client_id, self._secret = connection, client_id, client_secret
        self._post, self._store, self._clock, self._margin = post, tokens, clock, margin
        self._setting_refresh = refresh_token
        stored = (tokens.load(SYSTEM, connection) if tokens is not None else None) or {}
        self._refresh_token: str | None = stored.get("refresh_token") or refresh_token
        self._access: str | None = stored.get("access_token")
        self._expires_at = float(stored.get("expires_at") or 0.0)
        if not self._refresh_token:
            raise SettingsError(f"{setting_name('refresh_token', connection)} is not set and no refresh token is "
                                "stored: authorise the HubSpot app and set it")

    def __repr__(self) -> str:
        return f"OAuthTokens(connection={self.connection!r})"  # never the tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add ``Authorization: Bearer`` with a token that has at least ``margin`` seconds left."""
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def access_token(self) -> str:
        """The current access token, refreshed first when it is missing or about to expire."""
        if self._access is None or self._clock() >= self._expires_at - self._margin:
            self.refresh()
        assert self._access is not None
        return self._access

    def refresh(self) -> str:
        """Exchange the refresh token for a new access token now; persist what HubSpot returned."""
        candidates = [self._refresh_token]
        if self._setting_refresh and self._setting_refresh != self._refresh_token:
            candidates.append(self._setting_refresh)
        for i, candidate in enumerate(candidates):
            try:
                answer = self._post({"grant_type": "refresh_token", "client_id": self._client_id,
                                     "client_secret": self._secret, "refresh_token": candidate or ""})
            except AuthError:
                if i + 1 < len(candidates):
                    log.warning("HubSpot refused the stored refresh token of connection %r; trying the one in %s",
                                self.connection, setting_name("refresh_token", self.connection))
                    continue
                raise
            return self._adopt(answer, candidate or "")
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _adopt(self, answer: dict[str, Any], used: str) -> str:
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("HubSpot's token endpoint answered without an access token")
        ttl = float(answer.get("expires_in") or 1800)
        now = self._clock()
        self._access, self._expires_at = access, now + ttl
        self._margin = min(self._margin, ttl / 2)  # a short-lived token must still be usable
        rotated = answer.get("refresh_token")
        self._refresh_token = rotated if isinstance(rotated, str) and rotated else used
        if self._store is not None:
            self._store.save(SYSTEM, self.connection, {"access_token": access, "expires_at": self._expires_at,
                                                       "refresh_token": self._refresh_token})
        log.info("HubSpot connection %r: access token refreshed (valid %.0fs)", self.connection, ttl)
        return access

    def refresh_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """``HttpClient``'s refresh hook: a new token, then the same request carrying it."""
        request.headers["Authorization"] = f"Bearer {self.refresh()}"
        return request


def credentials_from_settings(settings: Settings, connection: str, *, post: TokenPoster,
                              tokens: TokenStore | None = None,
                              clock: Callable[[], float] = time.time) -> BearerToken | OAuthTokens:
    """The auth for ``connection``: its private-app token, else OAuth; ``SettingsError`` naming what to set."""
    conf = HubSpotSettings.of(settings, connection)
    if conf.token:
        return BearerToken(conf.token)
    client_id, secret, refresh = conf.oauth_client_id, conf.app_client_secret, conf.refresh_token
    stored = tokens.load(SYSTEM, connection) if tokens is not None and not refresh else None
    has_refresh = bool(refresh or (stored or {}).get("refresh_token"))
    if not (client_id or refresh or stored):
        raise SettingsError(
            f"HubSpot connection {connection!r} has no credentials: set {setting_name('token', connection)} "
            f"(private app), or {setting_name('oauth_client_id', 'default')}, "
            f"{setting_name('client_secret', 'default')} and {setting_name('refresh_token', connection)} (OAuth app)")
    missing = [setting_name(name, "default" if name != "refresh_token" else connection)
               for name, value in (("oauth_client_id", client_id), ("client_secret", secret),
                                   ("refresh_token", has_refresh)) if not value]
    if missing:
        raise SettingsError(f"HubSpot connection {connection!r} uses OAuth but {', '.join(missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} not set")
    assert client_id is not None and secret is not None
    return OAuthTokens(connection=connection, client_id=client_id, client_secret=secret, refresh_token=refresh,
                       post=post, tokens=tokens, clock=clock)
