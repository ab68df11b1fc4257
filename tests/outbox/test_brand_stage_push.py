"""Stage write-back per brand: a respond.io workspace brands.yaml gives to a brand (``respondio:lumen``) is told
that brand's stage of the contact, through its own token; the default workspace the default brand's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select
from support.brands import BRANDS, brand_config_dir

from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.ingest.inbox import process_events, store_events
from sync.outbox.effects import Effects
from sync.outbox.stage_dispatch import dispatch
from sync.outbox.targets import stage_sender
from sync.settings import Settings
from sync.store import model

BASE = "https://api.respond.io/v2"
SETTINGS = Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "glow-token",
                              "LIFESYNC_RESPONDIO_API_TOKEN__LUMEN": "lumen-token"})


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    brands = BRANDS.replace("hubspot:lumen]", "hubspot:lumen, respondio:lumen]")
    return load_config(brand_config_dir(tmp_path_factory.mktemp("brands"), brands))


def _order(order_id: str, email: str, status: str, minutes: int) -> dict:
    at = (model.utcnow() - timedelta(minutes=minutes)).isoformat()
    return {"id": order_id, "status": status, "total": 40.0, "currency": "EUR", "updated_at": at, "created_at": at,
            "customer": {"email": email}}


def _queued(store) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    with store.transaction() as s:
        for row in s.scalars(select(model.Outbox).where(model.Outbox.kind == "stage").order_by(model.Outbox.id)):
            found.setdefault(row.destination, []).append((row.payload["identifier"], row.payload["stage"]))
    return found


def test_each_workspace_is_told_its_brands_stage_and_only_its_brands_contacts(store, config):
    effects = Effects.of(SETTINGS, config)
    assert [(t.destination, t.brand) for t in effects.brand_push] == [("respondio/lumen", "lumen")]
    events = [InboundEvent("shop", "order", "a1", _order("a1", "ana@example.com", "paid", 50)),
              InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com", "booked", 30), "lumen"),
              InboundEvent("shop", "order", "b2", _order("b2", "cara@example.com", "booked", 20), "lumen")]
    process_events(store, config, store_events(store, events), effects)
    queued = _queued(store)
    assert queued["respondio"][-1] == ("email:ana@example.com", "Customer")
    assert {i for i, _ in queued["respondio"]} == {"email:ana@example.com"}  # Cara is no contact of Glow
    assert {i: s for i, s in queued["respondio/lumen"]} == {"email:ana@example.com": "Hot Lead",
                                                          "email:cara@example.com": "Hot Lead"}

    # a later Glow record moves only Glow's stage: Lumen's workspace hears nothing new
    before = len(queued["respondio/lumen"])
    later = {**_order("a1", "ana@example.com", "paid", 5), "id": "a3"}  # a second purchase at Glow
    process_events(store, config, store_events(store, [InboundEvent("shop", "order", "a3", later)]), effects)
    assert len(_queued(store)["respondio/lumen"]) == before

    with responses.RequestsMock() as rio:
        rio.add(responses.POST, re.compile(re.escape(BASE) + r"/.*"), json={})
        counts = dispatch(store, "respondio/lumen", stage_sender("respondio/lumen", SETTINGS, config))
        tokens = {call.request.headers["Authorization"] for call in rio.calls}
        lifecycle = [call.request.body for call in rio.calls if "lifecycle" in call.request.url]
    assert counts["sent"] == 2 and tokens == {"Bearer lumen-token"}
    assert lifecycle and all(b'"Hot Lead"' in body for body in lifecycle)


def test_without_a_brand_connection_only_the_default_workspace_is_told(store, config):
    settings = Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "glow-token"})
    effects = Effects.of(settings, config)
    assert effects.brand_push == ()
    events = [InboundEvent("shop", "order", "b1", _order("b1", "ana@example.com", "booked", 30), "lumen")]
    process_events(store, config, store_events(store, events), effects)
    assert _queued(store) == {}  # Ana is Lumen's only: nothing for Glow's workspace, Lumen's has no token
