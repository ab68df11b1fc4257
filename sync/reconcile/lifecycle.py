"""Lifecycle stage engine: a contact's stage, derived by replaying stage signals.

Sources report stages ("hubspot says Customer") and contacts write in ("inbound
message"). Each report is a ``StageSignal``; the contact's ``StageState`` is the fold of
``step`` over all its signals sorted by ``signal_order``. Sorting (and dropping identical
signals) first means the result never depends on the order records arrived in, nor on
duplicate deliveries.

Rules (``step``), with stages from ``LifecycleConfig``:

- no stage yet: enter the reported stage (active or lost); an inbound message does nothing;
- the current stage reported again: nothing;
- active → a later active stage: forward (skipping stages is fine);
- active → lost stage: lost; ``stage`` keeps the stage the contact was lost from;
- active → earlier active stage, or lost → any other stage: only when a transition rule
  with ``on: stage`` matches; otherwise the report is ignored;
- inbound message: when a rule with ``on: inbound_message`` matches, move to its ``to``;
- a stage signal made by a record's conversion (``conversion_reason``: conversions.yaml
  ``sets_stage``) counts that record once per kind, whatever its time or repeats; after the
  stage move, a rule with ``on: conversion`` for that kind whose ``count`` the contact has
  reached moves it to the rule's ``to`` (a second purchase makes a Repeat Customer). The
  count follows the sorted replay, so it is order-independent too;
- a source reporting the same stage as in its previous report is not a new event
  (re-sent unchanged records must not re-trigger rules) — except lifesync's own automation
  (``DECISION_SOURCES``), whose every signal is a new decision.

Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

from sync.config.types import DEFAULT_BRAND, LifecycleConfig, TransitionRule
from sync.errors import ReconcileError
from sync.reconcile.patch import Patch, Refusal

SIGNAL_KINDS = ("stage", "inbound_message")  # order = rank at equal times

# Sources whose every signal is a fresh decision, never a re-sent record: lifesync's own
# automation (a reactivated lead that goes quiet again goes cold a second time).
DECISION_SOURCES = frozenset({"lifesync-automation"})


@dataclass(frozen=True)
class StageSignal:
    """One observation about a contact's stage, as of the source's own time ``at``.

    ``kind`` is ``stage`` (a source reported ``stage``) or ``inbound_message`` (the contact
    wrote; ``stage`` is None). ``at`` must be timezone-aware; it is normalised to UTC.
    ``brand`` is the brand whose funnel it moves (``sync.config.brands``): a contact's stage
    in each brand is the replay of that brand's signals alone.
    """

    at: datetime
    source: str
    kind: str
    stage: str | None
    reason: str = ""
    brand: str = DEFAULT_BRAND

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("StageSignal.at must be timezone-aware")
        if self.kind not in SIGNAL_KINDS:
            raise ValueError(f"StageSignal.kind must be one of {SIGNAL_KINDS}, not {self.kind!r}")
        if (self.kind == "stage") != bool(self.stage):
            raise ValueError("StageSignal.stage is required for kind 'stage' and must be None otherwise")
        object.__setattr__(self, "at", self.at.astimezone(UTC))


@dataclass(frozen=True)
class Transition:
    """One recorded stage change: from (None on entering the funnel), to, when, who, why."""

    from_stage: str | None
    to_stage: str
    at: datetime
    source: str
    reason: str  # "forward", "lost" or "rule <name>", then ": <signal reason>" when given


@dataclass(frozen=True)
class StageState:
    """A contact's stage after some signals.

    ``stage`` is the current active stage, or while lost the stage it was lost from (None
    when the contact entered the funnel directly in a lost stage). ``lost_stage`` is the
    current lost stage, None while active. ``reported`` holds the last stage each source
    reported, as sorted (source, stage) pairs, to recognise repeated reports.
    """

    stage: str | None = None
    lost_stage: str | None = None
    transitions: tuple[Transition, ...] = ()
    reported: tuple[tuple[str, str], ...] = ()
    counted: frozenset[tuple[str, str]] = frozenset()  # (conversion kind, record) seen so far

    def conversions(self, kind: str) -> int:
        """How many distinct records carrying a stage-moving conversion of ``kind`` the contact has."""
        return sum(1 for k, _ in self.counted if k == kind)

    @property
    def current(self) -> str | None:
        """The stage the contact is in now: the lost stage when lost, else the active stage."""
        return self.lost_stage or self.stage

    def last_reported(self, source: str) -> str | None:
        """The stage ``source`` reported most recently, None if it never reported one."""
        return dict(self.reported).get(source)


def conversion_reason(kind: str, record: str) -> str:
    """The reason of a stage signal a record's conversion of ``kind`` makes: ``<kind>: <record>``."""
    return f"{kind}: {record}"


