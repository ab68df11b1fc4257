"""The delivery report on a real database: conversion events per destination, their status, click ids and keys."""

from __future__ import annotations

from support.report_data import CONFIG, at
from support.report_data import delivery_data as delivery_data  # database fixture, re-exported for pytest

from sync.reports import delivery


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
