"""A dead letter keeps its record's brand: replayed, the record lands in that brand's funnel, not the default's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.brands import BRANDS, brand_config_dir

from sync.config import BUNDLED_CONFIG_DIR, load_config
from sync.connectors.crm import Page, SyncStats
from sync.connectors.events import InboundEvent
from sync.crm.pull import run_sync
from sync.ingest import inbox
from sync.ingest.deadletter import list_open, replay
from sync.ingest.deadletter_groups import letter
from sync.ingest.inbox import process_events, store_events
from sync.ingest.pipeline import ingest
from sync.store import model

JUNK = 'junk_values: ["null",'


def _order(order_id: str, email: str, status: str = "booked", updated_at: str | None = None) -> dict:
    at = (model.utcnow() - timedelta(minutes=30)).isoformat()
    return {"id": order_id, "status": status, "total": 40.0, "currency": "EUR", "updated_at": updated_at or at,
            "created_at": at, "customer": {"email": email, "first_name": "Ana"}}


def _under(tmp_path, name: str):
    (tmp_path / name).mkdir()
    return tmp_path / name


@pytest.fixture
def brand_configs(tmp_path):
    """(broken, fixed): two brands; the broken one wrongly takes Ana (her email, her HubSpot id) for junk values."""
    fixed = load_config(brand_config_dir(_under(tmp_path, "fixed")))
    directory = brand_config_dir(_under(tmp_path, "broken"))
    lifecycle = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text(encoding="utf-8")
    assert JUNK in lifecycle
    wrong = lifecycle.replace(JUNK, 'junk_values: ["ana@example.com", "901", "null",')
    (directory / "lifecycle.yaml").write_text(wrong, encoding="utf-8")
    return load_config(directory), fixed


def _stages(store) -> tuple[str | None, dict[str, str | None]]:
    """Ana's default-brand stage (contacts.stage) and her other brands' stages."""
    with store.transaction() as s:
        ana = s.scalar(select(model.Identity.contact_id).where(model.Identity.value == "ana@example.com"))
        default = s.scalar(select(model.Contact.stage).where(model.Contact.id == ana))
        others = dict(s.execute(select(model.ContactStage.brand, model.ContactStage.stage)
                                .where(model.ContactStage.contact_id == ana)).all())
    return default, others


def test_a_lumen_record_dead_lettered_by_the_inbox_replays_into_lumens_funnel(store, brand_configs):
    broken, fixed = brand_configs
    events = [InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com"), "lumen"),
              InboundEvent("shop", "order", "b2", _order("b2", "ben@example.com", updated_at="yesterday"), "lumen")]
    process_events(store, broken, store_events(store, events))
    with store.transaction() as s:
        letters = {r.stage: (r.brand, r.record_id) for r in s.scalars(select(model.DeadLetter))}
    assert letters == {"reconcile": ("lumen", "b1"), "mapping": ("lumen", "b2")}  # both know their brand
    assert {letter(store, r["id"])["brand"] for r in list_open(store)} == {"lumen"}  # as the API shows it

    result = replay(store, fixed)  # the junk_values mistake is fixed; b2's timestamp still is no date
    assert len(result.replayed) == 1 and len(result.failed) == 1
    assert _stages(store) == (None, {"lumen": "Hot Lead"})  # Lumen's booked lead; nothing in Glow's funnel
    with store.transaction() as s:
        assert set(s.scalars(select(model.StageSignal.brand))) == {"lumen"}


def test_a_default_brand_letter_stays_the_default_brands(store, brand_configs):
    broken, fixed = brand_configs
    process_events(store, broken, store_events(store, [InboundEvent("shop", "order", "a1",
                                                                    _order("a1", "ana@example.com"))]))
    with store.transaction() as s:
        assert s.scalars(select(model.DeadLetter.brand)).all() == [None]  # null: the default brand
    assert len(replay(store, fixed).replayed) == 1
    assert _stages(store) == ("Hot Lead", {})


def test_a_file_ingests_brand_is_kept_and_a_brand_no_longer_configured_keeps_the_letter_open(
        store, brand_configs, tmp_path):
    broken, fixed = brand_configs
    ingest("shop", "order", [_order("f1", "ana@example.com")], store=store, config=broken, brand="lumen")
    [found] = list_open(store)
    alone = load_config(brand_config_dir(_under(tmp_path, "alone"), BRANDS.split("  lumen:")[0]))  # lumen removed
    result = replay(store, alone)
    assert result.replayed == [] and "brand 'lumen'" in result.failed[found["id"]]
    assert "not configured any more" in result.failed[found["id"]]
    assert _stages(store) == (None, {})  # not silently the default brand's record
    assert replay(store, fixed).replayed == [found["id"]]
    assert _stages(store) == (None, {"lumen": "Hot Lead"})


class LumenHubspot:
    """One page of one HubSpot contact (Ana), pulled on the connection ``hubspot:lumen``."""

    source = "hubspot"

    def __init__(self):
        self.stats = SyncStats()

    def objects(self) -> list[str]:
        return ["contacts"]

    def pull(self, obj, cursor, *, full=False, now=None):
        at = (model.utcnow() - timedelta(minutes=30)).isoformat()
        yield Page("contacts", [{"id": "901", "createdAt": at, "updatedAt": at, "archived": False, "properties": {
            "email": "ana@example.com", "firstname": "Ana", "lifecyclestage": "salesqualifiedlead"}}], {"page": 1})


def test_a_record_dead_lettered_by_a_crm_sync_replays_into_the_connections_brand(store, brand_configs):
    broken, fixed = brand_configs
    report = run_sync(LumenHubspot(), store, broken, connection="lumen")
    assert report.objects[0].result.dead_lettered == 1
    with store.transaction() as s:
        assert s.scalars(select(model.DeadLetter.brand)).all() == ["lumen"]
    assert len(replay(store, fixed).replayed) == 1
    default, others = _stages(store)
    assert default is None and list(others) == ["lumen"] and others["lumen"] is not None
    assert _hubspot_ids(store) == ["lumen:901"]  # the id of Lumen's portal, as a pull stores it
    run_sync(LumenHubspot(), store, fixed, connection="lumen", full=True)
    assert _hubspot_ids(store) == ["lumen:901"]


def test_a_crm_letter_of_a_brand_with_two_portals_stays_open_saying_why(store, brand_configs, tmp_path):
    broken, fixed = brand_configs
    run_sync(LumenHubspot(), store, broken, connection="lumen")
    two = load_config(brand_config_dir(_under(tmp_path, "two"), BRANDS.replace("hubspot:lumen]",
                                                                               "hubspot:lumen, hubspot:spa]")))
    [found] = list_open(store)
    result = replay(store, two)
    assert result.replayed == [] and "owns several hubspot connections (lumen, spa)" in result.failed[found["id"]]
    assert _hubspot_ids(store) == [] and replay(store, fixed).replayed == [found["id"]]
    assert _hubspot_ids(store) == ["lumen:901"]


def _hubspot_ids(store) -> list[str]:
    with store.transaction() as s:
        return sorted(s.scalars(select(model.Identity.value).where(model.Identity.kind == "hubspot")))


def test_an_event_quarantined_by_the_inbox_keeps_its_connections_brand(store, brand_configs, monkeypatch):
    _, fixed = brand_configs
    ids = store_events(store, [InboundEvent("shop", "order", "q1", _order("q1", "ana@example.com"), "lumen")])

    def boom(*args, **kwargs):
        raise RuntimeError("a bug on this event")

    monkeypatch.setattr(inbox, "process_events", boom)
    assert inbox.process_isolating(store, fixed, ids).dead_lettered == 1
    monkeypatch.undo()
    with store.transaction() as s:
        assert s.scalars(select(model.DeadLetter.brand)).all() == ["lumen"]
    assert len(replay(store, fixed).replayed) == 1
    assert _stages(store) == (None, {"lumen": "Hot Lead"})


def test_the_same_record_id_in_two_brands_keeps_a_letter_each(store, brand_configs):
    broken, _ = brand_configs
    for key in ("k1", "k2"):  # delivered twice: each brand's letter is refreshed, not doubled nor overwritten
        process_events(store, broken, store_events(store, [
            InboundEvent("shop", "order", f"{key}-glow", _order("o1", "ana@example.com")),
            InboundEvent("shop", "order", f"{key}-lumen", _order("o1", "ana@example.com"), "lumen")]))
    with store.transaction() as s:
        letters = sorted((str(b), r) for b, r in s.execute(select(model.DeadLetter.brand, model.DeadLetter.record_id)))
    assert letters == [("None", "o1"), ("lumen", "o1")]
