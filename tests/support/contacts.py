"""Contacts for contact search and contact page tests: Ana built by the real pipeline, and plain contacts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.reconcile.patch import IdentityRef
from sync.reports.export import find_contact
from sync.store import model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WA_NUMBER = "447911123456"


def _fixture(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text())


def build_ana(store, config) -> int:
    """Ana through the pipeline: a HubSpot contact, then a WhatsApp message from a phone no one holds
    (a second contact), then a Salesforce lead naming her email and that phone (the merge), whose
    first name disagrees with HubSpot's (a conflict the survivorship rule settles)."""
    effects = Effects(conversion_rules=config.conversions, conversion_destinations=frozenset({"meta"}))
    contact = _fixture("hubspot/contact.json")
    contact["properties"].update(mobilephone="", phone="")
    lead = _fixture("salesforce/lead.json")
    lead.update(Email="ana.lopez@example.com", FirstName="Ana", LastName="López", MobilePhone=f"+{WA_NUMBER}",
                IsConverted=False, ConvertedContactId=None, Status="Working - Contacted")
    for source, obj, record in (("hubspot", "contacts", contact), ("whatsapp", "message",
                                                                   _fixture("whatsapp/message_text.json")),
                                ("salesforce", "Lead", lead)):
        result = ingest(source, obj, [record], store=store, config=config, effects=effects, map_in_process=False)
        assert result.dead_lettered == 0, (source, result.as_dict())
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("email", " Ana.Lopez@EXAMPLE.com"))
        box = s.scalars(select(model.Outbox).where(model.Outbox.contact_id == cid)).first()
        if box is not None:  # Meta answered (what the dispatcher records)
            s.add(model.Delivery(outbox_id=box.id, destination="meta", status="sent", attempts=1,
                                 response={"events_received": 1, "fbtrace_id": "AbC"}, sent_at=datetime.now(UTC)))
            s.execute(update(model.Outbox).where(model.Outbox.id == box.id).values(status="sent"))
    return cid


def add_contacts(store, n: int, **kw) -> list[int]:
    with store.transaction() as s:
        made = [model.Contact(attributes=kw.get("attributes", {}), stage=kw.get("stage"),
                              lost_stage=kw.get("lost_stage")) for _ in range(n)]
        s.add_all(made)
        s.flush()
        return [c.id for c in made]


def add_ad_click_and_reply(store, config, contact_id: int) -> None:
    """A click-to-WhatsApp ad message from Ana's phone (a touchpoint and an inbound message, through the
    pipeline), then the business's reply (an outbound message)."""
    message = _fixture("whatsapp/message_referral.json")
    message["contacts"][0]["wa_id"] = message["messages"][0]["from"] = WA_NUMBER
    effects = Effects(conversion_rules=config.conversions, conversion_destinations=frozenset({"meta"}))
    result = ingest("whatsapp", "message", [message], store=store, config=config, effects=effects,
                    map_in_process=False)
    assert result.dead_lettered == 0, result.as_dict()
    with store.transaction() as s:
        s.add(model.Activity(key=f"reply-{contact_id}", contact_id=contact_id, channel="whatsapp", direction="outbound",
                             occurred_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC), external_id="wamid.reply",
                             conversation_id=None, source="whatsapp"))
