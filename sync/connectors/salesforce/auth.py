"""Salesforce OAuth: the JWT bearer flow or the refresh-token flow, and where tokens are kept.

Which flow runs follows the settings of the connection:

- **JWT bearer** when ``LIFESYNC_SALESFORCE_PRIVATE_KEY`` is set (PEM text, or a path to a PEM
  file): an RS256 assertion ``{iss: client id, sub: username, aud: login host, exp: now + 3 min}``
  is exchanged at ``{login}/services/oauth2/token`` (grant
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``). No refresh token exists: re-auth signs anew.
- **Refresh token** otherwise (client id, client secret, refresh token). Salesforce may
  rotate the refresh token: the new one is saved and preferred on the next start, unless the
  environment's token changed since (a re-authorised app), which then wins.

Every answer names the ``instance_url`` all API calls must use. ``{access_token,
instance_url, issued_at}`` (and a rotated ``refresh_token``) are saved in the ``TokenStore``
(``sync.store.credentials``, encrypted in the database) so a new run reuses the session; a 401
``INVALID_SESSION_ID`` makes the client call ``reauthenticate`` once. Tokens never reach a
log line or an error message.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt

from sync.connectors.salesforce.errors import read_error
from sync.connectors.salesforce.settings import SalesforceSettings
from sync.errors import AuthError, SettingsError
from sync.http import Action, HttpClient, RetryPolicy, Rule, make_session
from sync.settings import Settings

log = logging.getLogger(__name__)

SYSTEM = "salesforce"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a URL path, not a secret
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 180  # seconds; Salesforce accepts at most a few minutes

# The token endpoint answers 400 {"error": "invalid_grant", ...} for bad credentials: not a payload problem.
_REFUSED = Rule(Action.FAIL, AuthError, "the credentials were refused (check the connected app, the user "
                                        "and the key or refresh token in the LIFESYNC_SALESFORCE_* settings)")
TOKEN_ERRORS = {400: _REFUSED, 401: _REFUSED, 403: _REFUSED}


class TokenStore(Protocol):
    """Where OAuth state is kept between runs (``sync.store.credentials`` provides the encrypted one)."""

    def load(self, system: str, connection: str) -> dict[str, Any] | None:
        """The saved state of (system, connection), or None."""

    def save(self, system: str, connection: str, data: dict[str, Any]) -> None:
        """Replace the saved state of (system, connection)."""


@dataclass(frozen=True)
class Token:
    """A Salesforce session: the bearer token and the org's own API host."""

    access_token: str
    instance_url: str
    issued_at: int  # ms since the epoch, as Salesforce reports it

    def __repr__(self) -> str:
        return f"Token(instance_url={self.instance_url!r}, issued_at={self.issued_at})"  # never the token


def _setting_name(name: str, connection: str) -> str:
    return SalesforceSettings.variable(name, connection)


def _fingerprint(secret: str) -> str:
    """A digest that tells whether a secret changed without storing the secret twice."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def load_private_key(value: str, setting: str) -> str:
    """The PEM text of ``value``: the PEM itself (escaped newlines allowed) or a path to a PEM file."""
    text = value.replace("\\n", "\n").strip()
    if text.startswith("-----BEGIN"):
        return text + "\n"
    path = Path(value).expanduser()
    try:
        text = path.read_text()
    except OSError:
        raise SettingsError(f"{setting} is neither PEM text nor a readable file (tried {str(path)!r})") from None
    if "-----BEGIN" not in text:
        raise SettingsError(f"{setting} points at {str(path)!r}, which holds no PEM private key")
    return text


def audience(login_url: str) -> str:
    """The JWT ``aud``: the login URL's scheme and host (``https://login.salesforce.com``)."""
    parts = urlsplit(login_url)
    return f"{parts.scheme or 'https'}://{parts.netloc or parts.path}".rstrip("/")


