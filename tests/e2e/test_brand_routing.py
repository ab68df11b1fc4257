"""Two brands, one installation: each brand's conversions reach its own Meta dataset, TikTok event set and
Google account, never the other brand's (each sandbox refuses a request for an id it does not own)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.brands import brand_config_dir
from support.crm import settings_for

from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.networks import sender_for
from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model


class LumenMeta(MetaSandbox):
    DATASET_ID = "5550001111"  # brand lumen's own dataset


class LumenTikTok(TikTokSandbox):
    EVENT_SOURCE_ID = "CRM0000777"


class LumenGoogle(GoogleAdsSandbox):
    CUSTOMER_ID = "9998887777"


def _named(server: SandboxServer, prefix: str, destination: str) -> dict[str, str]:
    """The server's settings of one network (``prefix``) for a destination named ``destination``."""
    return {k: v for k, v in server.env(destination.replace("-", "_")).items() if k.startswith(prefix)}


@pytest.fixture
def two_brands(store, database_url, tmp_path):
    glow = (MetaSandbox(), TikTokSandbox(), GoogleAdsSandbox())
    lumen = (LumenMeta(), LumenTikTok(), LumenGoogle())
    config = load_config(brand_config_dir(tmp_path))
    with SandboxServer(meta=glow[0], tiktok=glow[1], google=glow[2]) as a, \
            SandboxServer(meta=lumen[0], tiktok=lumen[1], google=lumen[2]) as b:
        extra = {**_named(b, "LIFESYNC_META_", "meta-lumen"), **_named(b, "LIFESYNC_TIKTOK_", "tiktok-lumen"),
                 **_named(b, "LIFESYNC_GOOGLE_", "google-lumen")}
        settings = settings_for(a, database_url, **extra)
        yield config, settings, glow, lumen


def _order(order_id: str, email: str, status: str, minutes: int) -> dict:
    at = (model.utcnow() - timedelta(minutes=minutes)).isoformat()
    return {"id": order_id, "status": status, "total": 40.0, "currency": "EUR", "updated_at": at, "created_at": at,
            "customer": {"email": email, "first_name": email.split("@")[0].title()}}


def test_each_brands_conversions_reach_only_its_own_dataset_event_set_and_account(two_brands, store):
    config, settings, glow, lumen = two_brands
    dests = destination_configs(settings, config)
    assert {d.account_id for d in dests.values()} == {"1234567890", "CRM0000001", "5550001111", "CRM0000777",
                                                      "9998887777"}  # Meta and Google A share the seeded id
    events = [InboundEvent("shop", "order", "a1", _order("a1", "ana@example.com", "paid", 50)),  # glow's shop
              InboundEvent("shop", "order", "a2", _order("a2", "ben@example.com", "booked", 40)),
              InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com", "booked", 30), "lumen"),
              InboundEvent("shop", "order", "b2", _order("b2", "cara@example.com", "paid", 20), "lumen")]
    process_events(store, config, store_events(store, events), Effects.of(settings, config))

    with store.transaction() as s:
        brand_of = dict(s.execute(select(model.ConversionEvent.event_id, model.ConversionEvent.brand)).all())
        kinds = dict(s.execute(select(model.ConversionEvent.event_id, model.ConversionEvent.kind)).all())
        # Google de-duplicates on the order id when the conversion has one, else on the event id
        google_key = {e: o or e for e, o in s.execute(select(model.ConversionEvent.event_id,
                                                             model.ConversionEvent.order_id))}
        ana = s.scalar(select(model.Identity.contact_id).where(model.Identity.value == "ana@example.com"))
        ana_stage = s.scalar(select(model.Contact.stage).where(model.Contact.id == ana))
        ana_lumen = s.scalar(select(model.ContactStage.stage).where(model.ContactStage.contact_id == ana))
        contacts = len(s.scalars(select(model.Contact.id)).all())
    # Ana is one person with a stage in each brand: a customer of Glow, a booked (Hot) lead of Lumen
    assert contacts == 3 and (ana_stage, ana_lumen) == ("Customer", "Hot Lead")
    assert sorted(kinds[e] for e, b in brand_of.items() if b == "lumen") == [
        "booking", "lead", "purchase", "qualified_lead"]
    assert sorted(kinds[e] for e, b in brand_of.items() if b == "default") == [
        "booking", "lead", "purchase", "qualified_lead"]

    with store.transaction() as s:  # Ana came to Glow through a Meta ad: that click is Glow's, not Lumen's
        s.add(model.Touchpoint(key="glow-ad", contact_id=ana, channel="web", network="meta", click_ids={
            "fbclid": "IwAR-glow"}, occurred_at=model.utcnow() - timedelta(hours=2), source="web", record_id="r1"))
    for name in ("meta", "tiktok", "google", "meta-lumen", "tiktok-lumen", "google-lumen"):
        dispatch_all(store, dests[name], sender_for(dests[name]))
    with store.transaction() as s:
        routed = s.execute(select(model.Outbox.destination, model.ConversionEvent.brand)
                           .join(model.ConversionEvent, model.ConversionEvent.event_id
                                 == model.Outbox.payload["event_id"].as_string())).all()
    assert routed and all((brand == "lumen") == dest.endswith("-lumen") for dest, brand in routed)

    for sandboxes, brand in ((glow, "default"), (lumen, "lumen")):
        ours = {e for e, b in brand_of.items() if b == brand} | {google_key[e] for e, b in brand_of.items()
                                                                  if b == brand}
        for sandbox in sandboxes:
            # every request named this sandbox's own dataset / event source / customer: none was refused
            assert sandbox.requests >= 1 and sandbox.rejected_batches == 0, type(sandbox).__name__
            got = {str(e.get("event_id") or e.get("transactionId") or e.get("orderId") or "") for e in sandbox.accepted}
            assert got and got <= ours, (type(sandbox).__name__, got - ours)
    meta_a, meta_b = ({e["event_id"] for e in sb[0].accepted} for sb in (glow, lumen))
    assert any("IwAR-glow" in str(e["user_data"].get("fbc")) for e in glow[0].accepted)
    assert not any(e["user_data"].get("fbc") for e in lumen[0].accepted)  # Glow's ad click never goes to Lumen
    assert meta_a == {e for e, b in brand_of.items() if b == "default"}
    assert meta_b == {e for e, b in brand_of.items() if b == "lumen"}
