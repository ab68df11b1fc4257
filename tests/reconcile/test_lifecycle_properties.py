"""Properties of replay: order and duplicates never change the result; history is consistent."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.config import BUNDLED_CONFIG_DIR, load_lifecycle
from sync.config.types import TransitionRule
from sync.reconcile.lifecycle import StageSignal, StageState, replay, step

SHIPPED = load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml")
# the shipped rules plus every other kind of rule, so that rules can fire in generated histories
CONFIG = replace(SHIPPED, transitions=(
    *SHIPPED.transitions,
    TransitionRule("salesforce-corrections", ("active", "Unqualified"), on="stage", sources=("salesforce",)),
    TransitionRule("competitor", ("lost",), on="stage", to="Lost to competitor"),
    TransitionRule("wake-any", ("lost",), on="inbound_message", to="Hot Lead", sources=("respondio",)),
))
STAGES = CONFIG.active_names + CONFIG.lost_names
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# few distinct times, sources and reasons, so ties and exact duplicates are common
stage_signals = st.builds(
    StageSignal,
    at=st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)),
    source=st.sampled_from(["hubspot", "salesforce", "respondio", "lifesync"]),
    kind=st.just("stage"),
    stage=st.sampled_from(STAGES),
    reason=st.sampled_from(["", "record 1", "record 2"]),
)
inbound_signals = st.builds(
    StageSignal,
    at=st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)),
    source=st.sampled_from(["whatsapp", "respondio"]),
    kind=st.just("inbound_message"),
    stage=st.none(),
)
signal_lists = st.lists(st.one_of(stage_signals, stage_signals, inbound_signals), max_size=14)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), signals=signal_lists)
def test_replay_ignores_arrival_order_and_duplicates(data, signals):
    expected = replay(signals, CONFIG)
    shuffled = data.draw(st.permutations(signals), label="arrival order")
    assert replay(shuffled, CONFIG) == expected
    duplicates = data.draw(st.lists(st.sampled_from(signals), max_size=6), label="redeliveries") if signals else []
    redelivered = data.draw(st.permutations(signals + duplicates), label="with redeliveries")
    assert replay(redelivered, CONFIG) == expected


@settings(max_examples=300, deadline=None)
@given(signals=signal_lists)
def test_history_is_a_consistent_chain(signals):
    state = replay(signals, CONFIG)
    previous = None
    for t in state.transitions:
        assert t.from_stage == previous
        assert t.to_stage != t.from_stage
        previous = t.to_stage
    assert state.current == previous
    assert [t.at for t in state.transitions] == sorted(t.at for t in state.transitions)
    assert state.lost_stage is None or state.lost_stage in CONFIG.lost_names
    assert state.stage is None or state.stage in CONFIG.active_names


def test_order_sensitive_example_is_stable_under_replay():
    # folding these in arrival order gives different results; replay must not
    a = StageSignal(T0 + timedelta(minutes=1), "hubspot", "stage", "Hot Lead")
    b = StageSignal(T0 + timedelta(minutes=2), "lifesync", "stage", "Cold Lead")
    c = StageSignal(T0 + timedelta(minutes=3), "whatsapp", "inbound_message", None)

    def fold(signals):
        state = StageState()
        for s in signals:
            state = step(state, s, CONFIG)
        return state

    assert fold([a, b, c]) != fold([c, b, a])
    assert replay([a, b, c], CONFIG) == replay([c, b, a], CONFIG) == replay([b, c, a, c], CONFIG)
    assert replay([c, b, a], CONFIG).stage == "New Lead"