class SalesforceAuth:
    """Obtains and renews Salesforce sessions for one connection."""

    def __init__(self, settings: Settings, connection: str = "default", *, tokens: TokenStore | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        conf = SalesforceSettings.of(settings, connection)
        self.connection, self.tokens, self.clock = connection, tokens, clock
        self.login_url = conf.login_url.rstrip("/")
        self.client_id = conf.client_id
        self.username = conf.username
        key, secret, refresh = conf.private_key, conf.client_secret, conf.refresh_token
        if not self.client_id or not ((key and self.username) or (secret and refresh)):
            def name(n: str) -> str:
                return _setting_name(n, connection)

            raise SettingsError(
                f"Salesforce connection {connection!r} has no usable credentials: set {name('client_id')} with "
                f"{name('username')} and {name('private_key')} (JWT bearer flow), or with {name('client_secret')} "
                f"and {name('refresh_token')} (refresh-token flow)")
        self.flow = "jwt" if key and self.username else "refresh_token"
        self._private_key = load_private_key(key, _setting_name("private_key", connection)) if key else None
        self._client_secret, self._env_refresh = secret, refresh
        self._token: Token | None = None
        self.http = HttpClient(make_session(self.login_url), vendor="Salesforce login", overrides=TOKEN_ERRORS,
                               policy=RetryPolicy(max_attempts=3), sleep=sleep, read_error=read_error)

    def __repr__(self) -> str:
        return f"SalesforceAuth(connection={self.connection!r}, flow={self.flow!r})"

    def token(self) -> Token:
        """The current session: held in memory, else the saved one, else a new one."""
        if self._token is None:
            saved = self._saved()
            if saved.get("access_token") and saved.get("instance_url"):
                self._token = Token(saved["access_token"], saved["instance_url"], int(saved.get("issued_at") or 0))
            else:
                self._token = self.reauthenticate()
        return self._token

    def reauthenticate(self) -> Token:
        """A new session from the token endpoint (saved for the next run); AuthError when refused."""
        body = self._jwt_grant() if self.flow == "jwt" else self._refresh_grant()
        response = self.http.request("POST", TOKEN_PATH, data=body)
        data = response.json()
        if not data.get("access_token") or not data.get("instance_url"):
            raise AuthError("Salesforce login answered without an access token or instance_url")
        issued = int(data.get("issued_at") or self.clock() * 1000)
        self._token = Token(data["access_token"], data["instance_url"].rstrip("/"), issued)
        self._save(data)
        log.info("Salesforce connection %s: new session (%s flow) on %s", self.connection, self.flow,
                 self._token.instance_url)
        return self._token

    def assertion(self) -> str:
        """A signed RS256 JWT bearer assertion valid for three minutes."""
        claims = {"iss": self.client_id, "sub": self.username, "aud": audience(self.login_url),
                  "exp": int(self.clock()) + ASSERTION_LIFETIME}
        try:
            return jwt.encode(claims, self._private_key, algorithm="RS256")
        except (ValueError, TypeError) as exc:
            setting = _setting_name("private_key", self.connection)
            raise SettingsError(f"{setting} is not a usable RSA private key ({type(exc).__name__})") from None

    def _jwt_grant(self) -> dict[str, str]:
        return {"grant_type": JWT_GRANT, "assertion": self.assertion()}

    def _refresh_grant(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": str(self.client_id),
                "client_secret": str(self._client_secret), "refresh_token": self._refresh_token()}

    def _refresh_token(self) -> str:
        """The stored (rotated) refresh token, unless the environment's token changed since it was stored."""
        env = str(self._env_refresh)
        saved = self._saved()
        if saved.get("refresh_token") and saved.get("seed") == _fingerprint(env):
            return str(saved["refresh_token"])
        return env

    def _saved(self) -> dict[str, Any]:
        return dict(self.tokens.load(SYSTEM, self.connection) or {}) if self.tokens is not None else {}

    def _save(self, answer: dict[str, Any]) -> None:
        if self.tokens is None or self._token is None:
            return
        data: dict[str, Any] = {"access_token": self._token.access_token, "instance_url": self._token.instance_url,
                                "issued_at": self._token.issued_at, "flow": self.flow}
        if self.flow == "refresh_token":
            # keep the token that works now: the rotated one when Salesforce sent one
            data["refresh_token"] = answer.get("refresh_token") or self._refresh_token()
            data["seed"] = _fingerprint(str(self._env_refresh))
        self.tokens.save(SYSTEM, self.connection, data)
