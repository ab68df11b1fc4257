"""The delivery report on a real database: conversion events per destination, their status, click ids and keys."""

from __future__ import annotations

import pytest
from support.report_data import CONFIG, at

from sync.reports import delivery
from sync.store import model


def queued(session, n, destination, delivery_status=None, response=None, *, kind="conversion", created=None):
    item = model.Outbox(idempotency_key=f"k{n}", kind=kind, destination=destination, payload={"event_id": f"e{n}"},
                        created_at=created or at(1))
    session.add(item)
    session.flush()
    if delivery_status:
        session.add(model.Delivery(outbox_id=item.id, destination=destination, status=delivery_status,
                                   response=response or {}))


@pytest.fixture
def delivery_data(store):
    with store.transaction() as s:
        queued(s, 1, "meta", "sent", {"click_id": "ctwa_clid", "keys": ["em", "ph", "external_id"]})
        queued(s, 2, "meta", "sent", {"click_id": None, "keys": ["ph"]})
        queued(s, 3, "meta", "sent", {"click_id": "fbc", "keys": ["em"]})
        queued(s, 4, "meta", "failed")
        queued(s, 5, "meta")  # not picked up yet: no delivery row
        queued(s, 6, "meta", "dead")
        queued(s, 7, "tiktok", "sent", {"click_id": "ttclid", "keys": "em"})  # keys not a list: ignored
        queued(s, 8, "tiktok", "pending")
        queued(s, 9, "google", "sent")
        queued(s, 10, "hubspot", "sent", {"click_id": "gclid", "keys": ["em"]}, kind="push")  # not a conversion
        queued(s, 11, "meta", "sent", {"click_id": "fbc", "keys": ["em"]}, created=at(-48))  # before the window
    return store


def test_delivery_health_per_destination(delivery_data):
    report = delivery(delivery_data, CONFIG, start=at(0))
    got = {d.destination: d for d in report.destinations}
    assert sorted(got) == ["google", "meta", "tiktok"]
    meta = got["meta"]
    assert (meta.events, meta.sent, meta.failed, meta.dead, meta.pending, meta.other) == (6, 3, 1, 1, 1, 0)
    assert (meta.with_click_id, meta.click_id_share, meta.click_ids) == (2, 2 / 3, {"ctwa_clid": 1, "fbc": 1})
    assert meta.keys == {"em": 2, "external_id": 1, "ph": 2}
    assert meta.key_shares == {"em": 2 / 3, "external_id": 1 / 3, "ph": 2 / 3}
    tiktok = got["tiktok"]
    assert (tiktok.events, tiktok.sent, tiktok.pending, tiktok.click_id_share, tiktok.keys) == (2, 1, 1, 1.0, {})
    assert (got["google"].sent, got["google"].click_id_share, got["google"].key_shares) == (1, 0.0, {})
    everything = {d.destination: d.events for d in delivery(delivery_data, CONFIG).destinations}
    assert everything == {"google": 1, "meta": 7, "tiktok": 2}
