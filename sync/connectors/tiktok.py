"""TikTok Business Messaging webhooks: the signature, and a delivery split into an inbox event.

Signature: ``Tiktok-Signature: t=<unix seconds>,s=<hex>`` where ``s`` is HMAC-SHA256, keyed
with the app secret, of ``"<t>.<raw body>"``. ``t`` must lie within the replay window both
ways (a stale or a far-future stamp is refused); the raw bytes are verified, never a
re-serialised body, and compared in constant time.

A delivery is one event: ``event``, ``user_openid`` (the business account), ``create_time``
and ``content`` — a JSON *string* holding ``conversation_id``, ``message_id``,
``timestamp`` (ms), ``type``, ``from_user.id``, ``to_user.id``, ... ``im_receive_msg`` (a
person wrote to the business) and ``im_send_msg`` (the echo of a message the business sent)
become one inbox record each::

    {"id": "<user_openid>:<message_id>", "event": ..., "user_openid": ...,
     "user_id": "<user_openid>:<the person's id>", "create_time": ..., "content": {parsed}}

The person's TikTok id is qualified by the business account (``user_id``), like a
Messenger PSID by its page. ``im_mark_read_msg`` (read receipts) and any other event
(``tiktok.ping`` tests, ...) carry nothing the lifecycle model records: they are
acknowledged and not stored.

``TikTokSettings`` holds one connection's settings (``LIFESYNC_TIKTOK_APP_SECRET``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from sync.connectors import jsonread
from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches
from sync.settings import ConnectionSettings, setting

SOURCE = "tiktok"
MESSAGE_EVENTS = {"im_receive_msg": ("from_user", "inbound"), "im_send_msg": ("to_user", "outbound")}
_STAMP, _HEX = re.compile(r"\d{1,12}"), re.compile(r"[0-9a-fA-F]{64}")


class SignatureError(ValueError):
    """The signature header is missing, malformed, wrong or outside the replay window."""


class PayloadError(ValueError):
    """The body is not a TikTok messaging webhook delivery; the message says what is wrong."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Tiktok-Signature`` value TikTok would send for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},s={digest}"


def verify(secret: str, body: bytes, header: str | None, tolerance: int, now: float | None = None) -> None:
    """Raise SignatureError unless ``header`` signs ``body`` with a timestamp inside the window."""
    parts = dict(p.strip().partition("=")[::2] for p in (header or "").split(","))
    stamp, given = parts.get("t", ""), parts.get("s", "")
    if not _STAMP.fullmatch(stamp) or not _HEX.fullmatch(given):
        raise SignatureError("Tiktok-Signature must look like t=<unix seconds>,s=<64 hex digits>")
    expected = sign(secret, body, int(stamp)).rpartition("s=")[2]
    if not matches(expected, given.lower()):
        raise SignatureError("Tiktok-Signature does not match the body")
    if abs((now if now is not None else time.time()) - int(stamp)) > tolerance:
        raise SignatureError("Tiktok-Signature timestamp is outside the replay window")


def _content(payload: dict[str, Any]) -> dict[str, Any]:
    raw = payload.get("content")
    if isinstance(raw, str):
        try:
            raw = jsonread.loads(raw)
        except jsonread.JsonInputError as exc:
            raise PayloadError(f'"content": {exc}') from None
    if not isinstance(raw, dict):
        raise PayloadError('"content" must be a JSON object encoded as a string')
    return raw


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def split(payload: Any, connection: str = "default") -> list[InboundEvent]:
    """The inbox events of one delivery (none for read receipts and other events)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise PayloadError('expected a JSON object with an "event" name')
    if payload["event"] not in MESSAGE_EVENTS:
        return []
    account = _text(payload.get("user_openid"))
    if account is None:
        raise PayloadError('"user_openid" (the business account) is missing')
    content = _content(payload)
    message_id = _text(content.get("message_id"))
    if message_id is None:
        raise PayloadError('"content" has no message_id')
    stamp = content.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp <= 0:
        raise PayloadError('"content".timestamp must be Unix milliseconds')
    side = MESSAGE_EVENTS[payload["event"]][0]
    person = _text((content.get(side) or {}).get("id") if isinstance(content.get(side), dict) else None)
    if person is None:
        raise PayloadError(f'"content".{side}.id (the person in the conversation) is missing')
    key = f"{account}:{message_id}"
    record = {"id": key, "event": payload["event"], "user_openid": account, "user_id": f"{account}:{person}",
              "create_time": payload.get("create_time"), "content": content}
    return [InboundEvent(SOURCE, "message", key, record, connection)]


@dataclass(frozen=True)
class TikTokSettings(ConnectionSettings):
    """One TikTok Business Messaging connection: the app secret its webhooks are signed with."""

    platform: ClassVar[str] = "tiktok"

    app_secret: str | None = setting("LIFESYNC_TIKTOK_APP_SECRET")
