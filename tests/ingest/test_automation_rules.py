"""Pure parts of lifecycle automation: when a lead is stale, and first-response matching."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.config.types import StaleLeadRule
from sync.ingest.automation import ActivityRow, IdleContact, first_responses, stale_patch
from sync.reconcile.patch import IdentityRef

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RULE = StaleLeadRule("went-cold", ("New Lead", "Hot Lead"), 7, "Cold Lead")
WA = (IdentityRef("whatsapp", "447911123456"),)


@pytest.mark.parametrize(("stage", "idle_days", "moves"), [
    ("New Lead", 8, True), ("Hot Lead", 8, True), ("New Lead", 7, True),  # exactly N days: due
    ("New Lead", 6, False), ("Customer", 30, False), ("Payment", 8, False),
])
def test_stale_patch(stage, idle_days, moves):
    now = T0 + timedelta(days=idle_days)
    patch = stale_patch(IdleContact(1, stage, T0, WA), RULE, now)
    if not moves:
        assert patch is None
        return
    assert (patch.source, patch.stage, patch.source_time, patch.identities) == (
        "lifesync-automation", "Cold Lead", T0 + timedelta(days=7), WA)
    assert "went-cold" in patch.record_id and "7 days" in patch.record_id


def test_no_identity_no_patch():
    assert stale_patch(IdleContact(1, "New Lead", T0, ()), RULE, T0 + timedelta(days=9)) is None


def act(direction, minutes, conv="c1", channel="whatsapp", contact=1, brand="default"):
    return ActivityRow(contact, channel, conv, direction, T0 + timedelta(minutes=minutes), brand)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


CASES = {
    "reply in the same conversation": ([act("inbound", 0), act("inbound", 3), act("outbound", 10)],
                                       {(1, "whatsapp", "c1", "default"): (at(0), at(10))}),
    "outbound before the first inbound is no reply": (
        [act("outbound", -5), act("inbound", 0), act("outbound", 7)],
        {(1, "whatsapp", "c1", "default"): (at(0), at(7))}),
    "no reply yet": ([act("inbound", 0)], {(1, "whatsapp", "c1", "default"): (at(0), None)}),
    "other channel does not answer": ([act("inbound", 0), act("outbound", 5, channel="sms")],
                                      {(1, "whatsapp", "c1", "default"): (at(0), None)}),
    "other contact does not answer": ([act("inbound", 0), act("outbound", 5, contact=2)],
                                      {(1, "whatsapp", "c1", "default"): (at(0), None)}),
    "named conversations answer only themselves": (
        [act("inbound", 0, "a"), act("inbound", 1, "b"), act("outbound", 4, "b"), act("outbound", 9, "a")],
        {(1, "whatsapp", "a", "default"): (at(0), at(9)), (1, "whatsapp", "b", "default"): (at(1), at(4))}),
    "an outbound naming no opened conversation answers every open one (WhatsApp statuses)": (
        [act("inbound", 0, "447911123456"), act("outbound", 12, "8b1a6bb1a4d0e5c2")],
        {(1, "whatsapp", "447911123456", "default"): (at(0), at(12))}),
    "no conversation id at all": ([act("inbound", 0, None), act("outbound", 2, None)],
                                  {(1, "whatsapp", "", "default"): (at(0), at(2))}),
    "outbound only: no conversation": ([act("outbound", 0)], {}),
    "another brand's reply does not answer": (
        [act("inbound", 0, None), act("outbound", 2, None, brand="lumen"), act("inbound", 5, None, brand="lumen")],
        {(1, "whatsapp", "", "default"): (at(0), None), (1, "whatsapp", "", "lumen"): (at(5), None)}),
    "each brand's reply answers its own conversation": (
        [act("inbound", 0, None), act("inbound", 1, None, brand="lumen"), act("outbound", 3, None, brand="lumen"),
         act("outbound", 8, None)],
        {(1, "whatsapp", "", "default"): (at(0), at(8)), (1, "whatsapp", "", "lumen"): (at(1), at(3))}),
}


@pytest.mark.parametrize(("rows", "expected"), CASES.values(), ids=CASES.keys())
def test_first_responses(rows, expected):
    assert first_responses(rows) == expected


rows_strategy = st.lists(st.builds(act, st.sampled_from(["inbound", "outbound"]), st.integers(-50, 50),
                                   st.sampled_from(["a", "b", None, "zz"]), st.sampled_from(["whatsapp", "sms"]),
                                   st.integers(1, 2)), max_size=12)


@given(rows_strategy, st.randoms())
def test_first_responses_do_not_depend_on_order(rows, rnd):
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    result = first_responses(rows)
    assert first_responses(shuffled) == result
    assert all(out is None or out >= first_in for first_in, out in result.values())
