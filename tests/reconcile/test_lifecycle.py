"""Stage engine rules, table-driven: each case replays signals and checks state and history."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync.config.types import LifecycleConfig, LostStageDef, StageDef, TransitionRule
from sync.errors import ReconcileError
from sync.reconcile.lifecycle import StageSignal, StageState, Transition, check_stage, replay, signal_order, step

T0 = datetime(2026, 1, 1, tzinfo=UTC)

CONFIG = LifecycleConfig(
    stages=(
        StageDef("New Lead", "acquisition"),
        StageDef("Hot Lead", "acquisition"),
        StageDef("Payment", "conversion"),
        StageDef("Customer", "retention"),
    ),
    lost_stages=(LostStageDef("Cold Lead"), LostStageDef("Unqualified"), LostStageDef("Lost to competitor")),
    transitions=(
        TransitionRule("reactivate-on-inbound", ("Cold Lead",), on="inbound_message", to="New Lead"),
        TransitionRule("salesforce-corrections", ("active",), on="stage", sources=("salesforce",)),
        TransitionRule("requalify", ("Unqualified",), on="stage", to="Hot Lead"),
        TransitionRule("to-competitor", ("lost",), on="stage", to="Lost to competitor"),
    ),
)


def sig(minute: int, source: str, stage: str | None = None, reason: str = "") -> StageSignal:
    """A stage report (or, with stage None, an inbound message) ``minute`` minutes after T0."""
    kind = "stage" if stage is not None else "inbound_message"
    return StageSignal(at=T0 + timedelta(minutes=minute), source=source, kind=kind, stage=stage, reason=reason)


# name: (signals, expected stage, expected lost_stage, expected transitions as (from, to, reason))
CASES = {
    "enter the funnel": (
        [sig(1, "hubspot", "New Lead")],
        "New Lead", None, [(None, "New Lead", "forward")],
    ),
    "inbound message before any stage does nothing": (
        [sig(1, "whatsapp")],
        None, None, [],
    ),
    "forward move": (
        [sig(1, "hubspot", "New Lead"), sig(2, "hubspot", "Hot Lead")],
        "Hot Lead", None, [(None, "New Lead", "forward"), ("New Lead", "Hot Lead", "forward")],
    ),
    "skip forward": (
        [sig(1, "hubspot", "New Lead"), sig(2, "respondio", "Customer")],
        "Customer", None, [(None, "New Lead", "forward"), ("New Lead", "Customer", "forward")],
    ),
    "same stage from another source is no change": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "respondio", "Hot Lead")],
        "Hot Lead", None, [(None, "Hot Lead", "forward")],
    ),
    "backward rejected": (
        [sig(1, "hubspot", "Customer"), sig(2, "hubspot", "Hot Lead")],
        "Customer", None, [(None, "Customer", "forward")],
    ),
    "backward allowed by a rule for salesforce": (
        [sig(1, "hubspot", "Customer"), sig(2, "salesforce", "Hot Lead")],
        "Hot Lead", None, [(None, "Customer", "forward"), ("Customer", "Hot Lead", "rule salesforce-corrections")],
    ),
    "the same backward move from another source is rejected": (
        [sig(1, "hubspot", "Customer"), sig(2, "respondio", "Hot Lead")],
        "Customer", None, [(None, "Customer", "forward")],
    ),
    "active to lost keeps the stage it was lost from": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead")],
        "Hot Lead", "Cold Lead", [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost")],
    ),
    "enter directly in a lost stage": (
        [sig(1, "hubspot", "Unqualified")],
        None, "Unqualified", [(None, "Unqualified", "lost")],
    ),
    "lost to active rejected without a rule": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead"), sig(3, "salesforce", "Customer")],
        "Hot Lead", "Cold Lead", [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost")],
    ),
    "lost back to the stage it was lost from needs a rule too": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead"), sig(3, "respondio", "Hot Lead")],
        "Hot Lead", "Cold Lead", [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost")],
    ),
    "lost to active allowed by a rule": (
        [sig(1, "hubspot", "New Lead"), sig(2, "hubspot", "Unqualified"), sig(3, "respondio", "Hot Lead")],
        "Hot Lead", None,
        [(None, "New Lead", "forward"), ("New Lead", "Unqualified", "lost"),
         ("Unqualified", "Hot Lead", "rule requalify")],
    ),
    "a rule with 'to' only allows that target": (
        [sig(1, "hubspot", "New Lead"), sig(2, "hubspot", "Unqualified"), sig(3, "respondio", "Customer")],
        "New Lead", "Unqualified", [(None, "New Lead", "forward"), ("New Lead", "Unqualified", "lost")],
    ),
    "Cold Lead reactivated by an inbound message": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead"), sig(3, "whatsapp")],
        "New Lead", None,
        [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost"),
         ("Cold Lead", "New Lead", "rule reactivate-on-inbound")],
    ),
    "inbound message on an active contact does nothing": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "whatsapp")],
        "Hot Lead", None, [(None, "Hot Lead", "forward")],
    ),
    "inbound message does not reactivate other lost stages": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "hubspot", "Unqualified"), sig(3, "whatsapp")],
        "Hot Lead", "Unqualified", [(None, "Hot Lead", "forward"), ("Hot Lead", "Unqualified", "lost")],
    ),
    "lost to lost allowed by a rule": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead"), sig(3, "hubspot", "Lost to competitor")],
        "Hot Lead", "Lost to competitor",
        [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost"),
         ("Cold Lead", "Lost to competitor", "rule to-competitor")],
    ),
    "lost to another lost stage rejected without a rule": (
        [sig(1, "hubspot", "Hot Lead"), sig(2, "lifesync", "Cold Lead"), sig(3, "hubspot", "Unqualified")],
        "Hot Lead", "Cold Lead", [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost")],
    ),
    "a source repeating its previous stage is ignored": (
        # salesforce re-sends its unchanged record; as a new report it would move back (rule)
        [sig(1, "salesforce", "Hot Lead"), sig(2, "hubspot", "Customer"), sig(3, "salesforce", "Hot Lead")],
        "Customer", None, [(None, "Hot Lead", "forward"), ("Hot Lead", "Customer", "forward")],
    ),
    "a source reporting a new stage is not a repeat": (
        [sig(1, "salesforce", "Hot Lead"), sig(2, "hubspot", "Customer"), sig(3, "salesforce", "Payment")],
        "Payment", None,
        [(None, "Hot Lead", "forward"), ("Hot Lead", "Customer", "forward"),
         ("Customer", "Payment", "rule salesforce-corrections")],
    ),
    "lifesync's own automation repeating a stage is a new decision": (
        [sig(1, "respondio", "Hot Lead"), sig(2, "lifesync-automation", "Cold Lead"), sig(3, "whatsapp"),
         sig(4, "lifesync-automation", "Cold Lead")],
        "New Lead", "Cold Lead",
        [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost"),
         ("Cold Lead", "New Lead", "rule reactivate-on-inbound"), ("New Lead", "Cold Lead", "lost")],
    ),
    "an unchanged record re-sent after reactivation does not make the contact lost again": (
        [sig(1, "respondio", "Hot Lead"), sig(2, "respondio", "Cold Lead"), sig(3, "whatsapp"),
         sig(4, "respondio", "Cold Lead")],
        "New Lead", None,
        [(None, "Hot Lead", "forward"), ("Hot Lead", "Cold Lead", "lost"),
         ("Cold Lead", "New Lead", "rule reactivate-on-inbound")],
    ),
}


@pytest.mark.parametrize(("signals", "stage", "lost_stage", "transitions"), CASES.values(), ids=CASES.keys())
def test_stage_rules(signals, stage, lost_stage, transitions):
    state = replay(signals, CONFIG)
    assert (state.stage, state.lost_stage) == (stage, lost_stage)
    assert [(t.from_stage, t.to_stage, t.reason) for t in state.transitions] == transitions


def test_transition_records_time_source_and_signal_reason():
    state = replay([sig(1, "hubspot", "New Lead"),
                    sig(5, "hubspot", "Customer", "hubspot contacts 123: lifecyclestage=customer")], CONFIG)
    assert state.transitions[-1] == Transition(
        from_stage="New Lead", to_stage="Customer", at=T0 + timedelta(minutes=5), source="hubspot",
        reason="forward: hubspot contacts 123: lifecyclestage=customer",
    )


def test_step_folds_one_signal_at_a_time():
    state = step(StageState(), sig(1, "hubspot", "Hot Lead"), CONFIG)
    assert state.stage == "Hot Lead"
    assert state.last_reported("hubspot") == "Hot Lead"
    assert step(state, sig(2, "hubspot", "New Lead"), CONFIG).stage == "Hot Lead"


@pytest.mark.parametrize("signals", [
    [sig(1, "hubspot", "Prospect")],
    [sig(1, "hubspot", "New Lead"), sig(2, "hubspot", "Prospect")],
])
def test_unknown_stage_is_an_error(signals):
    with pytest.raises(ReconcileError) as exc:
        replay(signals, CONFIG)
    assert str(exc.value) == (
        "unknown stage 'Prospect'; configured stages: New Lead, Hot Lead, Payment, Customer, "
        "Cold Lead, Unqualified, Lost to competitor"
    )


def test_check_stage_accepts_active_and_lost_stages():
    check_stage("Payment", CONFIG)
    check_stage("Cold Lead", CONFIG)
    with pytest.raises(ReconcileError):
        check_stage("payment", CONFIG)


def test_replay_sorts_by_the_sources_time_not_arrival():
    arrived = [sig(2, "hubspot", "Customer"), sig(1, "hubspot", "Hot Lead")]
    naive = StageState()
    for s in arrived:  # folding in arrival order would reject the late "Hot Lead" as backward
        naive = step(naive, s, CONFIG)
    assert [t.to_stage for t in naive.transitions] == ["Customer"]
    assert [t.to_stage for t in replay(arrived, CONFIG).transitions] == ["Hot Lead", "Customer"]


def test_simultaneous_reports_are_ordered_by_funnel_position():
    signals = [sig(1, "salesforce", "Customer"), sig(1, "hubspot", "Hot Lead")]
    assert sorted(signals, key=lambda s: signal_order(s, CONFIG))[0].stage == "Hot Lead"
    assert replay(signals, CONFIG).stage == "Customer"


def test_signal_times_must_be_aware_and_are_normalised_to_utc():
    with pytest.raises(ValueError, match="timezone-aware"):
        StageSignal(at=datetime(2026, 1, 1), source="hubspot", kind="stage", stage="New Lead")
    local = StageSignal(at=datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), source="hubspot",
                        kind="stage", stage="New Lead")
    assert local.at == T0 and local.at.tzinfo is UTC
    assert local == StageSignal(at=T0, source="hubspot", kind="stage", stage="New Lead")


@pytest.mark.parametrize(("kind", "stage"), [("stage", None), ("inbound_message", "New Lead"), ("call", None)])
def test_malformed_signals_are_rejected(kind, stage):
    with pytest.raises(ValueError):
        StageSignal(at=T0, source="hubspot", kind=kind, stage=stage)