def conversion_of(signal: StageSignal, kind: str) -> str | None:
    """The record behind ``signal`` when a conversion of ``kind`` made it (``conversion_reason``), else None.

    A record's own reason starts with its source name and a space, never ``<kind>:``.
    """
    prefix = conversion_reason(kind, "")
    return signal.reason[len(prefix):] if signal.kind == "stage" and signal.reason.startswith(prefix) else None


def check_stage(name: str, config: LifecycleConfig) -> None:
    """Raise ReconcileError unless ``name`` is a configured active or lost stage."""
    if name not in config.active_names and not config.is_lost(name):
        configured = ", ".join(config.active_names + config.lost_names)
        raise ReconcileError(f"unknown stage '{name}'; configured stages: {configured}")


def screened(patch: Patch, config: LifecycleConfig) -> Patch:
    """``patch`` without a stage ``config`` does not have: that one refused (a data-quality issue), the rest kept."""
    if patch.stage is None or patch.stage in config.active_names or config.is_lost(patch.stage):
        return patch
    configured = ", ".join(config.active_names + config.lost_names)
    refusal = Refusal("stage", "unknown_stage", f"not a stage of the lifecycle (configured: {configured})",
                      patch.stage[:60])
    return replace(patch, stage=None, refusals=(*patch.refusals, refusal))


def signal_order(signal: StageSignal, config: LifecycleConfig | None = None) -> tuple:
    """Sort key for replay: (at, kind rank, stage rank, source, stage or "", reason).

    At equal times stage reports come before inbound messages and, with a config, stages
    in funnel order (active ones first, then lost ones), so simultaneous reports move a
    contact forward. The trailing fields make the order total.
    """
    stage_rank = 0
    if config is not None and signal.stage is not None:
        if signal.stage in config.active_names:
            stage_rank = config.rank(signal.stage)
        elif config.is_lost(signal.stage):
            stage_rank = len(config.stages) + config.lost_names.index(signal.stage)
        else:
            stage_rank = len(config.stages) + len(config.lost_stages)
    return (
        signal.at, SIGNAL_KINDS.index(signal.kind), stage_rank, signal.source,
        signal.stage or "", signal.reason, signal.brand,
    )


def replay(signals: Iterable[StageSignal], config: LifecycleConfig) -> StageState:
    """The stage state from all of a contact's signals, independent of their order."""
    state = StageState()
    previous: StageSignal | None = None
    for signal in sorted(signals, key=partial(signal_order, config=config)):
        if signal != previous:  # identical signals are duplicate deliveries
            state = step(state, signal, config)
        previous = signal
    return state


def step(state: StageState, signal: StageSignal, config: LifecycleConfig) -> StageState:
    """Apply one signal to a state (see the module docstring for the rules)."""
    if signal.kind == "inbound_message":
        return _on_inbound(state, signal, config)
    counted = _count_conversions(state, signal, config)
    moved = _on_stage(counted, signal, config)
    return _on_conversion(moved, signal, config) if counted is not state else moved


