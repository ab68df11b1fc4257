"""The brand an API request reads (``?brand=``), within what its token may see (``sync.access.brands``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort

from sync.access.brands import BrandDenied, scope
from sync.web.api.context import principal

if TYPE_CHECKING:
    from sync.config import Config


def scoped_brand(config: Config, requested: str | None) -> str | None:
    """``requested`` when this token may read it (None: every brand it sees); 422 unknown, 403 not its brand."""
    try:
        return scope(principal(), config.brands, requested)
    except BrandDenied as exc:
        abort(403, description=str(exc))
    except ValueError as exc:
        abort(422, description=str(exc))
