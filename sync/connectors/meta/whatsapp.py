"""WhatsApp Cloud API webhooks: split a delivery into inbox events.

A delivery (``object: whatsapp_business_account``) holds entries → changes → ``value``. A
change of field ``messages`` carries ``messages[]`` and/or ``statuses[]``; one of field
``automatic_events`` carries Meta's own detections of a lead or a purchase in a chat that
began with a click-to-WhatsApp ad; one of field ``user_preferences`` a user's choice to stop or
resume marketing messages from the business (their consent). Other fields carry nothing the lifecycle model records
and are acknowledged without being stored. Every event's record is the ``value`` narrowed
to that event, which is what its mapping in ``config/mappings/whatsapp_*.yaml`` reads:

* a message → ``{messaging_product, metadata, contacts: [its sender], messages: [it]}``,
  keyed by its wamid;
* a status → ``{metadata, statuses: [it]}`` (+ ``contacts: [its recipient]`` when the
  value names them), keyed by ``<wamid>:<status>``: statuses arrive out of order and again;
* an automatic event → ``{messaging_product, metadata, automatic_events: [it]}`` (+
  ``amount``), keyed by ``automatic_event:<wamid>:<event_name>`` so it can never take the
  key of the message it was detected in;
* a user preference → ``{messaging_product, metadata, contacts: [the user], user_preferences: [it],
  preference_id}``, keyed by ``preference_id``, ``user_preference:<wa_id>:<category>:<value>:<timestamp>``
  (the same choice sent again is the same event).

Business-scoped user ids (BSUID, ``contacts[].user_id``, ``messages[].from_user_id``,
``statuses[].recipient_user_id``) identify a user to one business; a username user may come
with no phone number at all (no ``wa_id``, no ``from``). The record then also holds
``scoped_user_id: "<phone_number_id>:<user_id>"``, the BSUID qualified by the business
number that received it, as Messenger qualifies a PSID by its page. ``amount`` is an
automatic purchase's ``custom_data.value`` divided by 1000: Meta sends the amount × 1000.
``scoped_user_id``, ``amount`` and a status's ``contacts`` are left out when there is
nothing to put there, so a phone-number user's record is what it always was.

A body of the wrong shape raises ``PayloadError`` naming the path that is wrong and what
was expected there, before anything is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sync.connectors.events import InboundEvent

SOURCE = "whatsapp"
_JSON_TYPES = ((dict, "an object"), (list, "a list"), (str, "a string"), (bool, "a boolean"),
               (int, "a number"), (float, "a number"), (type(None), "null"))


class PayloadError(ValueError):
    """The body is not a WhatsApp webhook delivery; the message says what is wrong."""


def _a(value: Any) -> str:
    """What a JSON value is, for error messages ("a list", "a number", ...)."""
    return next(name for kind, name in _JSON_TYPES if isinstance(value, kind))


def _id_text(value: Any) -> str | None:
    """An identifier as text (Meta sends them as strings; a number is accepted), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _changes(payload: Any) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(path, field, value) of every change of a delivery, checking its shape on the way."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise PayloadError('expected a JSON object with "object": "whatsapp_business_account"')
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError(f'"entry" must be a list, not {_a(entries)}')
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"entry[{n}] must be an object with a list of changes, not {_a(entry)}")
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            raise PayloadError(f"entry[{n}].changes must be a list, not {_a(changes)}")
        for m, change in enumerate(changes):
            where = f"entry[{n}].changes[{m}]"
            if not isinstance(change, dict):
                raise PayloadError(f"{where} must be an object with a field and a value, not {_a(change)}")
            field = change.get("field")
            if field is not None and not isinstance(field, str):
                raise PayloadError(f"{where}.field must be a string, not {_a(field)}")
            value = change.get("value")
            if not isinstance(value, dict):
                raise PayloadError(f"{where}.value must be an object, not {_a(value)}")
            metadata = value.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                raise PayloadError(f"{where}.value.metadata must be an object, not {_a(metadata)}")
            number = (metadata or {}).get("phone_number_id")
            if number is not None and _id_text(number) is None:
                raise PayloadError(f"{where}.value.metadata.phone_number_id must be a string, not {_a(number)}")
            yield where, field, value


def phone_number_ids(payload: Any) -> set[str]:
    """Every ``metadata.phone_number_id`` in a delivery (used to route it to a connection).

    Raises PayloadError, as ``split`` does, when the delivery is not shaped like one.
    """
    found = set()
    for _, _, value in _changes(payload):
        number = _id_text((value.get("metadata") or {}).get("phone_number_id"))
        if number:
            found.add(number)
    return found


def split(payload: Any, connection: str = "default") -> list[InboundEvent]:
    """The inbox events of one delivery; raises PayloadError for a body of the wrong shape."""
    events: list[InboundEvent] = []
    for where, field, value in _changes(payload):
        if field in (None, "messages"):
            contacts = _objects(value, "contacts", f"{where}.value")
            events += _messages(value, contacts, connection, where)
            events += _statuses(value, contacts, connection, where)
        elif field == "automatic_events":
            events += _automatic_events(value, connection, where)
        elif field == "user_preferences":
            events += _user_preferences(value, _objects(value, "contacts", f"{where}.value"), connection, where)
    return events


