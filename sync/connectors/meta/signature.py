"""Meta webhook signatures (WhatsApp Cloud API, Messenger, Instagram) and the GET handshake.

``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the raw body bytes keyed with the
app secret. The raw bytes are verified, never a re-serialised body, and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from sync.connectors.signatures import matches


def sign(secret: str, body: bytes) -> str:
    """The header value Meta would send for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is Meta's signature of ``body`` under ``secret``."""
    if not header or not header.startswith("sha256="):
        return False
    return matches(sign(secret, body), header.strip())


def handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo for a valid subscription handshake, or None (answer 403)."""
    token = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not matches(verify_token, token):
        return None
    return params.get("hub.challenge") or ""
