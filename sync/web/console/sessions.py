"""Console sign-in: a signed session cookie that names the API token a person signed in with.

- The cookie (``lifesync_console``, path ``/console``) is HttpOnly, SameSite=Lax, Secure when the
  request came over HTTPS, and lives at most :data:`LIFETIME`. It holds the token's public prefix
  and digest (``sync.access.tokens.credential``), the CSRF secret and the language: never the token.
- Every request re-checks that credential (``tokens.resume``), so revoking the token signs its
  sessions out at once, and the role shown is always the token's current one.
- The signing key is derived from ``LIFESYNC_SECRET_KEY`` (on the embedded SQLite default, its key
  file), the key every process already shares; only ``/console`` requests open a session, so the
  webhooks and the API never need it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from sync.access import tokens
from sync.access.roles import Principal
from sync.errors import SettingsError

PREFIX = "/console"
COOKIE = "lifesync_console"
LIFETIME = timedelta(hours=12)
CREDENTIAL = "credential"


def in_console(path: str) -> bool:
    """Whether a request path belongs to the console."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def signing_key(app: Flask) -> bytes | None:
    """The console's key (derived once per process), or None when this installation has none to derive it from."""
    ext = app.extensions["lifesync"]
    if "console_key" not in ext:
        from sync.store.credentials import fernet_key

        try:
            base = fernet_key(ext["settings"])
        except SettingsError as exc:
            ext["console_key"], ext["console_key_problem"] = None, str(exc)
        else:
            ext["console_key"] = hmac.new(base, b"lifesync console session", hashlib.sha256).digest()
            app.config["WTF_CSRF_SECRET_KEY"] = hmac.new(base, b"lifesync console csrf", hashlib.sha256).digest()
    return ext["console_key"]


def key_problem(app: Flask) -> str | None:
    """Why the console cannot sign anyone in (no key), or None."""
    signing_key(app)
    return app.extensions["lifesync"].get("console_key_problem")


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for ``/console`` only, with the console's own key."""

    salt = "lifesync-console"

    def open_session(self, app: Flask, request: Any) -> Any:
        """A session for console requests; every other request gets Flask's null session."""
        if not in_console(request.path):
            return None
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Sign with the console key (None when there is none: Flask then gives a null session)."""
        key = signing_key(app)
        if key is None:
            return None
        return URLSafeTimedSerializer(key, salt=self.salt, serializer=self.serializer, signer_kwargs={
            "key_derivation": self.key_derivation, "digest_method": self.digest_method})

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure whenever the request came over HTTPS (behind a proxy: as ProxyFix reports it)."""
        return request.is_secure


def install(app: Flask) -> None:
    """Use console sessions and their cookie settings in ``app``."""
    app.session_interface = ConsoleSessions()
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_PATH=PREFIX, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=LIFETIME)


def sign_in(presented: str, principal: Principal) -> None:
    """Start a fresh session for ``principal`` (nothing of an earlier session is kept but the language)."""
    language = session.get("lang")
    session.clear()
    session.permanent = True
    bootstrap = current_app.extensions["lifesync"]["settings"].connection_setting("ops", "token")
    session[CREDENTIAL] = list(tokens.credential(presented, bootstrap))
    if language:
        session["lang"] = language


def sign_out() -> None:
    """End the session (the language choice stays)."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def current_principal() -> Principal | None:
    """Who this console request acts as, re-checked against the token now; None when signed out."""
    kept = session.get(CREDENTIAL)
    if not (isinstance(kept, list) and len(kept) == 2 and all(isinstance(part, str) for part in kept)):
        return None
    ext = current_app.extensions["lifesync"]
    return tokens.resume(ext["store"], kept[0], kept[1], ext["settings"].connection_setting("ops", "token"))