def _on_stage(state: StageState, signal: StageSignal, config: LifecycleConfig) -> StageState:
    """A reported stage: forward, lost, or a rule with ``on: stage``."""
    stage = signal.stage
    assert stage is not None  # guaranteed by StageSignal
    check_stage(stage, config)
    if state.last_reported(signal.source) == stage and signal.source not in DECISION_SOURCES:
        return state
    state = replace(state, reported=_remember(state.reported, signal.source, stage))
    current = state.current
    if current is None:
        return _move(state, stage, signal, "lost" if config.is_lost(stage) else "forward", config)
    if stage == current:
        return state
    if state.lost_stage is None and config.is_lost(stage):
        return _move(state, stage, signal, "lost", config)
    if state.lost_stage is None and config.rank(stage) > config.rank(current):
        return _move(state, stage, signal, "forward", config)
    rule = _matching_rule(config, state, signal, on="stage")
    if rule is None:
        return state
    return _move(state, stage, signal, f"rule {rule.name}", config)


def _on_inbound(state: StageState, signal: StageSignal, config: LifecycleConfig) -> StageState:
    """An inbound message moves the contact only when a rule says where to."""
    if state.current is None:
        return state
    rule = _matching_rule(config, state, signal, on="inbound_message")
    if rule is None or rule.to is None or rule.to == state.current:
        return state
    check_stage(rule.to, config)
    return _move(state, rule.to, signal, f"rule {rule.name}", config)


def _count_conversions(state: StageState, signal: StageSignal, config: LifecycleConfig) -> StageState:
    """``state`` counting the record behind ``signal`` for each kind an ``on: conversion`` rule counts."""
    seen = {(rule.kind, record) for rule in config.transitions if rule.on == "conversion" and rule.kind
            and (record := conversion_of(signal, rule.kind)) is not None}
    return replace(state, counted=state.counted | seen) if seen - state.counted else state


def _on_conversion(state: StageState, signal: StageSignal, config: LifecycleConfig) -> StageState:
    """The first ``on: conversion`` rule whose count the contact reached moves it (see the module doc)."""
    current = state.current
    group = "lost" if state.lost_stage is not None else "active"
    for rule in config.transitions:
        if rule.on != "conversion" or rule.kind is None or conversion_of(signal, rule.kind) is None:
            continue
        if (current not in rule.from_stages and group not in rule.from_stages) or rule.to in (None, current):
            continue
        if (rule.sources and signal.source not in rule.sources) or state.conversions(rule.kind) < rule.count:
            continue
        assert rule.to is not None
        check_stage(rule.to, config)
        return _move(state, rule.to, signal, f"rule {rule.name}", config)
    return state


def _matching_rule(
    config: LifecycleConfig, state: StageState, signal: StageSignal, *, on: str
) -> TransitionRule | None:
    """The first transition rule that allows this signal to move the contact, if any."""
    current = state.current
    group = "lost" if state.lost_stage is not None else "active"
    for rule in config.transitions:
        if rule.on != on:
            continue
        if current not in rule.from_stages and group not in rule.from_stages:
            continue
        if rule.sources and signal.source not in rule.sources:
            continue
        if on == "stage" and rule.to is not None and rule.to != signal.stage:
            continue
        return rule
    return None


def _move(
    state: StageState, to: str, signal: StageSignal, why: str, config: LifecycleConfig
) -> StageState:
    """Move to ``to``, recording a Transition."""
    transition = Transition(
        from_stage=state.current, to_stage=to, at=signal.at, source=signal.source,
        reason=f"{why}: {signal.reason}" if signal.reason else why,
    )
    transitions = (*state.transitions, transition)
    if config.is_lost(to):
        return replace(state, lost_stage=to, transitions=transitions)
    return replace(state, stage=to, lost_stage=None, transitions=transitions)


def _remember(reported: tuple[tuple[str, str], ...], source: str, stage: str) -> tuple[tuple[str, str], ...]:
    """``reported`` with ``source``'s last stage set to ``stage``."""
    return tuple(sorted({**dict(reported), source: stage}.items()))
