"""Messenger and Instagram messaging webhooks: split a delivery into inbox events.

Both platforms share one envelope: ``object`` (``page`` or ``instagram``), ``entry[]`` with
``id`` (the Facebook Page / Instagram professional account) and ``messaging[]`` events
(``standby[]`` too: the same events, received while another app owns the thread). Each
event becomes one inbox record that holds everything its mapping reads::

    {"id": <event key>, "object": "page", "page_id": <entry.id>, "user_id": "<page_id>:<psid>",
     "kind": "message" | "echo" | "postback" | "referral", "referral": {...} | null,
     "referral_from": "message" | "messaging" | "postback" | null, "event": <messaging item as sent>}

``user_id`` is the person's page-scoped id qualified by the page: a PSID / IGSID means
nothing without its page, and one person has a different one on every page. For an echo
(``message.is_echo``: a message the page itself sent) the person is the recipient, not the
sender. A web chat plugin visitor has ``sender.user_ref`` instead of an id.

An ad referral may sit in three places — ``message.referral`` (a new thread from an ad),
``messaging[].referral`` (an existing thread reopened from an ad or m.me link) and
``postback.referral`` (the Get Started button) — so the record carries whichever one the
event has as ``referral`` and says where it was in ``referral_from``; the mapping reads it
from one place.

Event keys are scoped by the page: ``<page_id>:<mid>`` for messages (echoes included) and
postbacks with a mid; ``<page_id>:<user>:<timestamp>:<kind>`` for referral-only events and
postbacks without one. Delivery and read receipts, reactions, opt-ins and other events carry
nothing the lifecycle model records and are not stored.
"""

from __future__ import annotations

from typing import Any

from sync.connectors.events import InboundEvent

SOURCES = {"messenger": "page", "instagram": "instagram"}  # source → the delivery's "object"


class PayloadError(ValueError):
    """The body is not a Messenger / Instagram webhook delivery; the message says what is wrong."""


def account_ids(payload: dict[str, Any]) -> set[str]:
    """Every ``entry[].id`` (page / Instagram account) in a delivery, to route it to a connection."""
    entries = payload.get("entry")
    if not isinstance(entries, list):  # not a delivery: ``split`` refuses it with the reason
        return set()
    return {str(e["id"]) for e in entries if isinstance(e, dict) and e.get("id")}


def split(payload: Any, source: str, connection: str = "default") -> list[InboundEvent]:
    """The inbox events of one delivery to ``source`` (messenger or instagram); PayloadError if malformed."""
    obj = SOURCES[source]
    if not isinstance(payload, dict) or payload.get("object") != obj:
        raise PayloadError(f'expected a JSON object with "object": "{obj}"')
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError('"entry" must be a list')
    events: list[InboundEvent] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("id") or isinstance(entry["id"], dict | list):
            raise PayloadError(f"entry[{n}] must be an object with an id")
        for box in ("messaging", "standby"):
            items = entry.get(box)
            if items is None:
                continue
            if not isinstance(items, list):
                raise PayloadError(f"entry[{n}].{box} must be a list")
            for m, item in enumerate(items):
                event = _event(obj, str(entry["id"]), item, f"entry[{n}].{box}[{m}]")
                if event is not None:
                    events.append(InboundEvent(source, "message", event["id"], event, connection))
    return events


def _kind(item: dict[str, Any], where: str) -> str | None:
    message = item.get("message")
    if message is not None:
        if not isinstance(message, dict) or not _text(message.get("mid")):
            raise PayloadError(f"{where}.message must be an object with a mid (a string)")
        return "echo" if message.get("is_echo") is True else "message"
    if item.get("postback") is not None:
        postback = item["postback"]
        if not isinstance(postback, dict):
            raise PayloadError(f"{where}.postback must be an object")
        if postback.get("mid") is not None and not _text(postback["mid"]):
            raise PayloadError(f"{where}.postback.mid must be a string")
        return "postback"
    if item.get("referral") is not None:
        return "referral"
    return None  # read, delivery, reaction, optin, ...: nothing to record


def _text(value: Any) -> bool:
    """A non-empty string (message ids are keys: an object or a number there is a malformed delivery)."""
    return isinstance(value, str) and bool(value.strip())


def _referral(item: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, str | None]:
    holders = (("message", item.get("message")), ("messaging", item), ("postback", item.get("postback")))
    for placement, holder in holders:
        referral = holder.get("referral") if isinstance(holder, dict) else None
        if referral is not None:
            if not isinstance(referral, dict):
                raise PayloadError(f"{where}: referral must be an object")
            return referral, placement
    return None, None


def _party(item: dict[str, Any], side: str, where: str) -> str:
    party = item.get(side)
    if isinstance(party, dict):
        for key, prefix in (("id", ""), ("user_ref", "user_ref:")):
            value = party.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return prefix + str(value).strip()
    raise PayloadError(f"{where}.{side} must be an object with an id")


def _event(obj: str, page_id: str, item: Any, where: str) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        raise PayloadError(f"{where} must be an object")
    kind = _kind(item, where)
    if kind is None:
        return None
    stamp = item.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp <= 0:
        raise PayloadError(f"{where}.timestamp must be Unix milliseconds")
    user = _party(item, "recipient" if kind == "echo" else "sender", where)
    referral, placement = _referral(item, where)
    mid = (item.get("message") or item.get("postback") or {}).get("mid")
    key = f"{page_id}:{mid}" if mid else f"{page_id}:{user}:{stamp}:{kind}"
    return {"id": key, "object": obj, "page_id": page_id, "user_id": f"{page_id}:{user}", "kind": kind,
            "referral": referral, "referral_from": placement, "event": item}
