"""Two brands, two HubSpot portals: the stage written to each portal is its brand's stage of the contact, and a
portal hears only of its brand's contacts (brands.yaml ``connections: [hubspot:lumen]``). Both portals are pulled
back: a person in both is one contact holding one HubSpot id of each portal (Lumen's as ``lumen:<id>``), with a
stage per brand, and nothing goes back and forth."""

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
    # both number records alike: their ids meet; the search limit (4/s) is not this test's (the pulls do not wait)
    glow, lumen = HubSpotSandbox(search_per_second=None), HubSpotSandbox(search_per_second=None)
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

    # nothing more to send to either portal; both portals' records come back, each its own namespace of ids
    for _ in range(2):
        assert _sync("default", config, settings, store)["pushed"]["sent"] == 0
        assert _sync("lumen", config, settings, store)["pushed"]["sent"] == 0
    glow_ids, lumen_ids = _ids(glow), _ids(lumen)
    assert set(glow_ids.values()) & set(lumen_ids.values())  # the same record ids in both portals
    with store.transaction() as s:
        people = s.scalar(select(func.count()).select_from(model.Contact))
        ana = _contact(s, "ana@example.com")
        hubspot_ids = {(c, v) for c, v in s.execute(select(model.Identity.contact_id, model.Identity.value)
                                                     .where(model.Identity.kind == "hubspot"))}
        glow_stage = s.scalar(select(model.Contact.stage).where(model.Contact.id == ana))
        lumen_stage = s.scalar(select(model.ContactStage.stage).where(model.ContactStage.contact_id == ana,
                                                                      model.ContactStage.brand == "lumen"))
        expected = {(_contact(s, email), glow_ids[email]) for email in glow_ids} | {
            (_contact(s, email), f"lumen:{lumen_ids[email]}") for email in lumen_ids}
    assert people == 3 and (glow_stage, lumen_stage) == ("Customer", "Hot Lead")
    assert hubspot_ids == expected  # Ana holds one id of each portal; Ben and Cara one of theirs
    assert _stages(lumen)["ana@example.com"] == "salesqualifiedlead"
    assert _stages(glow)["ana@example.com"] == "customer"

    # Ana pays at Lumen: Lumen's portal is told, addressing her record by its own id; Glow's hears nothing
    writes = len(glow.writes), len(lumen.writes)
    process_events(store, config, store_events(store, [InboundEvent(
        "shop", "order", "b3", _order("b3", "ana@example.com", "paid", 1), "lumen")]), effects)
    assert _sync("lumen", config, settings, store)["pushed"]["sent"] == 1
    assert _sync("default", config, settings, store)["pushed"]["sent"] == 0
    told = lumen.writes[writes[1]:]
    assert [(w["operation"], w["id"], w["properties"].get("lifecyclestage")) for w in told] == [
        ("update", lumen_ids["ana@example.com"], "customer")]
    assert len(glow.writes) == writes[0] and _stages(glow)["ana@example.com"] == "customer"
    for connection in ("lumen", "default", "lumen"):  # its echo comes back: no ping-pong
        assert _sync(connection, config, settings, store)["pushed"]["sent"] == 0


def _ids(sandbox: HubSpotSandbox) -> dict[str, str]:
    return {r["properties"]["email"]: str(r["id"]) for r in sandbox.records("contacts")}


def _contact(session, email: str) -> int:
    return session.scalar(select(model.Identity.contact_id).where(model.Identity.kind == "email",
                                                                  model.Identity.value == email))
