"""The brand an API request reads (``?brand=``), within what its token may see (``sync.access.brands``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort, g

from sync.access.brands import BrandDenied, scope, visible
from sync.access.roles import Principal

if TYPE_CHECKING:
    from sync.config import Config


def scoped_brand(config: Config, requested: str | None) -> str | None:
    """``requested`` when this token may read it (None: every brand it sees); 422 unknown, 403 not its brand."""
    try:
        return scope(asking(), config.brands, requested)
    except BrandDenied as exc:
        abort(403, description=str(exc))
    except ValueError as exc:
        abort(422, description=str(exc))


def visible_brands(config: Config) -> tuple[str, ...] | None:
    """The brands this request reads on a surface of every brand (None: every brand); 403 when none is configured."""
    try:
        return visible(asking(), config.brands)
    except BrandDenied as exc:
        abort(403, description=str(exc))


def asking() -> Principal:
    """Who the request acts as; outside a request (the app's own code, tests): a principal of every brand."""
    return g.get("principal") or Principal(name="app", role="viewer", via="app")