def _objects(value: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """``value[key]``, a list of objects (missing or null: none); PayloadError otherwise."""
    items = value.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise PayloadError(f"{where}.{key} must be a list, not {_a(items)}")
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise PayloadError(f"{where}.{key}[{k}] must be an object, not {_a(item)}")
    return items


def _contact_for(contacts: list[dict[str, Any]], wa_id: str | None, user_id: str | None) -> list[dict[str, Any]]:
    """The contact of the user an event names by ``wa_id`` or business-scoped ``user_id``.

    The value's only contact when none matches (Meta sends one contact per value, and a
    phone number may be written differently in ``from`` and ``wa_id``); no contact when
    several are listed and none is the user's: another person's must not be used.
    """
    mine = [c for c in contacts
            if (wa_id and _id_text(c.get("wa_id")) == wa_id) or (user_id and _id_text(c.get("user_id")) == user_id)]
    return mine[:1] or (contacts if len(contacts) == 1 else [])


def _scoped_user_id(value: dict[str, Any], contact: list[dict[str, Any]], user_id: str | None) -> dict[str, str]:
    """``{"scoped_user_id": "<phone_number_id>:<BSUID>"}`` when both are known, else nothing.

    ``user_id`` is the event's own (``from_user_id``, ``recipient_user_id``); the contact's
    ``user_id`` stands in when the event has none.
    """
    user_id = user_id or (_id_text(contact[0].get("user_id")) if contact else None)
    number = _id_text((value.get("metadata") or {}).get("phone_number_id"))
    return {"scoped_user_id": f"{number}:{user_id}"} if number and user_id else {}


def _messages(value: dict[str, Any], contacts: list[dict[str, Any]], connection: str,
              where: str) -> list[InboundEvent]:
    out = []
    for k, msg in enumerate(_objects(value, "messages", f"{where}.value")):
        if _id_text(msg.get("id")) is None:
            raise PayloadError(f"{where}.value.messages[{k}] must be an object with an id")
        user_id = _id_text(msg.get("from_user_id"))
        contact = _contact_for(contacts, _id_text(msg.get("from")), user_id)
        record = {"messaging_product": value.get("messaging_product"), "metadata": value.get("metadata"),
                  "contacts": contact, "messages": [msg], **_scoped_user_id(value, contact, user_id)}
        out.append(InboundEvent(SOURCE, "message", str(msg["id"]), record, connection))
    return out


def _statuses(value: dict[str, Any], contacts: list[dict[str, Any]], connection: str,
              where: str) -> list[InboundEvent]:
    out = []
    for k, st in enumerate(_objects(value, "statuses", f"{where}.value")):
        if _id_text(st.get("id")) is None or _id_text(st.get("status")) is None:
            raise PayloadError(f"{where}.value.statuses[{k}] must be an object with an id and a status")
        user_id = _id_text(st.get("recipient_user_id"))
        contact = _contact_for(contacts, _id_text(st.get("recipient_id")), user_id)
        record = {"metadata": value.get("metadata"), "statuses": [st],
                  **({"contacts": contact} if contact else {}), **_scoped_user_id(value, contact, user_id)}
        out.append(InboundEvent(SOURCE, "status", f"{st['id']}:{st['status']}", record, connection))
    return out


def _automatic_events(value: dict[str, Any], connection: str, where: str) -> list[InboundEvent]:
    out = []
    for k, ev in enumerate(_objects(value, "automatic_events", f"{where}.value")):
        at = f"{where}.value.automatic_events[{k}]"
        if _id_text(ev.get("id")) is None or not isinstance(ev.get("event_name"), str) or not ev["event_name"]:
            raise PayloadError(f"{at} must be an object with an id and an event_name")
        custom = ev.get("custom_data")
        if custom is not None and not isinstance(custom, dict):
            raise PayloadError(f"{at}.custom_data must be an object, not {_a(custom)}")
        amount = _amount((custom or {}).get("value"))
        record = {"messaging_product": value.get("messaging_product"), "metadata": value.get("metadata"),
                  "automatic_events": [ev], **({"amount": amount} if amount is not None else {})}
        key = f"automatic_event:{ev['id']}:{ev['event_name']}"
        out.append(InboundEvent(SOURCE, "automatic_event", key, record, connection))
    return out


def _user_preferences(value: dict[str, Any], contacts: list[dict[str, Any]], connection: str,
                      where: str) -> list[InboundEvent]:
    out = []
    for k, pref in enumerate(_objects(value, "user_preferences", f"{where}.value")):
        wa_id = _id_text(pref.get("wa_id"))
        parts = [wa_id, _id_text(pref.get("category")), _id_text(pref.get("value")), _id_text(pref.get("timestamp"))]
        if any(part is None for part in parts):
            raise PayloadError(f"{where}.value.user_preferences[{k}] must be an object with a wa_id, category, value "
                               "and timestamp")
        key = "user_preference:" + ":".join(str(part) for part in parts)
        record = {"messaging_product": value.get("messaging_product"), "metadata": value.get("metadata"),
                  "contacts": _contact_for(contacts, wa_id, None), "user_preferences": [pref], "preference_id": key}
        out.append(InboundEvent(SOURCE, "user_preference", key, record, connection))
    return out


def _amount(thousandths: Any) -> float | None:
    """An automatic purchase's amount: Meta's ``custom_data.value`` (the amount × 1000) / 1000."""
    if isinstance(thousandths, bool) or not isinstance(thousandths, str | int | float):
        return None
    try:
        amount = float(Decimal(str(thousandths).strip()) / 1000)
    except ArithmeticError:  # not a number (InvalidOperation), or beyond Decimal's range
        return None
    return amount if math.isfinite(amount) else None
