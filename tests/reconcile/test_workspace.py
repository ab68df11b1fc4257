"""Reconciliation rules on the in-memory workspace: identity, merges, survivorship, stages, echo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.lifecycle_fixtures import T0, make_config, patch

from sync.errors import ReconcileError
from sync.reconcile.patch import ActivityData, IdentityRef
from sync.reconcile.survivorship import value_key
from sync.reconcile.workspace import Echo, Workspace, echo_digest


def state_of(ws: Workspace) -> list[tuple]:
    """Order-independent view of a workspace: one tuple per live contact, sorted."""
    out = []
    for s in ws.contacts():
        out.append((
            tuple(sorted(str(r) for r in s.identities)),
            value_key(s.attributes),
            s.stage,
            s.lost_stage,
            tuple((t.from_stage, t.to_stage, t.at, t.source, t.reason) for t in s.transitions),
        ))
    return sorted(out)


def run(config, patches) -> Workspace:
    ws = Workspace(config)
    for p in patches:
        ws.apply(p)
    return ws


def test_new_records_sharing_an_email_become_one_contact(config):
    ws = run(config, [
        patch("hubspot", "1", ["hubspot:1", "email:ana@example.com"], first_name="Ana"),
        patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com", "phone:+34600111222"], minutes=5,
              first_name="Ana María"),
    ])
    [contact] = ws.contacts()
    assert {str(r) for r in contact.identities} == {
        "hubspot:1", "salesforce:003A", "email:ana@example.com", "phone:+34600111222"}
    # first_name: prefer salesforce unless blank
    assert contact.attributes["first_name"] == {"value": "Ana María", "source": "salesforce"}


def test_two_contacts_bridged_by_a_record_are_merged_into_the_older(config):
    ws = Workspace(config)
    a = ws.apply(patch("hubspot", "1", ["hubspot:1", "email:a@x.com"]))
    b = ws.apply(patch("salesforce", "003B", ["salesforce:003B", "phone:+14155550100"]))
    assert a.contact != b.contact
    bridge = ws.apply(patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"]))
    assert bridge.merges == 1
    [contact] = ws.contacts()
    assert contact.key == a.contact  # the older survives
    assert len(ws.merges) == 1 and ws.merges[0]["via"] == "phone"


def test_never_merges_contacts_holding_different_ids_of_one_system(config):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["hubspot:1", "email:shared@x.com"]))
    out = ws.apply(patch("hubspot", "2", ["hubspot:2", "email:shared@x.com"]))
    assert out.created and out.conflicts == 1
    assert len(ws.contacts()) == 2
    owner = ws.live(ws.index[IdentityRef("email", "shared@x.com")])
    assert IdentityRef("hubspot", "1") in owner.identities  # the email stays where it was
    assert ws.conflicts[-1]["rule"] == "merge_blocked"


def test_phone_match_does_not_merge_when_emails_differ(config):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["hubspot:1", "email:a@x.com", "phone:+14155550100"]))
    ws.apply(patch("respondio", "7", ["email:b@x.com"]))
    out = ws.apply(patch("respondio", "7", ["email:b@x.com", "phone:+14155550100"], minutes=1))
    assert out.merges == 0 and out.conflicts == 1
    assert len(ws.contacts()) == 2


@pytest.mark.parametrize("junk", ["email:null", "phone:000000000", "phone:-1", "email:n/a", "phone:0", "email:  "])
def test_junk_values_are_never_identities(config, junk):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["hubspot:1", junk]))
    ws.apply(patch("hubspot", "2", ["hubspot:2", junk]))
    assert len(ws.contacts()) == 2
    assert all(len(s.identities) == 1 for s in ws.contacts())


def test_record_with_only_junk_identities_is_rejected_before_any_change(config):
    ws = Workspace(config)
    with pytest.raises(ReconcileError, match="no usable identity"):
        ws.apply(patch("hubspot", "9", ["email:null", "phone:0000000"], first_name="X"))
    assert ws.contacts() == []


def test_an_unknown_stage_is_refused_and_the_rest_of_the_record_applies(config):
    ws = Workspace(config)
    out = ws.apply(patch("hubspot", "1", ["hubspot:1"], stage="Warm Lead", first_name="Ana"))
    (state,) = ws.contacts()
    assert state.stage is None and state.attributes["first_name"]["value"] == "Ana" and out.refused == 1
    (landed,) = [p for _, p in ws.landed]
    assert landed.stage is None and [(r.field, r.kind, r.value) for r in landed.refusals] == [
        ("stage", "unknown_stage", "Warm Lead")]
    assert "configured: New Lead, Hot Lead" in landed.refusals[0].reason


def test_a_patch_without_a_time_is_rejected_never_dated_at_the_epoch(config):
    from dataclasses import replace

    with pytest.raises(ReconcileError, match="has no time"):
        Workspace(config).apply(replace(patch("hubspot", "1", ["hubspot:1"], stage="New Lead"), source_time=None))


@pytest.mark.parametrize(("rule", "values", "expected"), [
    ("newest", [("hubspot", "Madrid", 1), ("salesforce", "Sevilla", 2)], ("Sevilla", "salesforce")),
    ("newest", [("hubspot", "Madrid", 3), ("salesforce", "Sevilla", 2)], ("Madrid", "hubspot")),
    ("newest", [("hubspot", None, 3), ("salesforce", "Sevilla", 2)], ("Sevilla", "salesforce")),
    ("priority", [("hubspot", "h@x.com", 9), ("salesforce", "s@x.com", 1)], ("s@x.com", "salesforce")),
    ("priority", [("hubspot", "h@x.com", 9), ("salesforce", "", 10)], ("h@x.com", "hubspot")),
    ("first", [("hubspot", "Ads", 5), ("salesforce", "Web", 2)], ("Web", "salesforce")),
    ("max", [("hubspot", 10, 5), ("salesforce", 30, 2)], (30, "salesforce")),
    ("min", [("hubspot", 10, 5), ("salesforce", 30, 2)], (10, "hubspot")),
])
def test_survivorship_rules(config, rule, values, expected):
    field = {"newest": "city", "priority": "email", "first": "lead_source", "max": "score", "min": "lowest"}[rule]
    ws = Workspace(config)
    for source, value, minute in values:
        ws.apply(patch(source, f"{source}-1", ["email:p@x.com"], minutes=minute, **{field: value}))
    [contact] = ws.contacts()
    assert (contact.attributes[field]["value"], contact.attributes[field]["source"]) == expected


def test_conflict_is_logged_once_per_disagreeing_update(config):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["email:p@x.com"], city="Madrid"))
    out = ws.apply(patch("salesforce", "2", ["email:p@x.com"], minutes=1, city="Sevilla"))
    again = ws.apply(patch("salesforce", "2", ["email:p@x.com"], minutes=1, city="Sevilla"))
    assert out.conflicts == 1 and again.conflicts == 0 and not again.changed
    assert ws.conflicts[0]["winner_source"] == "salesforce"


def test_default_stage_is_entered_as_of_the_earliest_record():
    ws = Workspace(make_config(default_stage="New Lead"))
    ws.apply(patch("hubspot", "1", ["hubspot:1"], minutes=30))
    ws.apply(patch("salesforce", "2", ["hubspot:1"], minutes=10, stage="Hot Lead"))
    ws.apply(patch("respondio", "3", ["hubspot:1"], minutes=5))
    [c] = ws.contacts()
    assert [(t.to_stage, t.at) for t in c.transitions] == [
        ("New Lead", T0 + timedelta(minutes=5)), ("Hot Lead", T0 + timedelta(minutes=10))]


def test_stage_moves_forward_not_back_and_lost_is_kept_apart(config):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["hubspot:1"], stage="Hot Lead"))
    ws.apply(patch("salesforce", "2", ["hubspot:1"], minutes=1, stage="New Lead"))  # backward: ignored
    [c] = ws.contacts()
    assert (c.stage, c.lost_stage) == ("Hot Lead", None)
    ws.apply(patch("salesforce", "2", ["hubspot:1"], minutes=2, stage="Cold Lead"))
    assert (c.stage, c.lost_stage) == ("Hot Lead", "Cold Lead")
    assert [t.to_stage for t in c.transitions] == ["Hot Lead", "Cold Lead"]


def test_inbound_message_reactivates_cold_lead(config):
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["whatsapp:34600111222"], stage="Cold Lead"))
    p = patch("whatsapp", "wamid.1", ["whatsapp:34600111222"], minutes=10)
    from dataclasses import replace
    ws.apply(replace(p, activities=(ActivityData("whatsapp", "inbound", T0 + timedelta(minutes=10), "wamid.1"),)))
    [c] = ws.contacts()
    assert (c.stage, c.lost_stage) == ("New Lead", None)
    assert c.transitions[-1].reason.startswith("rule reactivate")
    assert len(ws.activities) == 1


def test_echo_of_a_pushed_value_keeps_its_origin_time(config):
    """hubspot B (newer) must beat salesforce's late echo of the older value A we pushed."""
    ws = Workspace(config)
    ws.apply(patch("hubspot", "1", ["hubspot:1", "email:p@x.com"], minutes=1, city="A"))
    [c] = ws.contacts()
    c.echoes[("salesforce", "city")] = Echo(echo_digest("A"), "hubspot", T0 + timedelta(minutes=1))
    ws.apply(patch("hubspot", "1", ["hubspot:1"], minutes=2, city="B"))
    out = ws.apply(patch("salesforce", "003", ["salesforce:003", "email:p@x.com"], minutes=3, city="A"))
    assert c.attributes["city"] == {"value": "B", "source": "hubspot"}
    assert c.candidates[("city", "salesforce")].source_time == T0 + timedelta(minutes=1)
    assert out.changed  # the salesforce id is new information, the city is not
    # a different value from salesforce is a real change and forgets the echo
    ws.apply(patch("salesforce", "003", ["salesforce:003"], minutes=4, city="C"))
    assert c.attributes["city"]["value"] == "C" and ("salesforce", "city") not in c.echoes


