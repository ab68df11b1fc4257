"""Refunds and cancellations from shop webhooks to the ad-network sandboxes: Google restated and retracted
(Ads API transport) or restated only (Data Manager, the default), Meta and TikTok recorded as not supported,
the delivery report counting each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.crm import settings_for

from sync.attribution.configure import destination_configs
from sync.attribution.dispatch import dispatch_all
from sync.attribution.networks import sender_for
from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.reports.delivery import delivery
from sync.reports.text import format_report
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.store import model

CONFIG = load_config(None)


@pytest.fixture
def world(store, database_url, request):
    """The sandboxes and destinations; Google through the Ads API unless the test asks for another transport."""
    meta, tiktok, google = MetaSandbox(), TikTokSandbox(), GoogleAdsSandbox()
    transport = getattr(request, "param", "ads_api")
    with SandboxServer(meta=meta, tiktok=tiktok, google=google) as server:
        dests = destination_configs(settings_for(server, database_url, LIFESYNC_GOOGLE_ADS_TRANSPORT=transport), CONFIG)
        effects = Effects(conversion_rules=CONFIG.conversions, conversion_destinations=frozenset(dests))
        yield meta, tiktok, google, dests, effects


def shop(store, effects, status: str, order_id: int, *, total: str = "120.00", hours: float = 0) -> None:
    at = model.utcnow() - timedelta(days=1) + timedelta(hours=hours)
    record = {"id": order_id, "status": status, "total": total, "currency": "eur", "created_at": at.isoformat(),
              "updated_at": at.isoformat(), "customer": {"id": order_id, "email": f"buyer{order_id}@example.com",
                                                         "phone": f"+1415555{order_id:04d}"}}
    if status == "paid":
        record["paid_at"] = at.isoformat()
    result = ingest("shop", "order", [record], store=store, config=CONFIG, effects=effects)
    assert result.dead_lettered == 0


def run(store, dests):
    return {name: dispatch_all(store, dest, sender_for(dest)) for name, dest in sorted(dests.items())}


def test_google_is_told_refunds_and_cancellations_meta_and_tiktok_cannot_be(world, store):
    _, _, google, dests, effects = world
    for order_id in (1, 2, 3):
        shop(store, effects, "paid", order_id)
    first = run(store, dests)
    assert {name: counts.sent for name, counts in first.items()} == {"google": 3, "meta": 3, "tiktok": 3}
    shop(store, effects, "partially_refunded", 1, total="45.50", hours=5)
    shop(store, effects, "cancelled", 2, hours=6)
    shop(store, effects, "cancelled", 2, hours=6)  # the same webhook again: one adjustment
    counts = run(store, dests)
    assert counts["google"].adjustments == {"sent": 2}
    assert counts["meta"].adjustments == counts["tiktok"].adjustments == {"unsupported": 2}
    ledger, action = google.adjustment_ledger, google.conversion_action("purchase")
    assert ledger.value(action, "1") == 45.5 and (action, "2") in ledger.retracted
    assert (action, "3") not in ledger.retracted and ledger.value(action, "3") is None
    sent = {a["orderId"]: a for a in ledger.adjustments}
    assert sent["1"]["adjustmentType"] == "RESTATEMENT"
    assert sent["1"]["restatementValue"] == {"adjustedValue": 45.5, "currencyCode": "EUR"}
    assert sent["2"]["adjustmentType"] == "RETRACTION" and "restatementValue" not in sent["2"]
    with store.transaction() as s:
        reasons = set(s.scalars(select(model.Delivery.last_error).where(model.Delivery.status == "unsupported")))
    assert reasons == {"not supported by Meta Conversions API: it cannot retract or restate an event it received",
                       "not supported by TikTok Events API: it cannot retract or restate an event it received"}
    assert run(store, dests)["google"].adjustments == {}  # nothing left: no resend
    report = delivery(store)
    health = {d.destination: d for d in report.destinations}
    assert health["google"].adjustments == {"sent": 2} and health["meta"].adjustments == {"unsupported": 2}
    text = format_report(report)
    assert "Adjustments (refunds, cancellations) of conversions sent" in text and "not supported" in text


def test_a_purchase_cancelled_before_it_went_out_is_never_sent_and_needs_no_retraction(world, store):
    meta, _, google, dests, effects = world
    shop(store, effects, "paid", 4)
    shop(store, effects, "cancelled", 4, hours=2)
    shop(store, effects, "paid", 5)
    shop(store, effects, "partially_refunded", 5, total="10.00", hours=2)
    counts = run(store, dests)
    # queued while the purchases were pending; the purchases then went out as they stood: nothing left to tell
    assert (counts["google"].sent, counts["google"].retracted, counts["google"].adjustments) == (1, 1, {"skipped": 2})
    assert counts["meta"].adjustments == {"skipped": 2}
    assert [c["conversionValue"] for c in google.accepted] == [10.0]  # sent at its restated value
    assert [e["custom_data"]["value"] for e in meta.accepted if e["event_name"] == "Purchase"] == [10.0]
    assert google.adjustment_ledger.adjustments == []
    assert {d.destination: d.retracted for d in delivery(store).destinations} == {"google": 1, "meta": 1,
                                                                                  "tiktok": 1}


def test_a_later_restatement_that_arrives_first_wins_at_google_too(world, store):
    _, _, google, dests, effects = world
    shop(store, effects, "paid", 6)
    run(store, dests)
    shop(store, effects, "partially_refunded", 6, total="30.00", hours=9)  # the later refund, delivered first
    shop(store, effects, "partially_refunded", 6, total="80.00", hours=3)
    counts = run(store, dests)
    assert counts["google"].adjustments == {"sent": 1, "skipped": 1}  # both tell the same state: sent once
    assert google.adjustment_ledger.value(google.conversion_action("purchase"), "6") == 30.0


@pytest.mark.parametrize("world", ["data_manager"], indirect=True)
def test_the_data_manager_restates_by_transaction_id_and_cannot_retract(world, store):
    _, _, google, dests, effects = world
    for order_id in (7, 8):
        shop(store, effects, "paid", order_id)
    assert run(store, dests)["google"].sent == 2
    shop(store, effects, "partially_refunded", 7, total="45.50", hours=5)
    shop(store, effects, "cancelled", 8, hours=6)
    counts = run(store, dests)
    assert counts["google"].adjustments == {"sent": 1, "unsupported": 1}
    action = google.CONVERSION_ACTIONS["purchase"]
    assert [(e["transactionId"], e["conversionValue"]) for e in google.restatements] == [("7", 45.5)]
    assert google.transactions[("transaction", action, "7")]["conversionValue"] == 45.5  # overwritten, not a new one
    assert google.transactions[("transaction", action, "8")]["conversionValue"] == 120.0
    assert len(google.accepted) == 2 and google.adjustment_ledger.adjustments == []
    with store.transaction() as s:
        reasons = {r for r in s.scalars(select(model.Delivery.last_error).where(model.Delivery.status == "unsupported"))
                   if r.startswith("not supported by the Data Manager API")}
    assert len(reasons) == 1 and "documents no retraction" in reasons.pop()
    assert run(store, dests)["google"].adjustments == {}  # nothing left: no resend
