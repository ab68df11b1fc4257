"""The last record a connection delivered for a contact, found in the inbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.payloads import whatsapp_value

from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.errors import NotFound
from sync.ingest.inbox import process_events, store_events
from sync.ingest.pipeline import ingest
from sync.ingest.samples import last_record
from sync.store import model

CONFIG = load_config(None)


def message(wamid: str, wa_id: str, body: str) -> dict:
    value = whatsapp_value()
    value["messages"][0].update(id=wamid, **{"from": wa_id})
    value["messages"][0]["text"] = {"body": body}
    value["contacts"][0]["wa_id"] = wa_id
    return value


def contact_of(store, wa_id: str) -> int:
    with store.sessions() as session:
        return session.scalar(select(model.Identity.contact_id).where(model.Identity.value.like(f"%{wa_id}%")))


def test_the_newest_delivery_of_the_contact_is_the_sample(store):
    deliveries = [message("wamid.A1", "15550001111", "first"), message("wamid.B1", "15550002222", "other"),
                  message("wamid.A2", "15550001111", "second")]
    ids = store_events(store, [InboundEvent("whatsapp", "message", d["messages"][0]["id"], d) for d in deliveries])
    process_events(store, CONFIG, ids)
    found = last_record(store, CONFIG, contact_of(store, "15550001111"), "whatsapp")
    assert (found["source"], found["object"]) == ("whatsapp", "message")
    assert found["record"]["messages"][0]["id"] == "wamid.A2"
    other = last_record(store, CONFIG, contact_of(store, "15550002222"))
    assert other["record"]["messages"][0]["id"] == "wamid.B1"


def test_a_contact_only_pulled_from_a_crm_has_no_sample_and_the_answer_says_why(store):
    import copy
    import json
    from pathlib import Path

    record = copy.deepcopy(json.loads((Path(__file__).parent.parent / "fixtures" / "hubspot" / "contact.json")
                                      .read_text()))
    ingest("hubspot", "contacts", [record], store=store, config=CONFIG)
    with store.sessions() as session:
        cid = session.scalar(select(model.Contact.id))
    with pytest.raises(NotFound, match="not records pulled from a CRM"):
        last_record(store, CONFIG, cid)
    with pytest.raises(NotFound, match="no contact with id 999999"):
        last_record(store, CONFIG, 999999)


def test_a_preview_sample_is_of_the_mapping_s_object_not_a_later_status_of_the_same_contact(store):
    from datetime import UTC, datetime

    from support.automation_data import sent

    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    delivered = message("wamid.M1", "15550003333", "hello")
    reply = sent(at, "wamid.S1", wa_id="15550003333")  # the agent's reply, delivered after the message
    ids = store_events(store, [InboundEvent("whatsapp", "message", "wamid.M1", delivered),
                               InboundEvent("whatsapp", "status", "wamid.S1", reply)])
    process_events(store, CONFIG, ids)
    contact = contact_of(store, "15550003333")
    assert last_record(store, CONFIG, contact, "whatsapp")["object"] == "status"
    found = last_record(store, CONFIG, contact, "whatsapp", "message")
    assert found["object"] == "message" and found["record"]["messages"][0]["id"] == "wamid.M1"
