"""Outbox rows: the one place that shapes them and their idempotency keys.

Every effect a batch queues for another system is one ``outbox`` row, written in the batch's
own transaction and inserted with ``insert_ignore`` on ``idempotency_key``, so a replayed
batch adds nothing. The three kinds and their keys:

- ``stage`` → a stage write-back target (respond.io); key
  ``stage:<dest>:<contact>:<history length>:<stage>``; payload ``{identifier, stage}``.
- ``crm`` → a CRM (hubspot, salesforce); key ``crm:<system>:<contact>:<digest of what and why>``;
  payload ``{values, stage, known_values, known_stage}``.
- ``conversion`` → an ad-network destination; key ``conv:<dest>:<event id>``; payload ``{event_id}``.
- ``adjustment`` → an ad-network destination told the conversion it adjusts (a retraction or a
  restatement, ``sync.attribution.adjustments``); key ``adj:<dest>:<digest of event id and
  adjustment key>``; payload ``{event_id, adjustment}``.

Keys longer than the column (128) are cut; the parts that make them unique come first.
"""

from __future__ import annotations

import hashlib
from typing import Any

KEY_LENGTH = 128


def stage_row(destination: str, contact_id: int, history_length: int, stage: str,
              identifier: str) -> dict[str, Any]:
    """A contact's new stage for a stage write-back target; one per (contact, history length, stage)."""
    return {"idempotency_key": f"stage:{destination}:{contact_id}:{history_length}:{stage}"[:KEY_LENGTH],
            "kind": "stage", "destination": destination, "contact_id": contact_id,
            "payload": {"identifier": identifier, "stage": stage}}


def crm_row(system: str, contact_id: int, digest: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a CRM lacks of a contact; ``digest`` names the values and the change that made them win."""
    return {"idempotency_key": f"crm:{system}:{contact_id}:{digest}"[:KEY_LENGTH],
            "kind": "crm", "destination": system, "contact_id": contact_id, "payload": payload}


def conversion_row(destination: str, contact_id: int, event_id: str) -> dict[str, Any]:
    """A conversion for an ad-network destination; one per (destination, event id)."""
    return {"idempotency_key": f"conv:{destination}:{event_id}"[:KEY_LENGTH], "kind": "conversion",
            "destination": destination, "contact_id": contact_id, "conversion_id": None,
            "payload": {"event_id": event_id}}


def adjustment_row(destination: str, contact_id: int, event_id: str, adjustment: str) -> dict[str, Any]:
    """An adjustment of conversion ``event_id`` for a destination told it; one per (destination, event, adjustment)."""
    pair = hashlib.sha256(f"{event_id}\x1f{adjustment}".encode()).hexdigest()[:40]
    return {"idempotency_key": f"adj:{destination}:{pair}"[:KEY_LENGTH], "kind": "adjustment",
            "destination": destination, "contact_id": contact_id, "conversion_id": None,
            "payload": {"event_id": event_id, "adjustment": adjustment}}
