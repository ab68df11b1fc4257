"""``InboundEvent``: what every webhook splitter hands the inbox. Imports nothing of lifesync.

A receiver verifies a delivery, and its connector's splitter turns the payload into events
(one per vendor event id, each the record its mapping consumes). ``sync.ingest.inbox`` stores
them; this module stays dependency-free so that a splitter (``sync.connectors.meta.whatsapp``,
``sync.connectors.twilio``, ...) can be imported and tested without a database driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InboundEvent:
    """One vendor event, ready for the inbox: who sent it, its unique key, its record."""

    source: str
    object: str
    event_key: str
    record: Any
    connection: str = "default"
    headers: tuple[tuple[str, str], ...] = field(default=())
