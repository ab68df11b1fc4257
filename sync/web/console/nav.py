"""The console's navigation: one entry a section, shown to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from sync.access.roles import Principal
from sync.web.api.auth import is_brand_scoped
from sync.web.console.errors import N_


@dataclass(frozen=True)
class Section:
    """A navigation entry: the endpoint it opens, its label and the role it needs."""

    endpoint: str
    label: str  # English; marked for the catalogue and translated where it is shown
    role: str = "viewer"


SECTIONS = (
    Section("console.overview", N_("Overview")),
    Section("console.contacts", N_("Contacts")),
    Section("console.mappings", N_("Mappings and rules")),
    Section("console.connections", N_("Connections")),
    Section("console.dead_letters", N_("Dead letters")),
    Section("console.duplicates", N_("Duplicates")),
    Section("console.reports", N_("Reports")),
    Section("console.segments", N_("Segments")),
    Section("console.audit", N_("Audit log")),
    Section("console.tokens", N_("Tokens"), "admin"),
)


def sections(principal: Principal | None, app: Flask) -> list[Section]:
    """The entries ``principal`` may open, of those whose page exists in ``app`` (for a token limited to
    brands: only the brand-scoped pages, ``sync.web.console.blueprint``).
    """
    if principal is None:
        return []
    return [section for section in SECTIONS if section.endpoint in app.view_functions and principal.may(section.role)
            and (principal.brands is None or is_brand_scoped(app, section.endpoint, "GET"))]
