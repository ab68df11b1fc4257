"""Brands on a real database: a stage per brand is stored and reloaded, and every report is scoped by brand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.brands import brand_config_dir

from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.ingest import funnel_counts
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects
from sync.reports import attribution, funnel, lost, response
from sync.reports.contact_search import ContactFilter, search
from sync.reports.export import contacts_json
from sync.store import model

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _order(order_id: str, email: str, status: str, hours: float) -> dict:
    at = (T0 + timedelta(hours=hours)).isoformat()
    return {"id": order_id, "status": status, "total": 30.0, "currency": "EUR", "updated_at": at, "created_at": at,
            "customer": {"email": email}}


@pytest.fixture
def two_brand_data(store, tmp_path):
    config = load_config(brand_config_dir(tmp_path))
    events = [InboundEvent("shop", "order", "a1", _order("a1", "ana@example.com", "paid", 1)),
              InboundEvent("shop", "order", "a2", _order("a2", "ben@example.com", "cart", 2)),
              InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com", "booked", 3), "lumen"),
              InboundEvent("shop", "order", "b2", _order("b2", "cara@example.com", "booked", 4), "lumen")]
    process_events(store, config, store_events(store, events), Effects.rules_only(config))
    return store, config


def _id(store, email: str) -> int:
    with store.transaction() as s:
        return s.scalar(select(model.Identity.contact_id).where(model.Identity.value == email))


def test_reports_are_scoped_by_brand_and_a_shared_person_counts_once_in_each(two_brand_data):
    store, config = two_brand_data
    glow, lumen = funnel(store, config), funnel(store, config, brand="lumen")
    assert (glow.brand, lumen.brand) == ("default", "lumen")
    assert {r.stage: r.current for r in glow.stages} == {"New Lead": 0, "Hot Lead": 0, "Payment": 1, "Customer": 1,
                                                        "Repeat Customer": 0}
    assert {r.stage: r.current for r in lumen.stages} == {"New Lead": 0, "Hot Lead": 2, "Payment": 0, "Customer": 0,
                                                         "Repeat Customer": 0}
    assert {r.stage: r.entered for r in lumen.stages}["New Lead"] == 2  # from its history (counts are Glow's)
    assert {r.stage: r.entered for r in glow.stages}["Customer"] == 1
    assert glow.contacts == 3 and lumen.contacts == 2  # Cara never dealt with Glow: no stage there
    windowed = funnel(store, config, start=T0, end=T0 + timedelta(hours=10), brand="lumen")
    assert {r.stage: r.entered for r in windowed.stages} == {r.stage: r.entered for r in lumen.stages}
    assert lost(store, config, brand="lumen").brand == "lumen"
    assert response(store, config, brand="lumen").brand == "lumen"
    every, theirs = attribution(store, config), attribution(store, config, brand="lumen")
    assert every.conversions == theirs.conversions + attribution(store, config, brand="default").conversions
    assert theirs.conversions == 6  # two bookings, each a lead and a qualified lead too
    with pytest.raises(ValueError, match="unknown brand 'nowhere'; configured brands: default, lumen"):
        funnel(store, config, brand="nowhere")
    with store.transaction() as s:
        counted = funnel_counts.counted(s)
    assert {stage for stage, _ in counted} == {"Customer", "Payment"}  # the default brand's only


def test_a_contact_of_two_brands_is_searched_and_exported_with_its_stage_in_each(two_brand_data):
    store, config = two_brand_data
    ana, cara = _id(store, "ana@example.com"), _id(store, "cara@example.com")
    with store.transaction() as s:
        lumen = search(s, config.lifecycle, ContactFilter(brand="lumen"), 10)
        glow = search(s, config.lifecycle, ContactFilter(brand="default"), 10)
        hot = search(s, config.lifecycle, ContactFilter(brand="lumen", stage="Hot Lead"), 10)
        doc = contacts_json(s, [ana])[0]
    assert {r["id"] for r in lumen} == {ana, cara} and all(r["stage"] == "Hot Lead" for r in lumen)
    assert cara not in {r["id"] for r in glow} and ana in {r["id"] for r in glow}
    assert {r["id"] for r in hot} == {ana, cara}
    assert doc["stage"] == "Customer" and [h["to"] for h in doc["stage_history"]] == ["Customer"]
    assert doc["brands"]["lumen"]["stage"] == "Hot Lead"
    assert [h["to"] for h in doc["brands"]["lumen"]["stage_history"]] == ["New Lead", "Hot Lead"]


def test_a_later_batch_reloads_the_stage_in_each_brand_and_moves_only_the_one_its_record_belongs_to(two_brand_data):
    store, config = two_brand_data
    later = [InboundEvent("shop", "order", "b3", _order("b3", "ana@example.com", "paid", 6), "lumen")]
    process_events(store, config, store_events(store, later), Effects.rules_only(config))
    ana = _id(store, "ana@example.com")
    with store.transaction() as s:
        glow = s.scalar(select(model.Contact.stage).where(model.Contact.id == ana))
        lumen = s.execute(select(model.ContactStage.stage, model.ContactStage.stage_changed_at)
                          .where(model.ContactStage.contact_id == ana)).one()
        brands = set(s.scalars(select(model.StageTransition.brand).where(model.StageTransition.contact_id == ana)))
    assert glow == "Customer" and lumen.stage == "Customer" and brands == {"default", "lumen"}
    assert lumen.stage_changed_at == T0 + timedelta(hours=6)


def test_the_cli_reports_one_brand_and_names_the_brands_when_asked_for_another(two_brand_data, tmp_path,
                                                                                database_url, monkeypatch):
    import json

    import click
    from click.testing import CliRunner

    from sync.cli.reports import register

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_CONFIG_DIR", str(tmp_path / "config"))
    group = click.Group("lifesync")
    register(group)
    shown = CliRunner().invoke(group, ["report", "funnel", "--brand", "lumen", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["brand"] == "lumen"
    refused = CliRunner().invoke(group, ["report", "funnel", "--brand", "nowhere"])
    assert refused.exit_code == 2 and "configured brands: default, lumen" in refused.output
