"""What ``config/conversions.yaml`` loads into: the typed, frozen conversion rules.

``sync.config.conversions_schema`` validates the file into ``ConversionRules``;
``sync.attribution.rules`` is the pure engine that applies them (stage → conversion,
conversion → stage, event ids). A destination's ``network`` names an entry of the ad-network
registry (``sync.attribution.networks.NETWORKS``), checked when the file is loaded.

Imports nothing of lifesync's: plain data only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

CANONICAL_KINDS = ("lead", "qualified_lead", "booking", "add_to_cart", "initiate_checkout", "purchase")


@dataclass(frozen=True)
class StageRule:
    """``on_stage``: entering ``stage`` is a conversion of ``kind``.

    Value, currency and order id are read from the contact's current fields named here
    (``value_field`` must hold a number; ``currency_field`` a 3-letter code, else
    ``default_currency``). ``sources``, when not empty, limits the rule to stage changes
    reported by these tools.
    """

    stage: str
    kind: str
    value_field: str | None = None
    currency_field: str | None = None
    default_currency: str | None = None
    order_id_field: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """Where conversions of ``kinds`` are sent: a named account on ``network`` (a registered ad network)."""

    name: str
    network: str
    kinds: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class ConversionRules:
    """Everything conversions.yaml configures; the default (no file) makes no stage conversions."""

    custom_kinds: tuple[str, ...] = ()
    on_stage: tuple[StageRule, ...] = ()
    sets_stage: tuple[tuple[str, str], ...] = ()  # (conversion kind, stage)
    destinations: tuple[Destination, ...] = ()

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Every known conversion kind: the canonical ones, then the custom ones."""
        return CANONICAL_KINDS + self.custom_kinds

    @cached_property
    def _by_stage(self) -> dict[str, StageRule]:
        return {r.stage: r for r in self.on_stage}

    @cached_property
    def _stage_of(self) -> dict[str, str]:
        return dict(self.sets_stage)

    def rule_for_stage(self, stage: str) -> StageRule | None:
        """The on_stage rule of ``stage``, if any."""
        return self._by_stage.get(stage)

    def stage_for_kind(self, kind: str) -> str | None:
        """The stage a conversion of ``kind`` moves its contact to, if any."""
        return self._stage_of.get(kind)

    def destinations_for(self, kind: str, enabled: Iterable[str]) -> tuple[str, ...]:
        """Names of the enabled destinations (``enabled`` by config and in ``enabled``) taking ``kind``."""
        allowed = frozenset(enabled)
        return tuple(d.name for d in self.destinations
                     if d.enabled and d.name in allowed and kind in d.kinds)


NO_RULES = ConversionRules()
