"""Typed, immutable configuration objects that the validated YAML files load into.

Code deeper in the library only ever sees these objects, never raw dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

PHASES = ("reach", "acquisition", "conversion", "retention", "loyalty")
DEFAULT_BRAND = "default"  # the brand of an installation without brands.yaml (sync.config.brands)
SURVIVORSHIP_RULES = ("newest", "priority", "prefer", "first", "max", "min")


@dataclass(frozen=True)
class StageDef:
    """An active lifecycle stage and the phase of the customer journey it belongs to."""

    name: str
    phase: str
    description: str = ""


@dataclass(frozen=True)
class LostStageDef:
    """A stage a contact drops into when it leaves the funnel (e.g. Cold Lead)."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class TransitionRule:
    """Allows a move the default rules forbid (backward, or out of a lost stage), or one an event makes.

    ``from_stages`` lists stage names; the words ``active`` and ``lost`` stand for every
    active / every lost stage. ``on`` is ``stage`` (a source reported a stage),
    ``inbound_message`` (the contact wrote again) or ``conversion`` (the contact's
    ``count``-th distinct record carrying a conversion of ``kind`` that moves a stage — e.g.
    a second purchase makes a Repeat Customer). ``to`` is the target stage; for
    ``on: stage`` it may be None, meaning "the stage the source reported".
    ``sources`` restricts which sources the rule applies to (empty = any).
    """

    name: str
    from_stages: tuple[str, ...]
    on: str = "stage"
    to: str | None = None
    sources: tuple[str, ...] = ()
    kind: str | None = None  # on: conversion — the conversion kind counted
    count: int = 1  # on: conversion — how many distinct records of that kind


@dataclass(frozen=True)
class FieldRule:
    """How the winning value of one canonical field is chosen among sources."""

    rule: str = "newest"
    sources: tuple[str, ...] = ()  # for priority: ordered list; for prefer: one source


@dataclass(frozen=True)
class IdentityKind:
    """Rules for one identity kind.

    ``exclusive``: a contact holds at most one value of this kind (ids of one external
    system); two contacts holding different values are never merged automatically.
    ``scoped``: values are ``<scope>:<id>`` (an id that only means something within one
    business number or page); exclusivity then holds per scope — one id per scope — so a
    person writing to two of the business's numbers holds one id of each.
    ``per_connection``: the ids of one system's account (a CRM portal, org or workspace): a
    record that came through a connection a brand other than the default owns holds them as
    ``<connection>:<id>`` (``sync.reconcile.identity.namespaced``), another namespace than the
    default connection's bare ids; exclusivity then holds per namespace, so a person in two
    brands' portals holds one id of each.
    ``no_merge_if_different``: kinds that, when both contacts hold different values,
    block a merge found through this kind (e.g. a phone match with conflicting emails).
    """

    name: str
    exclusive: bool = False
    priority: int = 100
    no_merge_if_different: tuple[str, ...] = ()
    scoped: bool = False
    per_connection: bool = False


@dataclass(frozen=True)
class StaleLeadRule:
    """Automation: a contact in one of ``from_stages`` with no activity for ``after_days`` moves to ``to``.

    ``activity`` says what counts as activity: ``inbound`` / ``outbound`` messages and
    conversion kinds (``purchase``, ``booking``, ...); by default inbound messages only.
    """

    name: str
    from_stages: tuple[str, ...]
    after_days: int
    to: str
    activity: tuple[str, ...] = ("inbound",)


DEFAULT_JUNK_VALUES = (
    "null", "none", "nil", "undefined", "-1", "0", "n/a", "na", "unknown", "anonymous", "test",
)


@dataclass(frozen=True)
class LifecycleConfig:
    """Stages, lost stages, transition rules, survivorship and identity rules."""

    stages: tuple[StageDef, ...]
    lost_stages: tuple[LostStageDef, ...]
    transitions: tuple[TransitionRule, ...] = ()
    field_rules: tuple[tuple[str, FieldRule], ...] = ()
    default_rule: FieldRule = field(default_factory=FieldRule)
    identity_kinds: tuple[IdentityKind, ...] = ()
    junk_values: tuple[str, ...] = DEFAULT_JUNK_VALUES
    default_region: str = "US"
    default_stage: str | None = None  # stage given to a new contact with no reported stage
    stale_rules: tuple[StaleLeadRule, ...] = ()  # automation.stale_leads

    @cached_property
    def _rules(self) -> dict[str, FieldRule]:
        return dict(self.field_rules)

    @cached_property
    def _kinds(self) -> dict[str, IdentityKind]:
        return {k.name: k for k in self.identity_kinds}

    @cached_property
    def _ranks(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.active_names)}

    def rule_for(self, field_name: str) -> FieldRule:
        """The survivorship rule for a field (the default rule when none is configured)."""
        return self._rules.get(field_name, self.default_rule)

    def identity_kind(self, kind: str) -> IdentityKind:
        """Rules for an identity kind; unknown kinds are non-exclusive, lowest priority."""
        found = self._kinds.get(kind)
        return found if found is not None else IdentityKind(name=kind)

    @cached_property
    def active_names(self) -> tuple[str, ...]:
        """Active stage names in funnel order."""
        return tuple(s.name for s in self.stages)

    @cached_property
    def lost_names(self) -> tuple[str, ...]:
        """Lost stage names."""
        return tuple(s.name for s in self.lost_stages)

    def rank(self, stage: str) -> int:
        """Position of an active stage in the funnel (0 = first); -1 for lost or unknown."""
        return self._ranks.get(stage, -1)

    def is_lost(self, stage: str) -> bool:
        """True for a lost stage."""
        return stage in self.lost_names
