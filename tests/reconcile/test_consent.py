"""Consent resolution: newest wins, a withdrawal wins at equal times, in any order; merges and echoes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support.lifecycle_fixtures import T0, make_config, patch

from sync.reconcile import snapshot
from sync.reconcile.survivorship import Candidate, consent_winner, kept
from sync.reconcile.unmerge import split
from sync.reconcile.workspace import Echo, Workspace, echo_digest

candidates = st.lists(st.builds(Candidate, source=st.sampled_from(["hubspot", "salesforce", "whatsapp"]),
                                value=st.booleans(), source_time=st.sampled_from([T0, T0 + timedelta(hours=1)]),
                                record_id=st.sampled_from(["r1", "r2"])), min_size=1, max_size=6)


@settings(max_examples=150)
@given(cands=candidates, data=st.data())
def test_the_winner_does_not_depend_on_order(cands, data):
    shuffled = data.draw(st.permutations(cands))
    assert consent_winner(shuffled) == consent_winner(cands)


@settings(max_examples=150)
@given(cands=candidates)
def test_a_withdrawal_wins_at_the_newest_time_and_only_then(cands):
    newest = max(c.source_time for c in cands)
    at_newest = {c.value for c in cands if c.source_time == newest}
    assert consent_winner(cands).value is (False not in at_newest)
    assert consent_winner(cands).source_time == newest


@settings(max_examples=100)
@given(cands=candidates, data=st.data())
def test_a_source_keeps_one_candidate_by_the_same_rule_in_any_order(cands, data):
    def keep_all(order):
        held = None
        for c in order:
            held = kept("consent.marketing_email", held, c)
        return held

    assert keep_all(data.draw(st.permutations(cands))) == keep_all(cands) == consent_winner(cands)


def test_a_grant_newer_than_a_withdrawal_wins():
    withdrawn = Candidate("shop", False, T0, "o1")
    granted = Candidate("whatsapp", True, T0 + timedelta(seconds=1), "m1")
    assert consent_winner([withdrawn, granted]) is granted
    assert consent_winner([granted, replace_time(withdrawn, T0 + timedelta(seconds=1))]).value is False


def replace_time(c: Candidate, at):
    return c._replace(source_time=at)


def consent_patch(source, record, ids, minutes, **consent):
    return replace(patch(source, record, ids, minutes=minutes), consent=tuple(sorted(consent.items())))


def test_workspace_resolves_consent_per_purpose_apart_from_the_fields(config):
    ws = Workspace(config)
    first = ws.apply(consent_patch("shop", "o1", ["email:a@x.com"], 0, marketing_email=True, marketing_messages=True))
    later = ws.apply(consent_patch("whatsapp", "m1", ["email:a@x.com"], 5, marketing_messages=False))
    again = ws.apply(consent_patch("whatsapp", "m1", ["email:a@x.com"], 5, marketing_messages=False))
    [contact] = ws.contacts()
    assert contact.consent == {"marketing_email": True, "marketing_messages": False}
    assert contact.attributes == {}  # consent is no field
    assert contact.candidates[("consent.marketing_messages", "whatsapp")] == Candidate("whatsapp", False,
                                                                                        T0 + timedelta(minutes=5), "m1")
    assert first.changed and later.changed and not again.changed  # a consent change is a change (segments)


@settings(max_examples=60)
@given(data=st.data())
def test_any_arrival_order_gives_the_same_consent_even_through_a_merge(data):
    config = make_config()
    ps = [consent_patch("shop", "o1", ["email:a@x.com"], 0, marketing_email=True),
          consent_patch("hubspot", "1", ["hubspot:1", "phone:+14155550100"], 3, marketing_email=False),
          consent_patch("salesforce", "003", ["email:a@x.com", "phone:+14155550100"], 3, marketing_email=True),
          consent_patch("shop", "o2", ["email:a@x.com"], 1, marketing_email=True)]
    results = set()
    for order in (ps, data.draw(st.permutations(ps))):
        ws = Workspace(config)
        for p in order:
            ws.apply(p)
        [contact] = ws.contacts()
        results.add(tuple(sorted(contact.consent.items())))
    assert results == {(("marketing_email", False),)}  # hubspot's withdrawal ties salesforce's grant at minute 3


def test_a_merge_snapshot_and_unmerge_give_each_contact_its_own_consent_back(config):
    ws = Workspace(config)
    a = ws.apply(consent_patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], 0, marketing_email=False))
    b = ws.apply(consent_patch("shop", "o1", ["phone:+14155550100"], 2, marketing_email=True))
    ws.apply(patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"], minutes=3))
    [merged] = ws.contacts()
    assert merged.consent == {"marketing_email": True}  # the newer grant
    snap = ws.merges[0]["snapshot"]
    parts = split(merged, snap, b.contact)
    for state in (parts.kept, parts.gone):
        ws.recompute(state)
    assert parts.kept.key == a.contact and parts.kept.consent == {"marketing_email": False}
    assert parts.gone.consent == {"marketing_email": True}
    assert snapshot.decode_state(1, snapshot.encode_state(merged)).candidates == merged.candidates


def test_a_pushed_consent_coming_back_keeps_its_origin_time(config):
    ws = Workspace(config)
    ws.apply(consent_patch("shop", "o1", ["email:a@x.com"], 10, marketing_email=False))
    [contact] = ws.contacts()
    pushed = Echo(echo_digest(False), "shop", T0 + timedelta(minutes=10))
    contact.echoes[("salesforce", "consent.marketing_email")] = pushed
    ws.apply(consent_patch("salesforce", "003", ["email:a@x.com"], 60, marketing_email=False))
    assert contact.candidates[("consent.marketing_email", "salesforce")].source_time == T0 + timedelta(minutes=10)
