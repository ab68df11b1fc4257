"""HubSpot webhooks: the three signature versions, and a delivery split into inbox events.

Signatures (all on the raw body bytes, compared in constant time):

- v1 ``X-HubSpot-Signature`` (``X-HubSpot-Signature-Version: v1``): hex SHA-256 of
  ``client_secret + body``;
- v2 (same header, version ``v2``): hex SHA-256 of ``client_secret + METHOD + URI + body``;
- v3 ``X-HubSpot-Signature-v3``: base64 HMAC-SHA256, keyed with the client secret, of
  ``METHOD + URI + body + timestamp``, where ``X-HubSpot-Request-Timestamp`` (ms) must lie
  within the replay window both ways. HubSpot decodes a fixed set of %-escapes in the URI
  before signing; so do we.

The URI is the full URL HubSpot called, query string included. When a request carries v3
only v3 is checked; v1 and v2 carry no timestamp (replayable), so ``accepted`` can refuse
them.

A delivery is a JSON array of events. ``eventId`` alone is not unique: an event's inbox key
is (portalId, subscriptionType, objectId, propertyName, occurredAt, eventId), so a retry
(new ``attemptNumber``) is the same row. Contact and deal events become partial CRM v3
records that ``hubspot_contacts.yaml`` / ``hubspot_deals.yaml`` read: a property change
carries that one property; the event time is the record's ``updatedAt`` so survivorship
orders changes by when they happened, not by when they arrived. ``changeSource`` and
``sourceId`` stay in the record (``API`` + our app id marks our own echo).

Deal events carry no associated contact, and the deals mapping finds its contact only
through ``associations.contacts``: such a deal record is dead-lettered at processing with
the reason "no usable identity" (the rest of the batch lands). It is kept, not skipped:
HubSpot never redelivers an acknowledged event and a ``dealstage`` change may be a
purchase, so the dead letter is what the CRM connector replays once it has read the
deal's associations. Events that need an API read to mean anything (``contact.merge``,
``*.associationChange``, ``contact.privacyDeletion``, ``company.*``, ``object.*``…) are stored
under their subscription type as object name, with the event as record; having no mapping,
processing marks them ``dead`` with that reason until the HubSpot connector follows them up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches

SOURCE = "hubspot"
VERSIONS = ("v1", "v2", "v3")
# object a subscription type's record is stored under, and its last-modified property
_OBJECTS = {"contact": ("contacts", "lastmodifieddate"), "deal": ("deals", "hs_lastmodifieddate")}
_RECORD_EVENTS = {"creation", "propertyChange", "deletion", "restore"}
_OBJECT_TYPE_IDS = {"0-1": "contact", "0-3": "deal"}  # generic ``object.*`` events name the type by id
# the escapes HubSpot decodes in the URI before computing a v3 signature
_V3_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


class SignatureError(ValueError):
    """The signature, its version or its timestamp is wrong; the message says which."""


class PayloadError(ValueError):
    """The body is not a HubSpot webhook delivery; the message says what is wrong."""


def sign_v1(secret: str, body: bytes) -> str:
    """The v1 ``X-HubSpot-Signature`` of a body."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


