"""Stale leads and first-response times on a real database, through the real mappings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.automation_data import T0, WA_ID, hubspot, message, sent

from sync.config import load_config
from sync.ingest.automation import apply_stale_leads, compute_first_responses
from sync.ingest.pipeline import ingest
from sync.store import model


@pytest.fixture(scope="module")
def config():
    return load_config(None)


def contact(store) -> tuple[model.Contact, list[tuple]]:
    with store.transaction() as s:
        [c] = s.scalars(select(model.Contact)).all()
        history = [(t.from_stage, t.to_stage, t.at, t.source) for t in
                   s.scalars(select(model.StageTransition).where(model.StageTransition.contact_id == c.id)
                             .order_by(model.StageTransition.seq))]
    return c, history


@pytest.mark.parametrize(("idle_days", "cold"), [(8, True), (7, True), (6, False)])
def test_a_lead_without_inbound_for_seven_days_goes_cold(store, config, idle_days, cold):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    result = apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=idle_days))
    c, history = contact(store)
    if not cold:
        assert (c.stage, c.lost_stage, result.updated) == ("New Lead", None, 0)
        assert len(history) == 1
        return
    assert (c.stage, c.lost_stage, result.updated) == ("New Lead", "Cold Lead", 1)
    assert history[-1] == ("New Lead", "Cold Lead", T0 + timedelta(days=7), "lifesync-automation")
    # a second run finds nothing to do
    assert apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=idle_days)).records == 0


def test_customers_are_never_stale(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    ingest("hubspot", "contacts", [hubspot("customer", T0 + timedelta(hours=1))], store=store, config=config)
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=60))
    c, _ = contact(store)
    assert (c.stage, c.lost_stage) == ("Customer", None)


def test_idle_time_counts_from_entering_the_stage(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    ingest("hubspot", "contacts", [hubspot("salesqualifiedlead", T0 + timedelta(days=5))], store=store,
           config=config)
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=8))
    assert contact(store)[0].lost_stage is None  # Hot Lead only since day 5
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=12, hours=1))
    c, history = contact(store)
    assert (c.stage, c.lost_stage) == ("Hot Lead", "Cold Lead")
    assert history[-1] == ("Hot Lead", "Cold Lead", T0 + timedelta(days=12), "lifesync-automation")


def test_an_inbound_message_reactivates_a_cold_lead(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=8))
    back = T0 + timedelta(days=9)
    ingest("whatsapp", "message", [message(back, "wamid.B")], store=store, config=config)
    c, history = contact(store)
    assert (c.stage, c.lost_stage) == ("New Lead", None)
    assert [h[:2] for h in history] == [(None, "New Lead"), ("New Lead", "Cold Lead"), ("Cold Lead", "New Lead")]
    assert history[-1][2:] == (back, "whatsapp")
    # and the idle clock restarts from the new message
    apply_stale_leads(store, config.lifecycle, now=back + timedelta(days=6))
    assert contact(store)[0].lost_stage is None


def test_stale_leads_are_processed_in_pages(store, config):
    ids = [f"44791112{n:04d}" for n in range(7)]
    ingest("whatsapp", "message", [message(T0, f"wamid.{n}", wa) for n, wa in enumerate(ids)], store=store,
           config=config)
    result = apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=8), batch_size=3)
    assert result.updated == 7
    with store.transaction() as s:
        assert set(s.scalars(select(model.Contact.lost_stage))) == {"Cold Lead"}


def stats(store) -> list[tuple]:
    with store.transaction() as s:
        return [(r.channel, r.conversation_id, r.first_inbound_at, r.first_outbound_at, r.first_response_seconds)
                for r in s.scalars(select(model.ConversationStat).order_by(model.ConversationStat.id))]


def test_first_response_time_per_conversation_is_computed_and_idempotent(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A"), message(T0 + timedelta(minutes=2), "wamid.B")],
           store=store, config=config)
    ingest("whatsapp", "status", [sent(T0 - timedelta(hours=1), "wamid.OLD"),  # before: not a reply
                                  sent(T0 + timedelta(minutes=10), "wamid.R1"),
                                  sent(T0 + timedelta(minutes=30), "wamid.R2")], store=store, config=config)
    assert compute_first_responses(store)["written"] == 1
    expected = [("whatsapp", WA_ID, T0, T0 + timedelta(minutes=10), 600)]
    assert stats(store) == expected
    assert compute_first_responses(store)["written"] == 0  # nothing changed: nothing rewritten
    assert stats(store) == expected


def test_first_response_follows_new_activities(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    compute_first_responses(store)
    assert stats(store)[0][3:] == (None, None)  # no reply yet
    ingest("whatsapp", "status", [sent(T0 + timedelta(seconds=45), "wamid.R1")], store=store, config=config)
    assert compute_first_responses(store)["written"] == 1
    assert stats(store)[0][3:] == (T0 + timedelta(seconds=45), 45)


def test_a_reactivated_lead_can_go_cold_again(store, config):
    ingest("whatsapp", "message", [message(T0, "wamid.A")], store=store, config=config)
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=8))
    ingest("whatsapp", "message", [message(T0 + timedelta(days=9), "wamid.B")], store=store, config=config)
    apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=17))
    assert contact(store)[0].lost_stage == "Cold Lead"
