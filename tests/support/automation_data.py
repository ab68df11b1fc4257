"""WhatsApp messages and HubSpot contacts of one person at chosen times, for the automation tests."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from support.payloads import FIXTURES, whatsapp_value

WA_ID = "447911123456"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # the fixture message's timestamp


def message(at: datetime, wamid: str, wa_id: str = WA_ID) -> dict:
    value = whatsapp_value("message_text.json")
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = wa_id
    value["messages"][0].update(id=wamid, timestamp=str(int(at.timestamp())))
    return value


def sent(at: datetime, wamid: str, wa_id: str = WA_ID, conversation: str = "8b1a6bb1a4d0e5c2") -> dict:
    value = whatsapp_value("status_sent.json")
    value["statuses"][0].update(id=wamid, timestamp=str(int(at.timestamp())), recipient_id=wa_id,
                                conversation={"id": conversation, "origin": {"type": "service"}})
    return value


def hubspot(stage: str, at: datetime) -> dict:
    record = copy.deepcopy(json.loads((FIXTURES / "hubspot" / "contact.json").read_text()))
    record["properties"].update(lifecyclestage=stage, phone=f"+{WA_ID}", mobilephone=None,
                                lastmodifieddate=at.isoformat())
    record["updatedAt"] = at.isoformat()
    return record
