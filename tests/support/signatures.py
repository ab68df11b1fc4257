"""Every webhook sender's signature, written from the vendor's documentation, never with lifesync's verifiers.

A receiver test that signed with the code under test would pass whatever that code computes;
these signers are the independent side of each check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def meta_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` (WhatsApp, Messenger, Instagram): hex HMAC-SHA256 of the body under the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def tiktok_signature(secret: str, body: bytes, timestamp: int) -> str:
    """``Tiktok-Signature``: ``t=<seconds>,s=<hex HMAC-SHA256 of "<t>." + body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},s={mac}"


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = "sha1") -> str:
    """``X-Twilio-Signature``: the URL then every name/value pair in sorted order, HMAC under the auth token, base64."""
    text = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(token.encode(), text.encode(), getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def hubspot_v1(secret: str, body: bytes) -> str:
    """HubSpot's v1 ``X-HubSpot-Signature``: hex SHA-256 of the client secret then the body."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


def hubspot_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    """HubSpot's v2 ``X-HubSpot-Signature``: hex SHA-256 of secret, method, URI and body."""
    return hashlib.sha256(f"{secret}{method}{uri}".encode() + body).hexdigest()


def hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's ``X-HubSpot-Signature-v3``: base64 HMAC-SHA256 of method, URI, body and the millisecond timestamp."""
    mac = hmac.new(secret.encode(), f"{method}{uri}".encode() + body + timestamp.encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def respondio_signature(key: str, body: bytes) -> str:
    """respond.io's ``X-Webhook-Signature``: base64 HMAC-SHA256 of the raw body under the webhook's signing key."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def generic_signature(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """``X-Lifesync-Signature``: hex HMAC-SHA256 of ``"<timestamp>." + body`` (of the body alone without one)."""
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def basic_auth(password: str, user: str = "salesforce") -> dict[str, str]:
    """The ``Authorization`` header carrying a Salesforce Outbound Message's shared secret as its password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
