"""The console's one Flask blueprint and how a page declares the role it needs.

Every page module registers its routes on :data:`bp` and declares a role with :func:`page`
(``viewer``, ``operator``, ``admin``: the ops API's roles, ``sync.access.roles``). A route that
declares none is refused to everyone (``sync.web.console.guard``), as in the API. As in the API,
only a page declared ``brand_scoped=True`` (it shows only the brands a token sees) opens for a
token limited to brands; every other page is installation-wide and 403 to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint

from sync.access.roles import ROLES
from sync.web.api.auth import declare

HERE = Path(__file__).parent
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")


def page(role: str, *, brand_scoped: bool = False) -> Callable[[F], F]:
    """Declare the role a console route needs and whether it keeps to a token's brands (the API's ``requires``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(func: F) -> F:
        declare(func, role, brand_scoped=brand_scoped)
        return func

    return decorate