# ---- properties -----------------------------------------------------------------------

SOURCES = ["hubspot", "salesforce", "respondio"]
STAGES = ["New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead", "Unqualified"]


def person_ids(k: int) -> list[str]:
    k += 1
    return [f"email:p{k}@x.com", f"phone:+1415555{k:04d}", f"hubspot:{k}", f"salesforce:003{k}"]


@st.composite
def patches(draw, max_size=12):
    out = []
    for n in range(draw(st.integers(1, max_size))):
        k = draw(st.integers(0, 3))
        ids = draw(st.lists(st.sampled_from(person_ids(k)), min_size=1, max_size=4, unique=True))
        fields = draw(st.dictionaries(st.sampled_from(["city", "email", "first_name", "score", "lead_source"]),
                                      st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers(0, 5)),
                                      max_size=3))
        out.append(patch(draw(st.sampled_from(SOURCES)), f"r{n}", ids, minutes=draw(st.integers(0, 5)),
                         stage=draw(st.one_of(st.none(), st.sampled_from(STAGES))), **fields))
    return out


@settings(max_examples=150, deadline=None)
@given(ps=patches(), data=st.data(), default_stage=st.sampled_from([None, "New Lead"]))
def test_any_order_of_the_same_patches_gives_the_same_state(ps, data, default_stage):
    config = make_config(default_stage=default_stage)
    shuffled = data.draw(st.permutations(ps))
    assert state_of(run(config, ps)) == state_of(run(config, shuffled))


