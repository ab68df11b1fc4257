"""The pure adjustment rules: identity of an adjustment, and the state a set of them gives a conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.attribution.adjustments import AdjustedState, Adjustment, adjusted_state, adjustment_key

SOLD = datetime(2026, 12, 1, tzinfo=UTC)


def adj(action: str, days: float, value: float | None = None, key: str | None = None) -> Adjustment:
    return Adjustment(key or f"{action}-{days}-{value}", "purchase", "A-1", action, SOLD + timedelta(days=days),
                      value, None)


def test_the_key_names_the_record_and_what_it_says_not_when_it_was_told():
    key = adjustment_key("shop", "order", "7", "purchase", "7", "restate", 60.0, "eur")
    assert key == adjustment_key("shop", "order", "7", "purchase", "7", "restate", 60, "EUR")
    assert key != adjustment_key("shop", "order", "7", "purchase", "7", "restate", 50.0, "EUR")  # a second refund
    assert key != adjustment_key("shop", "order", "7", "purchase", "7", "retract", None, None)


def test_state_rules():
    assert adjusted_state("purchase", "A-1", SOLD, "EUR", []) == AdjustedState()
    assert adjusted_state("purchase", "A-1", SOLD, "EUR", [adj("restate", 1, 60.0)]) == AdjustedState(
        adjusted_value=60.0, adjusted_currency="EUR", adjusted_at=SOLD + timedelta(days=1))
    retracted = adjusted_state("purchase", "A-1", SOLD, "EUR", [adj("restate", 3, 10.0), adj("retract", 2)])
    assert retracted.retracted_at == SOLD + timedelta(days=2) and retracted.adjusted_value is None
    assert adjusted_state("purchase", "A-1", SOLD, "EUR", [adj("retract", -1)]) == AdjustedState()  # precedes
    assert adjusted_state("lead", "A-1", SOLD, "EUR", [adj("retract", 1)]) == AdjustedState()  # another kind
    assert adjusted_state("purchase", None, SOLD, "EUR", [adj("retract", 1)]) == AdjustedState()  # no order id


ADJUSTMENTS = st.lists(st.builds(adj, st.sampled_from(["retract", "restate"]), st.integers(-2, 5),
                                 st.sampled_from([10.0, 20.0, 30.0])), max_size=6, unique_by=lambda a: a.key)


@given(ADJUSTMENTS, st.randoms())
def test_the_state_does_not_depend_on_the_order_adjustments_arrive_in(adjustments, rng):
    shuffled = list(adjustments)
    rng.shuffle(shuffled)
    assert adjusted_state("purchase", "A-1", SOLD, "EUR", adjustments) == \
        adjusted_state("purchase", "A-1", SOLD, "EUR", shuffled)
