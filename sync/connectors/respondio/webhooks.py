"""respond.io webhooks: signature check and inbox events.

Signature: ``X-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body keyed with the
webhook's signing key. respond.io gives every webhook (one per event type) its own key, so
a connection may hold several keys; a signature matching any of them is accepted.

Body, as far as public receivers show it (respond.io does not publish a full schema): a JSON
object with ``event_type`` (``message.received``, ``message.sent``, ``contact.created``,
``contact.updated``, ``contact.lifecycle.updated``, ``contact.tag.updated``,
``contact.assignee.updated``, ``conversation.opened``, ``conversation.closed``, …),
``event_id``, the ``contact`` object (the API's contact shape; ``lifecycle`` a name or
``{id, name}``), and per type ``channel {id, name, source}``, ``message {messageId |
channelMessageId, traffic, message {type, text}, timestamp}``, ``conversation
{openedBySource | source, openedTime, closedTime, …}`` and a top-level ``timestamp``.
Where names vary or are unconfirmed, ``split`` reads every known spelling, so the mapping
sees one shape whatever the variant.

Each delivery becomes one event keyed by ``event_id`` (message events without one: by the
message id; otherwise the SHA-256 of the canonical body). The record handed to
``config/mappings/respondio_event.yaml`` is the event's ``contact`` object with one added
key, ``event``: ``id``, ``type``, ``timestamp`` (the event's own time when it has one),
``received_at``, ``direction`` (message events), ``channel`` (the channel's ``source``),
``channel_id``, ``message_id``, ``conversation_source`` (``ctc_ads`` for a conversation
opened from a click-to-chat ad) and ``referral`` (the ad's metadata when the body has it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches

SOURCE = "respondio"
OBJECT = "event"
_DIRECTIONS = {"message.received": "inbound", "message.sent": "outbound"}
_TRAFFIC = {"incoming": "inbound", "outgoing": "outbound"}


class PayloadError(ValueError):
    """The verified body is not a respond.io webhook event; the message says what is wrong."""


def sign(key: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` respond.io would send for ``body``."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def verify(keys: Iterable[str], body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` under one of ``keys`` (each checked in constant time)."""
    if not header:
        return False
    given = header.strip()
    ok = False
    for key in keys:
        ok |= matches(sign(key, body), given)
    return ok


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", {}, [])), None)


def _event_fields(payload: dict[str, Any], event_type: str, received_at: datetime) -> dict[str, Any]:
    message, conversation = _dict(payload.get("message")), _dict(payload.get("conversation"))
    channel = _dict(payload.get("channel"))
    opened = event_type == "conversation.opened"
    return {
        "type": event_type,
        "timestamp": _first(payload.get("timestamp"), message.get("timestamp"),
                            conversation.get("openedTime") if opened else conversation.get("closedTime")),
        "received_at": received_at.isoformat(),
        "direction": _DIRECTIONS.get(event_type) or _TRAFFIC.get(str(message.get("traffic") or payload.get("traffic"))),
        "channel": _first(channel.get("source"), conversation.get("channel"), payload.get("channel_source")),
        "channel_id": _first(channel.get("id"), message.get("channelId")),
        "message_id": _first(message.get("messageId"), message.get("channelMessageId"),
                             payload.get("channelMessageId")),
        "conversation_source": _first(conversation.get("openedBySource"), conversation.get("source"),
                                      payload.get("source")),
        "referral": _first(_dict(conversation.get("referral")), _dict(conversation.get("meta")),
                           _dict(payload.get("referral")), _dict(payload.get("meta"))),
    }


def _key(payload: dict[str, Any], event: dict[str, Any]) -> str:
    if payload.get("event_id") not in (None, ""):
        return str(payload["event_id"])
    if event["direction"] and event["message_id"] is not None:
        return f"{event['type']}:{event['message_id']}"
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def split(payload: Any, received_at: datetime, connection: str = "default") -> list[InboundEvent]:
    """The inbox event of one verified delivery; raises PayloadError for a body of the wrong shape."""
    if not isinstance(payload, dict):
        raise PayloadError("expected a JSON object with event_type and contact")
    event_type = payload.get("event_type") or payload.get("event")
    if not isinstance(event_type, str) or not event_type.strip():
        raise PayloadError('"event_type" must be a non-empty string')
    contact = payload.get("contact")
    if not isinstance(contact, dict) or contact.get("id") in (None, ""):
        raise PayloadError('"contact" must be an object with an id')
    event = _event_fields(payload, event_type.strip(), received_at)
    key = _key(payload, event)
    record = {**contact, "event": {"id": key, **event}}
    return [InboundEvent(SOURCE, OBJECT, key, record, connection)]
