"""Inactivity rules whose ``activity`` counts outbound messages and conversions, not only inbound messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sync.config import load_config
from sync.config.types import LostStageDef, StaleLeadRule
from sync.ingest.automation import apply_stale_leads
from sync.ingest.pipeline import ingest
from sync.store import model

CONFIG = load_config(None)
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def lifecycle(*activity: str):
    rule = StaleLeadRule("lapsed", ("Customer", "Repeat Customer"), 30, "Lapsed Customer", activity)
    base = CONFIG.lifecycle
    return replace(base, lost_stages=(*base.lost_stages, LostStageDef("Lapsed Customer")), stale_rules=(rule,))


def order(order_id: int, status: str, at: datetime) -> dict:
    return {"id": order_id, "status": status, "total": "40.00", "currency": "eur", "created_at": at.isoformat(),
            "updated_at": at.isoformat(), "paid_at": at.isoformat(), "customer": {"id": 5, "email": "ana@example.com"}}


def customer(store, *, outbound_days: int | None = None, booking_days: int | None = None) -> None:
    """Ana pays at T0; an agent writes to her, or she books, some days later."""
    config = replace(CONFIG, lifecycle=lifecycle("inbound"))
    ingest("shop", "order", [order(1, "paid", T0)], store=store, config=config)
    if booking_days is not None:
        ingest("shop", "order", [order(2, "booked", T0 + timedelta(days=booking_days))], store=store, config=config)
    if outbound_days is not None:
        with store.transaction() as s:
            cid = s.scalar(select(model.Contact.id))
            s.add(model.Activity(key="out-1", contact_id=cid, channel="whatsapp", direction="outbound",
                                 occurred_at=T0 + timedelta(days=outbound_days), source="whatsapp"))


def lost(store) -> tuple[str | None, str | None]:
    with store.transaction() as s:
        c = s.scalars(select(model.Contact)).one()
        return c.stage, c.lost_stage


@pytest.mark.parametrize(("activity", "days", "lapsed"), [
    (("inbound",), 35, True),                      # the agent's message is not the customer's activity here
    (("inbound", "outbound"), 35, False),          # idle since the message on day 20: lapses on day 50
    (("inbound", "outbound"), 50, True),
    (("purchase",), 35, True),
])
def test_an_outbound_message_counts_when_the_rule_says_so(store, activity, days, lapsed):
    customer(store, outbound_days=20)
    apply_stale_leads(store, lifecycle(*activity), now=T0 + timedelta(days=days))
    assert lost(store) == ("Customer", "Lapsed Customer" if lapsed else None)


@pytest.mark.parametrize(("activity", "lapsed"), [(("inbound",), True), (("booking", "purchase"), False)])
def test_a_booking_counts_when_its_kind_is_listed(store, activity, lapsed):
    customer(store, booking_days=25)  # a booking does not move a Customer's stage (Hot Lead is behind)
    apply_stale_leads(store, lifecycle(*activity), now=T0 + timedelta(days=40))
    assert lost(store) == ("Customer", "Lapsed Customer" if lapsed else None)


def test_both_messages_and_conversions_count_the_latest_of_either(store):
    customer(store, outbound_days=10, booking_days=25)
    rules = lifecycle("outbound", "booking")
    apply_stale_leads(store, rules, now=T0 + timedelta(days=54))
    assert lost(store) == ("Customer", None)
    apply_stale_leads(store, rules, now=T0 + timedelta(days=56))
    with store.transaction() as s:
        [move] = s.scalars(select(model.StageTransition).where(model.StageTransition.to_stage == "Lapsed Customer"))
        assert move.at == T0 + timedelta(days=55)
        assert move.reason.endswith("rule lapsed: no activity (outbound, booking) for 30 days")
