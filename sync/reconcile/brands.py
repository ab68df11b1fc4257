"""What reconciliation needs to know of brands: whose funnel a signal moves, and brand-distinct event ids.

A contact is one person whatever brands they deal with: identities and field values are
shared. Its stage is per brand: the signals a record brings carry the record's brand (the
brand owning its connection, ``sync.config.brands``), and the stage in a brand is the replay
of that brand's signals alone, through that brand's lifecycle. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sync.config.brands import DEFAULT_BRAND, Brands
from sync.config.types import LifecycleConfig
from sync.reconcile.lifecycle import StageSignal
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