def sign_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    """The v2 ``X-HubSpot-Signature`` of a request."""
    return hashlib.sha256(secret.encode() + method.upper().encode() + uri.encode() + body).hexdigest()


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The ``X-HubSpot-Signature-v3`` of a request (``timestamp`` in ms, as sent)."""
    uri = _V3_ESCAPES.sub(lambda m: unquote(m.group()), uri)
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


MAX_TYPE = 64  # characters of a subscription type: stored as the inbox object of events without a mapping
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant an ISO-8601 timestamp can write
V3_WINDOW = 300  # seconds: HubSpot rejects v3 requests older than five minutes


def verify(secret: str, method: str, uri: str, body: bytes, *, signature_v3: str | None = None,
           timestamp: str | None = None, signature: str | None = None, version: str | None = None,
           tolerance: int = V3_WINDOW, now: float | None = None, accepted: Collection[str] = VERSIONS) -> str:
    """The version that verified the request; raise SignatureError otherwise.

    A v3 timestamp must be within ``tolerance`` seconds either way, and never more than
    HubSpot's own five minutes (``V3_WINDOW``), whatever wider window other senders get.
    """
    if signature_v3 is not None:
        if "v3" not in accepted:
            raise SignatureError("v3 signatures are not accepted on this connection")
        _check_timestamp(timestamp, min(tolerance, V3_WINDOW), now)
        if not matches(sign_v3(secret, method, uri, body, str(timestamp)), signature_v3.strip()):
            raise SignatureError("X-HubSpot-Signature-v3 does not match the request")
        return "v3"
    if signature is None:
        raise SignatureError("missing X-HubSpot-Signature-v3 (or X-HubSpot-Signature)")
    version = (version or "").strip().lower()
    if version not in ("v1", "v2"):
        raise SignatureError("X-HubSpot-Signature-Version must be v1 or v2")
    if version not in accepted:
        raise SignatureError(f"{version} signatures are not accepted on this connection")
    expected = sign_v1(secret, body) if version == "v1" else sign_v2(secret, method, uri, body)
    if not matches(expected, signature.strip().lower()):
        raise SignatureError(f"X-HubSpot-Signature ({version}) does not match the request")
    return version


def _check_timestamp(timestamp: str | None, tolerance: int, now: float | None) -> None:
    if not timestamp:
        raise SignatureError("missing X-HubSpot-Request-Timestamp")
    try:
        sent = int(timestamp) / 1000
    except ValueError:
        raise SignatureError("X-HubSpot-Request-Timestamp must be milliseconds since the epoch") from None
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        raise SignatureError("X-HubSpot-Request-Timestamp is outside the replay window")


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as an ISO-8601 UTC instant (HubSpot's own spelling)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_key(event: dict[str, Any]) -> str:
    """The inbox key of one event; ``attemptNumber`` is left out so a retry is the same event."""
    obj = event.get("objectId")
    if obj is None:  # association changes name both ends instead
        obj = f"{event.get('fromObjectId')}>{event.get('toObjectId')}"
    detail = event.get("propertyName") or event.get("associationType") or ""
    parts = (event.get("portalId"), event.get("subscriptionType"), obj, detail, event.get("occurredAt"),
             event.get("eventId"))
    return ":".join(str(p) for p in parts)  # the inbox hashes a key too long for its column


def _record_kind(event: dict[str, Any]) -> tuple[str, str] | None:
    """(contact|deal, action) when the event is a record change the mappings read, else None."""
    kind, _, action = str(event["subscriptionType"]).partition(".")
    if kind == "object":
        kind = _OBJECT_TYPE_IDS.get(str(event.get("objectTypeId")), kind)
    return (kind, action) if kind in _OBJECTS and action in _RECORD_EVENTS else None


def record_of(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(object, record) for one event: a partial CRM v3 record, or the event itself."""
    found = _record_kind(event)
    if found is None:
        return str(event["subscriptionType"]), dict(event)
    kind, action = found
    obj, modified = _OBJECTS[kind]
    at = iso_ms(event["occurredAt"])
    record: dict[str, Any] = {"id": str(event["objectId"]), "updatedAt": at, "archived": action == "deletion"}
    if action != "deletion":
        props = {modified: at}
        if event.get("propertyName"):
            props[str(event["propertyName"])] = event.get("propertyValue")
        record["properties"] = props
    record.update({k: event[k] for k in ("changeSource", "sourceId", "portalId") if event.get(k) is not None})
    return obj, record


def split(payload: Any, connection: str = "default") -> list[InboundEvent]:
    """The inbox events of one delivery; raises PayloadError for a body of the wrong shape."""
    if not isinstance(payload, list) or not payload:
        raise PayloadError("expected a non-empty JSON array of HubSpot events")
    events = []
    for n, event in enumerate(payload):
        if not isinstance(event, dict):
            raise PayloadError(f"event [{n}] must be an object")
        required = ["eventId", "portalId", "subscriptionType", "occurredAt"]
        kind = event.get("subscriptionType")
        if kind is not None and (not isinstance(kind, str) or len(kind) > MAX_TYPE or "\x00" in kind):
            raise PayloadError(f"event [{n}].subscriptionType must be a name of at most {MAX_TYPE} characters "
                               "(such as contact.propertyChange)")
        if kind and _record_kind(event):
            required.append("objectId")
        missing = [k for k in required if event.get(k) in (None, "")]
        if missing:
            raise PayloadError(f"event [{n}] lacks {', '.join(missing)}")
        at = event["occurredAt"]
        if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at <= LAST_MS:
            raise PayloadError(f"event [{n}].occurredAt must be milliseconds since the epoch (0 to {LAST_MS}, "
                               "before the year 10000)")
        obj, record = record_of(event)
        events.append(InboundEvent(SOURCE, obj, event_key(event), record, connection))
    return events
