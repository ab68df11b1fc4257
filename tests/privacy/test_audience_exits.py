"""Audience destinations honour each privacy policy: what their sandboxes hold after a sync, each member's reason."""

from __future__ import annotations

import pytest
from facebook_business.adobjects.customaudience import CustomAudience
from sqlalchemy import select
from support.conversions import seed

from sync.config.privacy import PolicyRule, PrivacyConfig
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.respondio import RespondioSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.audiences.engine import open_destination, sync_audience
from sync.segments.destinations.ad_delivery import Part
from sync.segments.destinations.base import Audience, AudienceMember, DestinationEntry, Entry
from sync.segments.destinations.meta_audience import SCHEMA, MetaAudience, request_params
from sync.settings import Settings
from sync.store import model

SEGMENT = Audience("lapsed", "Lapsed customers")
ENTRIES = {"meta_audience": DestinationEntry("meta-lapsed", "meta_audience", {}),
           "google_customer_match": DestinationEntry("google-lapsed", "google_customer_match",
                                                     {"customer_match_terms": "accepted"}),
           "respondio_tag": DestinationEntry("rio-lapsed", "respondio_tag", {"tag": "lapsed"})}
HELD = {"meta_audience": 2, "google_customer_match": 4, "respondio_tag": 2}  # rows, identifiers (e-mail + phone), tags


def only(policy: str) -> PrivacyConfig:
    return PrivacyConfig(policies=(PolicyRule(policy=policy, destinations=("all",)),))


@pytest.fixture(params=sorted(ENTRIES))
def exit_(request, store):
    """(kind, the destination on its sandbox, what the sandbox holds for a remote id)."""
    meta, google, rio = MetaSandbox(), GoogleAdsSandbox(), RespondioSandbox()
    seed(store, 2, destinations=())  # buyer1/2@example.com in Portugal, ad_user_data granted
    contacts = [rio.add_contact(email=f"buyer{i}@example.com") for i in (1, 2)]
    with SandboxServer(meta=meta, google=google, respondio=rio) as server:
        entry = ENTRIES[request.param]
        held = {"meta_audience": lambda rid: meta.audience_book.audiences[rid]["rows"],
                "google_customer_match": lambda rid: google.user_lists[rid]["members"],
                "respondio_tag": lambda rid: [t for c in contacts for t in rio.contact(c).tags]}[request.param]
        yield entry, open_destination(entry, Settings.from_env(server.env())), held


def run(store, entry, dest, policy):
    counts = sync_audience(store, SEGMENT, entry, [1, 2], dest, privacy=only(policy))
    with store.transaction() as s:
        remote = s.scalar(select(model.Audience.remote_id).where(model.Audience.destination == entry.name))
        states = {r.contact_id: (r.state, r.reason) for r in s.scalars(
            select(model.AudienceMemberState).where(model.AudienceMemberState.destination == entry.name))}
    return counts, remote, states


def test_send_adds_every_member(exit_, store):
    entry, dest, held = exit_
    counts, remote, _ = run(store, entry, dest, "send")
    assert counts.added == 2 and len(held(remote)) == HELD[entry.kind]
    if entry.kind == "meta_audience":
        assert not any("DATA_PROCESSING_OPTIONS" in row for row in held(remote))


def test_restricted_is_metas_limited_data_use_and_leaves_members_out_where_it_cannot_be_asked(exit_, store):
    entry, dest, held = exit_
    counts, remote, states = run(store, entry, dest, "restricted")
    if entry.kind == "meta_audience":
        assert counts.added == 2
        assert [row["DATA_PROCESSING_OPTIONS"] for row in held(remote)] == [["LDU"], ["LDU"]]
    else:  # Google Customer Match would be sent adPersonalization DENIED: useless, left out; respond.io has no flag
        assert counts.added == 0 and counts.skipped == 2 and not held(remote)
        assert {reason for _, reason in states.values()} == {
            f"privacy policy restricted: {entry.kind} cannot restrict processing (rule 1)"}


def test_strip_leaves_every_member_out_an_audience_is_identifiers(exit_, store):
    entry, dest, held = exit_
    counts, remote, states = run(store, entry, dest, "strip")
    assert counts.added == 0 and counts.skipped == 2 and not held(remote)
    assert all(state == "skipped" and reason.startswith("privacy policy strip") for state, reason in states.values())


def test_drop_removes_members_already_added(exit_, store):
    entry, dest, held = exit_
    _, remote, _ = run(store, entry, dest, "send")
    assert len(held(remote)) == HELD[entry.kind]
    counts, remote, states = run(store, entry, dest, "drop")
    assert counts.removed == 2 and not held(remote)
    assert {states[1], states[2]} == {("skipped", "privacy policy drop: rule 1")}


def test_a_restricted_upload_is_what_the_sdk_sends_with_the_data_processing_options_column():
    dest = MetaAudience.__new__(MetaAudience)
    dest.config = MetaAudience.from_settings("m", {"audience_id": "1"}, Settings.from_env({
        "LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t"}))
    plain = Entry(1, dest.keys(AudienceMember(1, emails=("ann@example.com",))))
    limited = Entry(2, dest.keys(AudienceMember(2, emails=("bob@example.com",), country="US", state="CA",
                                                policy="restricted")))
    ours = request_params([plain, limited], 7, Part(1, True, 2))
    rows = [[row.get(k, "") for k in SCHEMA] + [row.get("DATA_PROCESSING_OPTIONS", [])]
            for e in (plain, limited) for row in e.keys["rows"]]
    theirs = CustomAudience.format_params([*SCHEMA, "DATA_PROCESSING_OPTIONS"], rows, is_raw=True, pre_hashed=True,
                                          session={"session_id": 7, "batch_seq": 1, "last_batch_flag": True,
                                                   "estimated_num_total": 2})
    assert ours == theirs and ours["payload"]["data"][1][-1] == ["LDU"] and ours["payload"]["data"][0][-1] == []
