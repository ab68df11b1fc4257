"""Every ad-network audience destination end to end: settings → registry → ensure → add → remove on its sandbox.

The destinations are found and built as the segment engine does (``kind(...).from_settings`` from a
segment file's entry and the environment the sandbox server exports, then ``build``); each segment
is created remotely, filled, and emptied again, and the sandbox holds exactly what was sent.
"""

from __future__ import annotations

import pytest

from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import KINDS, build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.settings import Settings

OPTIONS = {"meta_audience": {}, "google_customer_match": {"customer_match_terms": "accepted"},
           "tiktok_audience": {}}


@pytest.fixture(scope="module")
def sandboxes():
    meta, tiktok, google = MetaSandbox(require_appsecret_proof=True), TikTokSandbox(), GoogleAdsSandbox()
    with SandboxServer(meta=meta, tiktok=tiktok, google=google) as server:
        env = {**server.env(), "LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": tiktok.MARKETING_TOKEN,
               "LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID": tiktok.ADVERTISER_ID}
        yield {"meta_audience": lambda rid: meta.audience_book.audiences[rid]["rows"],
               "google_customer_match": lambda rid: google.user_lists[rid]["members"],
               "tiktok_audience": lambda rid: tiktok.segment_audiences[rid]["members"]}, Settings.from_env(env)


def people() -> list[AudienceMember]:
    found = [AudienceMember(i, emails=(f"customer{i}@example.com",), phones=(f"+1415555{i:04d}",), first_name="Ann",
                            last_name="Lee", country="US", zip="94103", consent={"ad_user_data": True})
             for i in range(25)]
    return [*found, AudienceMember(99, first_name="Nobody")]


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_a_segment_is_created_filled_and_emptied_on_each_network(sandboxes, name):
    held, settings = sandboxes
    assert name in KINDS
    dest = build(kind(name).from_settings(f"{name}-lapsed", OPTIONS[name], settings))
    assert dest.purpose == "ad_user_data" and dest.max_batch >= 1000
    remote_id = dest.ensure(Audience("lapsed", f"Lapsed customers {name}"))
    assert dest.ensure(Audience("lapsed", "Lapsed customers", remote_id=remote_id)) == remote_id  # idempotent
    entries = []
    for member in people():
        try:
            entries.append(Entry(member.contact_id, dest.keys(member)))
        except Unmatchable:
            assert member.contact_id == 99
    assert [e.contact_id for e in entries] == list(range(25))
    assert {r.status for r in dest.add(remote_id, entries)} == {"done"}
    assert len(held[name](remote_id)) >= 25
    assert {r.status for r in dest.remove(remote_id, entries)} == {"done"}
    assert not held[name](remote_id)
