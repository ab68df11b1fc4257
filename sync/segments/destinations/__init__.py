"""Audience destinations: one module per vendor, each exporting ``DESTINATION`` (a class), in one registry.

Shared code looks a destination kind up here — ``kind(name)``, ``build(config, session)`` — and
never names one. Adding a destination is adding its module to this package (see ``base``).
"""

from __future__ import annotations

import importlib
import pkgutil

import requests

from sync.segments.destinations.base import AudienceDestination, AudienceDestinationConfig


def _discover() -> dict[str, type]:
    """Every module of this package exporting ``DESTINATION``, by its ``kind`` (sorted: stable messages)."""
    found: dict[str, type] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        declared = getattr(importlib.import_module(f"{__name__}.{module.name}"), "DESTINATION", None)
        if declared is not None:
            if declared.kind in found:
                raise RuntimeError(f"two audience destination modules declare the kind {declared.kind!r}")
            found[declared.kind] = declared
    return dict(sorted(found.items()))


KINDS: dict[str, type] = _discover()


def kind(name: str) -> type:
    """The destination class of kind ``name``; ``ValueError`` naming the known kinds when there is none."""
    found = KINDS.get(name)
    if found is None:
        raise ValueError(f"unknown audience destination kind {name!r}; expected one of {list(KINDS)}")
    return found


def build(config: AudienceDestinationConfig, session: requests.Session | None = None) -> AudienceDestination:
    """The destination ``config`` describes, over ``session`` (a new one by default)."""
    return kind(config.kind)(config, session or requests.Session())
