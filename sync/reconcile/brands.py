"""What reconciliation needs to know of brands: whose funnel a signal moves, and brand-distinct event ids.

A contact is one person whatever brands they deal with: identities and field values are
shared. Its stage is per brand: the signals a record brings carry the record's brand (the
brand owning its connection, ``sync.config.brands``), and the stage in a brand is the replay
of that brand's signals alone, through that brand's lifecycle; the conversions its stage entries
make follow that brand's rules. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sync.attribution.rules import entry_ids
from sync.config.brands import DEFAULT_BRAND, Brands
from sync.config.conversions import ConversionRules
from sync.config.types import LifecycleConfig
from sync.reconcile import lifecycle
from sync.reconcile.lifecycle import StageSignal, StageState
from sync.reconcile.patch import Patch
from sync.reconcile.state import digest


def brand_signals(signals: Iterable[StageSignal], brands: Brands) -> dict[str, set[StageSignal]]:
    """``signals`` grouped by brand (with one brand configured: all of them, the default brand's)."""
    if not brands.several:
        return {DEFAULT_BRAND: signals if isinstance(signals, set) else set(signals)}
    found: dict[str, set[StageSignal]] = {}
    for signal in signals:
        found.setdefault(signal.brand, set()).add(signal)
    return found


def brand_part(brand: str) -> tuple[str, ...]:
    """What a row's digest key adds for ``brand``: nothing for the default brand (keys stay as before brands)."""
    return () if brand == DEFAULT_BRAND else (brand,)


def conversion_event_id(patch: Patch, kind: str) -> str:
    """The event id of a conversion a record carries; another brand's record is another fact."""
    return digest("conversion", patch.source, patch.object, patch.record_id, kind, *brand_part(patch.brand))[:40]


def record_namespace(brands: Brands, config: LifecycleConfig, source: str, brand: str,
                     kinds: Iterable[str]) -> str | None:
    """The namespace of ``source`` records of ``brand`` whose connection is not known (a file, a dead letter).

    ``Brands.namespace`` without a connection; ``kinds``: the identity kinds the records may hold.
    A brand owning several connections of ``source`` leaves it unknown: a ValueError when ``kinds``
    hold ids of a connection (``per_connection``), else None (nothing is namespaced).
    """
    try:
        return brands.namespace(source, brand)
    except ValueError:
        if any(config.identity_kind(kind).per_connection for kind in kinds):
            raise
        return None


def stamped(items: list[tuple[Patch, Any]], brand: str, namespace: str | None = None) -> list[tuple[Patch, Any]]:
    """(patch, record) pairs with every patch of ``brand`` (the brand owning the connection they came through).

    ``namespace``: the connection its record ids belong to (``Brands.namespace``; None for the default
    brand's connections): the patches' ``per_connection`` ids are stored within it (``identity.patch_refs``).
    """
    if brand == DEFAULT_BRAND and not namespace:
        return items
    return [(replace(patch, brand=brand, connection=namespace), record) for patch, record in items]


def lifecycle_of(brands: Brands, brand: str, shared: LifecycleConfig) -> LifecycleConfig:
    """The lifecycle ``brand``'s funnel moves through: ``shared`` for the default brand, else its own or ``shared``."""
    return shared if brand == DEFAULT_BRAND else brands.lifecycle(brand, shared)


def rules_of(brands: Brands, brand: str, shared: ConversionRules) -> ConversionRules:
    """``brand``'s conversion rules: ``shared`` for the default brand, else its own (on_stage, sets_stage) or it."""
    return shared if brand == DEFAULT_BRAND else brands.rules(brand, shared)


def replay_brands(signals: Iterable[StageSignal], brands: Brands, shared: LifecycleConfig,
                  ) -> tuple[StageState, dict[str, StageState]]:
    """A contact's stage in the default brand and in each other brand it has signals of (by brand key)."""
    by_brand = brand_signals(signals, brands)
    default = lifecycle.replay(by_brand.pop(DEFAULT_BRAND, ()), shared)
    return default, {brand: lifecycle.replay(own, lifecycle_of(brands, brand, shared))
                     for brand, own in sorted(by_brand.items())}


def converts_on_stage(brands: Brands, shared: ConversionRules) -> bool:
    """Whether any brand's stage entries make conversions (an on_stage rule of the shared or a brand's own rules)."""
    return bool(shared.on_stage) or (brands.several and any(rules_of(brands, b, shared).on_stage for b in brands.keys))


def converting_brands(brands: Brands, signal_brands: Iterable[str], loaded: Iterable[StageSignal]) -> list[str]:
    """The brands whose stage entries a contact's conversions are recomputed for: the default one and every brand
    of its signals now (``signal_brands``) or when it and the contacts merged into it were loaded (``loaded``).
    """
    if not brands.several:
        return [DEFAULT_BRAND]
    return sorted({DEFAULT_BRAND, *signal_brands, *(s.brand for s in loaded)})


def entered_ids(signals: Iterable[StageSignal], brands: Brands, brand: str, shared: LifecycleConfig,
                rules: ConversionRules) -> dict[str, list[str]]:
    """Event ids of the stage entries ``signals`` (a contact as loaded) made in ``brand`` ({} for none).

    ``shared``, ``rules``: the shared lifecycle and conversion rules (a brand's own replace them).
    """
    own = brand_signals(signals, brands).get(brand, set())
    if not own:  # a contact new in this batch (or to this brand) entered nothing before it
        return {}
    return entry_ids(lifecycle.replay(own, lifecycle_of(brands, brand, shared)).transitions,
                     rules_of(brands, brand, rules), own, brand)
