"""OAuth for the Salesforce sandbox: the JWT bearer and refresh-token grants, and session checks.

``POST /services/oauth2/token`` answers like Salesforce: a token response without
``expires_in`` (Salesforce never says when a session ends: it answers 401 ``INVALID_SESSION_ID``
once it has), a refresh token only when the refresh grant rotates them, and errors as
``{"error", "error_description"}`` with status 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from sync.sandbox.salesforce.schema import ORG_ID, OWNER_ID

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")
MAX_ASSERTION_LIFETIME = 300  # seconds an assertion's exp may lie ahead (Salesforce asks for ~3 minutes)


class OAuthError(Exception):
    """A refused token request: HTTP status, OAuth ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        """The JSON body Salesforce sends."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Credentials:
    """What the sandbox accepts: the connected app, its user, and the JWT keys by consumer key."""

    client_id: str
    client_secret: str
    refresh_token: str
    username: str
    jwt_public_keys: Mapping[str, str]


class Sessions:
    """Issued access tokens (with expiry) and valid refresh tokens; the caller holds the lock."""

    def __init__(self, credentials: Credentials, *, clock: Callable[[], float], ttl: int, rotate: bool,
                 rng: random.Random) -> None:
        self.credentials, self.clock, self.ttl, self.rotate, self.rng = credentials, clock, ttl, rotate, rng
        self.access: dict[str, float] = {}  # token -> expiry (clock seconds)
        self.refresh_tokens: set[str] = {credentials.refresh_token}
        self.issued = 0

    def _random(self, n: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def issue(self) -> str:
        """A new access token valid for ``ttl`` seconds (Salesforce's ``00D…!…`` shape)."""
        token = f"{ORG_ID[:15]}!{self._random(40)}.{self._random(56)}"
        self.access[token] = self.clock() + self.ttl
        self.issued += 1
        return token

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` was issued here and has not expired (expired ones are forgotten)."""
        expiry = self.access.get(token or "")
        if expiry is None:
            return False
        if self.clock() >= expiry:
            del self.access[token or ""]
            return False
        return True

    def expire_all(self) -> None:
        """End every session (the next API call answers 401)."""
        self.access.clear()

    def grant(self, form: Mapping[str, str], base_url: str) -> dict[str, Any]:
        """Answer a token request; raises ``OAuthError`` for anything Salesforce would refuse."""
        grant_type = form.get("grant_type", "")
        new_refresh = None
        if grant_type == JWT_GRANT:
            self._check_assertion(form.get("assertion", ""), base_url)
        elif grant_type == "refresh_token":
            new_refresh = self._check_refresh(form)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        issued_at = str(int(self.clock() * 1000))
        identity = f"{base_url}/id/{ORG_ID}/{OWNER_ID}"
        digest = hmac.new(self.credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        body: dict[str, Any] = {
            "access_token": self.issue(), "instance_url": base_url, "id": identity, "token_type": "Bearer",
            "issued_at": issued_at, "signature": base64.b64encode(digest.digest()).decode(),
            "scope": "api refresh_token" if grant_type == "refresh_token" else "api",
        }
        if new_refresh:
            body["refresh_token"] = new_refresh
        return body

    def _check_refresh(self, form: Mapping[str, str]) -> str | None:
        creds = self.credentials
        if form.get("client_id") != creds.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(form.get("client_secret", ""), creds.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")
        token = form.get("refresh_token", "")
        if token not in self.refresh_tokens:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        if not self.rotate:
            return None
        self.refresh_tokens.discard(token)
        fresh = f"5Aep{self._random(83)}"
        self.refresh_tokens.add(fresh)
        return fresh

    def _check_assertion(self, assertion: str, base_url: str) -> None:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        key = self.credentials.jwt_public_keys.get(str(claims.get("iss", "")))
        if key is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audiences = [a for a in (base_url, *LOGIN_HOSTS) if a]
        try:
            # the clock is injectable, so time claims are checked below against it, not by PyJWT
            claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=audiences,
                                options={"require": ["iss", "sub", "aud", "exp"], "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except (jwt.PyJWTError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims["sub"] != self.credentials.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        now = self.clock()
        try:
            exp = float(claims["exp"])
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if exp <= now:
            raise OAuthError("invalid_grant", "expired authorization code")
        if exp > now + MAX_ASSERTION_LIFETIME:
            raise OAuthError("invalid_grant", "invalid assertion: exp is too far in the future")
