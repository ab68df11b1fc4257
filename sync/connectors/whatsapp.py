"""WhatsApp Cloud API webhooks: split a delivery into inbox events.

A delivery (``object: whatsapp_business_account``) holds entries → changes → ``value`` with
``messages[]`` and/or ``statuses[]``. Each inbound message becomes one event whose record is
the ``value`` narrowed to that message and its sender's contact — exactly what
``config/mappings/whatsapp_message.yaml`` reads — keyed by its wamid. Each status becomes
one event keyed by (wamid, status): statuses arrive out of order and are delivered again.
"""

from __future__ import annotations

from typing import Any

from sync.inbox import InboundEvent

SOURCE = "whatsapp"


class PayloadError(ValueError):
    """The body is not a WhatsApp webhook delivery; the message says what is wrong."""


def phone_number_ids(payload: dict[str, Any]) -> set[str]:
    """Every ``metadata.phone_number_id`` in a delivery (used to route it to a connection)."""
    return {str(c.get("value", {}).get("metadata", {}).get("phone_number_id"))
            for e in payload.get("entry") or [] for c in e.get("changes") or []
            if isinstance(c, dict) and c.get("value", {}).get("metadata", {}).get("phone_number_id")}


def _contact_for(value: dict[str, Any], message: dict[str, Any]) -> list[dict[str, Any]]:
    contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
    sender = message.get("from")
    mine = [c for c in contacts if sender and c.get("wa_id") == sender]
    return mine or contacts[:1]


def split(payload: Any, connection: str = "default") -> list[InboundEvent]:
    """The inbox events of one delivery; raises PayloadError for a body of the wrong shape."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise PayloadError('expected a JSON object with "object": "whatsapp_business_account"')
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError('"entry" must be a list')
    events: list[InboundEvent] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            raise PayloadError(f"entry[{n}] must be an object with a list of changes")
        for m, change in enumerate(entry.get("changes", [])):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise PayloadError(f"entry[{n}].changes[{m}].value must be an object")
            if change.get("field") not in (None, "messages"):
                continue
            events += _messages(value, connection, f"entry[{n}].changes[{m}]")
            events += _statuses(value, connection, f"entry[{n}].changes[{m}]")
    return events


def _messages(value: dict[str, Any], connection: str, where: str) -> list[InboundEvent]:
    out = []
    for k, msg in enumerate(value.get("messages") or []):
        if not isinstance(msg, dict) or not msg.get("id"):
            raise PayloadError(f"{where}.value.messages[{k}] must be an object with an id")
        record = {"messaging_product": value.get("messaging_product"), "metadata": value.get("metadata"),
                  "contacts": _contact_for(value, msg), "messages": [msg]}
        out.append(InboundEvent(SOURCE, "message", str(msg["id"]), record, connection))
    return out


def _statuses(value: dict[str, Any], connection: str, where: str) -> list[InboundEvent]:
    out = []
    for k, st in enumerate(value.get("statuses") or []):
        if not isinstance(st, dict) or not st.get("id") or not st.get("status"):
            raise PayloadError(f"{where}.value.statuses[{k}] must be an object with an id and a status")
        record = {"metadata": value.get("metadata"), "statuses": [st]}
        out.append(InboundEvent(SOURCE, "status", f"{st['id']}:{st['status']}", record, connection))
    return out
