"""The generic signed webhook: how booking systems, carts and shops send their events.

Signature: ``X-Lifesync-Signature: sha256=<hex>``, HMAC-SHA256 with the endpoint's secret
of the raw body — or, when ``X-Lifesync-Timestamp`` (Unix seconds) is sent, of
``"<timestamp>.<raw body>"``, and the timestamp must lie within the replay window. The body
is one JSON object or an array of them; each becomes an inbox event keyed by
``X-Lifesync-Event-Id`` (single object), else its ``id``/``event_id`` field, else the
SHA-256 of its canonical JSON, so redelivery is a no-op.

``GenericSettings`` holds one endpoint's settings (``LIFESYNC_GENERIC_SECRET`` and
``…_MAPPING``, ``__<NAME>`` for the endpoint ``<name>``); ``endpoint_issues`` checks them
against the configuration at start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sync.connectors.events import InboundEvent
from sync.connectors.signatures import matches
from sync.errors import ConfigIssue
from sync.settings import ConnectionSettings, Settings, setting

if TYPE_CHECKING:
    from sync.config import Config


class SignatureError(ValueError):
    """The signature or its timestamp is wrong; the message says which."""


class PayloadError(ValueError):
    """The body is not an object or an array of objects."""


@dataclass(frozen=True)
class GenericSettings(ConnectionSettings):
    """One generic endpoint (the connection is the endpoint's name): its HMAC secret and its mapping."""

    platform: ClassVar[str] = "generic"

    secret: str | None = setting("LIFESYNC_GENERIC_SECRET")
    mapping: str | None = setting("LIFESYNC_GENERIC_MAPPING")  # checked against the config by endpoint_issues

    @property
    def source_object(self) -> tuple[str, str]:
        """The mapping's (source, object): ``shop/order`` → ("shop", "order"); empty parts when malformed."""
        source, _, obj = (self.mapping or "").partition("/")
        return source, obj


def endpoint_issues(settings: Settings, config: Config) -> list[ConfigIssue]:
    """What is wrong with the configured endpoints: a mapping setting that names no mapping, or half an endpoint.

    An endpoint is ``LIFESYNC_GENERIC_SECRET__<NAME>`` plus ``LIFESYNC_GENERIC_MAPPING__<NAME>``
    (``source/object`` of a mapping in the config). Found at start-up and by ``lifesync config
    check``, not when the first order is dead-lettered for want of a mapping.
    """
    issues = []
    secrets = set(GenericSettings.connections(settings, "secret"))
    mappings = set(GenericSettings.connections(settings, "mapping"))
    for name in sorted(secrets | mappings):
        variable = GenericSettings.variable("mapping", name)
        if name not in mappings:
            issues.append(ConfigIssue(variable, "",
                                      f"generic endpoint {name!r} has a secret but no mapping (source/object)"))
            continue
        if name not in secrets:
            issues.append(ConfigIssue(GenericSettings.variable("secret", name), "",
                                      f"generic endpoint {name!r} has a mapping but no secret to verify with"))
        value = GenericSettings.of(settings, name).mapping
        source, obj = GenericSettings.of(settings, name).source_object
        if not source or not obj:
            issues.append(ConfigIssue(variable, "", f"expected source/object (e.g. shop/order), got {value!r}"))
        elif (source, obj) not in config.mappings:
            known = ", ".join(f"{s}/{o}" for s, o in sorted(config.mappings))
            issues.append(ConfigIssue(variable, "", f"no mapping for {value!r}; mappings exist for: {known}"))
    return issues


def sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The ``X-Lifesync-Signature`` value for a body (and optional timestamp)."""
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None, timestamp: str | None, tolerance: int,
           now: float | None = None) -> None:
    """Raise SignatureError unless the signature (and timestamp, when sent) are right."""
    if timestamp is not None:
        try:
            stamp = int(timestamp)
        except ValueError:
            raise SignatureError("X-Lifesync-Timestamp must be Unix seconds") from None
        if abs((now if now is not None else time.time()) - stamp) > tolerance:
            raise SignatureError("X-Lifesync-Timestamp is outside the replay window")
    if not signature or not matches(sign(secret, body, timestamp), signature.strip()):
        raise SignatureError("X-Lifesync-Signature does not match the body")


def split(payload: Any, source: str, obj: str, endpoint: str, event_id: str | None = None) -> list[InboundEvent]:
    """Inbox events for a payload sent to one generic endpoint."""
    records = payload if isinstance(payload, list) else [payload]
    if not records or not all(isinstance(r, dict) for r in records):
        raise PayloadError("expected a JSON object or a non-empty array of JSON objects")
    events = []
    for n, record in enumerate(records):
        key = (event_id if event_id and len(records) == 1 else None) or record.get("event_id") or record.get("id")
        if isinstance(key, bool) or not isinstance(key, str | int | None):
            field = "event_id" if record.get("event_id") else "id"
            raise PayloadError(f"{'record' if len(records) == 1 else f'record {n}'}: {field} must be a string or "
                               f"an integer, got {type(key).__name__}")
        if key is None:
            key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        events.append(InboundEvent(source, obj, f"{endpoint}:{key}", record, endpoint))
    return events