@settings(max_examples=100, deadline=None)
@given(ps=patches(), data=st.data())
def test_applying_a_patch_twice_equals_once(ps, data):
    config = make_config()
    n = data.draw(st.integers(0, len(ps) - 1))
    twice = [*ps[: n + 1], ps[n], *ps[n + 1:]]
    assert state_of(run(config, ps)) == state_of(run(config, twice))


@settings(max_examples=100, deadline=None)
@given(ps=patches(), data=st.data())
def test_merges_are_order_independent(ps, data):
    config = make_config()
    shuffled = data.draw(st.permutations(ps))
    groups = [sorted(str(r) for r in s.identities) for s in run(config, ps).contacts()]
    groups2 = [sorted(str(r) for r in s.identities) for s in run(config, shuffled).contacts()]
    assert sorted(groups) == sorted(groups2)
    # and each person ends up as exactly one contact
    assert all(len({g.split(":")[1][-1] for g in grp if g.startswith("hubspot")}) <= 1 for grp in groups)


def test_a_deleted_record_withdraws_its_values_even_though_it_still_carries_them(config):
    from dataclasses import replace

    ws = run(config, [
        patch("hubspot", "1", ["hubspot:1", "email:ana@example.com"], city="Porto", first_name="Ana"),
        patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com"], minutes=1, city="Lisboa"),
    ])
    gone = replace(patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com"], minutes=2,
                         city="Lisboa"), deleted=True)
    ws.apply(gone)
    [contact] = ws.contacts()
    assert contact.attributes["city"] == {"value": "Porto", "source": "hubspot"}
    assert not [slot for slot in contact.candidates if slot[1] == "salesforce"]
    assert IdentityRef("salesforce", "003A") in contact.identities  # it existed there: the id stays known


def test_a_record_touched_by_lifesyncs_own_write_does_not_refresh_its_untouched_values(config):
    ws = run(config, [
        patch("hubspot", "1", ["hubspot:1", "email:ana@example.com"], minutes=10, city="Porto"),
        patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com"], minutes=0, city="Lisboa",
              first_name="Ana"),
    ])
    [contact] = ws.contacts()
    assert contact.attributes["city"]["value"] == "Porto"  # HubSpot's is newer
    contact.echoes[("salesforce", "city")] = Echo(echo_digest("Porto"), "hubspot", T0 + timedelta(minutes=10))
    # Salesforce stores the pushed city; the write stamps the whole record with a new modification time
    ws.apply(patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com"], minutes=60, city="Porto",
                   first_name="Ana"))
    assert contact.candidates[("first_name", "salesforce")].source_time == T0  # unchanged: keeps its time
    assert contact.candidates[("city", "salesforce")].source_time == T0 + timedelta(minutes=10)  # the echo
    # a record with no value of ours is a real edit: everything it carries is as new as the record
    ws.apply(patch("salesforce", "003A", ["salesforce:003A", "email:ana@example.com"], minutes=90, city="Faro",
                   first_name="Ana"))
    assert contact.candidates[("first_name", "salesforce")].source_time == T0 + timedelta(minutes=90)
