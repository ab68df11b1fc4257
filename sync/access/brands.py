"""Which brand a principal may read: tokens limited to brands (``api_tokens.brands``), one rule for every surface.

A token without brands sees every brand. A token limited to brands sees only theirs: asking
for another brand is refused (``BrandDenied``: 403 on the API, the console's forbidden page),
and asking for none scopes it to its first brand, so it never reads data of a brand it may not
see. The API, the console and the CLI all call :func:`scope`.

A surface that lists every brand's data (dead letters, the duplicate review queue, the console's
overview) uses :func:`visible` instead: a token limited to brands reads all of its brands there,
and a row of another brand is "not found", so its existence does not leak.

Only routes that declare they read within a token's brands use :func:`scope` or :func:`visible`;
every other route (connections, configuration, audit log, jobs, alerts, tokens admin, …) is
installation-wide and refused to a token limited to brands, with :func:`installation_wide`'s message.
"""

from __future__ import annotations

from sync.access.roles import Principal
from sync.config.brands import Brands
from sync.errors import LifesyncError


class BrandDenied(LifesyncError):
    """The principal may not see the brand it asked for."""


def scope(principal: Principal, brands: Brands, requested: str | None) -> str | None:
    """The brand a request reads: ``requested`` (None: every brand, or the report's default) when allowed.

    ValueError for a brand brands.yaml does not configure; ``BrandDenied`` for one the
    principal's token is not given.
    """
    if requested is not None and brands.get(requested) is None:
        raise ValueError(f"unknown brand {requested!r}; configured brands: {', '.join(brands.keys)}")
    if principal.brands is None:
        return requested
    if requested is None:
        found = next((b for b in brands.keys if b in principal.brands), None)
        if found is None:
            raise BrandDenied(f"this token sees only {', '.join(principal.brands)}, which brands.yaml does not "
                              f"configure (configured brands: {', '.join(brands.keys)})")
        return found
    if requested not in principal.brands:
        raise BrandDenied(f"this token may not see brand {requested!r}; it sees: {', '.join(principal.brands)}")
    return requested


def visible(principal: Principal, brands: Brands) -> tuple[str, ...] | None:
    """The brands a principal reads on a surface of every brand: None (every brand) without limits, else
    those of its brands that brands.yaml configures (``BrandDenied`` when none is).
    """
    if principal.brands is None:
        return None
    found = tuple(b for b in brands.keys if b in principal.brands)
    if not found:
        raise BrandDenied(f"this token sees only {', '.join(principal.brands)}, which brands.yaml does not "
                          f"configure (configured brands: {', '.join(brands.keys)})")
    return found


def installation_wide(brands: tuple[str, ...], area: str) -> str:
    """Why a token limited to ``brands`` is refused ``area``, which is not limited to brands."""
    return (f"this token is limited to brands {', '.join(brands)}; {area} is installation-wide: "
            "use a token without brand limits")
