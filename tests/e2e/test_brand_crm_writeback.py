"""Two brands, two HubSpot portals: the stage written to each portal is its brand's stage of the contact, and a
portal hears only of its brand's contacts (brands.yaml ``connections: [hubspot:lumen]``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.brands import brand_config_dir
from support.crm import settings_for

from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.crm.run import open_crm, push_pending, sync_connection
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model


@pytest.fixture
def two_portals(store, database_url, tmp_path):
    glow, lumen = HubSpotSandbox(), HubSpotSandbox()
    lumen._next_id = 900_000_001  # two portals' record ids never meet here (one identity kind, see sync.crm.push)
    config = load_config(brand_config_dir(tmp_path))
    with SandboxServer(hubspot=glow) as a, SandboxServer(hubspot=lumen) as b:
        extra = {k: v for k, v in b.env("lumen").items() if k.startswith("LIFESYNC_HUBSPOT_")}
        yield config, settings_for(a, database_url, **extra), glow, lumen


def _order(order_id: str, email: str, status: str, minutes: int) -> dict:
    at = (model.utcnow() - timedelta(minutes=minutes)).isoformat()
    return {"id": order_id, "status": status, "total": 40.0, "currency": "EUR", "updated_at": at, "created_at": at,
            "customer": {"email": email, "first_name": email.split("@")[0].title()}}


def _stages(sandbox: HubSpotSandbox) -> dict[str, str]:
    return {r["properties"]["email"]: r["properties"].get("lifecyclestage") for r in sandbox.records("contacts")}


def _sync(connection: str, config, settings, store) -> dict:
    return sync_connection("hubspot", connection, settings=settings, store=store, config=config,
                           objects=["contacts"], sleep=lambda seconds: None)


def _push(connection: str, config, settings, store) -> dict:
    pusher = open_crm("hubspot", settings, store, config, connection, sleep=lambda seconds: None)
    return push_pending("hubspot", store, config, pusher, connection)


def test_each_portal_gets_its_brands_stage_of_the_contact_and_only_its_brands_contacts(two_portals, store):
    config, settings, glow, lumen = two_portals
    events = [InboundEvent("shop", "order", "a1", _order("a1", "ana@example.com", "paid", 50)),  # Glow: Customer
              InboundEvent("shop", "order", "a2", _order("a2", "ben@example.com", "booked", 40)),  # Glow: Hot Lead
              InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com", "booked", 30), "lumen"),
              InboundEvent("shop", "order", "b2", _order("b2", "cara@example.com", "paid", 20), "lumen")]
    effects = Effects.of(settings, config)
    assert {t.destination: t.brand for t in effects.crm_targets} == {"hubspot": "default", "hubspot/lumen": "lumen"}
    process_events(store, config, store_events(store, events), effects)
    with store.transaction() as s:
        queued = dict(s.execute(select(model.Outbox.destination, func.count()).where(model.Outbox.kind == "crm")
                                .group_by(model.Outbox.destination)).all())
    assert queued == {"hubspot": 2, "hubspot/lumen": 2}  # Ana in both; Ben Glow's only, Cara Lumen's only

    assert _sync("default", config, settings, store)["pushed"]["sent"] == 2
    assert _sync("lumen", config, settings, store)["pushed"]["sent"] == 2
    # Ana is a customer of Glow and a booked (Hot) lead of Lumen: each portal holds its own brand's stage
    assert _stages(glow) == {"ana@example.com": "customer", "ben@example.com": "salesqualifiedlead"}
    assert _stages(lumen) == {"ana@example.com": "salesqualifiedlead", "cara@example.com": "customer"}
    assert not any("cara" in str(w) for w in glow.writes) and not any("ben" in str(w) for w in lumen.writes)

    # nothing more to send to either portal; Glow's portal's records come back as one person each, nothing moves
    # (pulling Lumen's portal back is not here: its record ids are the same identity kind as Glow's, so a person in
    # both portals holds two exclusive HubSpot ids and is kept apart; see the README's brands section)
    assert _push("lumen", config, settings, store)["sent"] == 0
    assert _sync("default", config, settings, store)["pushed"]["sent"] == 0
    assert _push("lumen", config, settings, store)["sent"] == 0
    with store.transaction() as s:
        people = s.scalar(select(func.count()).select_from(model.Contact))
        ana = s.scalar(select(model.Identity.contact_id).where(model.Identity.value == "ana@example.com"))
        glow_stage = s.scalar(select(model.Contact.stage).where(model.Contact.id == ana))
        lumen_stage = s.scalar(select(model.ContactStage.stage).where(model.ContactStage.contact_id == ana,
                                                                      model.ContactStage.brand == "lumen"))
    assert people == 3 and (glow_stage, lumen_stage) == ("Customer", "Hot Lead")
    assert _stages(lumen)["ana@example.com"] == "salesqualifiedlead"
