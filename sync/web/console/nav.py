"""The console's navigation: one entry a section, shown to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from sync.access.roles import Principal
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
    Section("console.audit", N_("Audit log")),
    Section("console.tokens", N_("Tokens"), "admin"),
)


def sections(principal: Principal | None, endpoints: set[str]) -> list[Section]:
    """The entries ``principal`` may open, of those whose page exists in this app."""
    if principal is None:
        return []
    return [section for section in SECTIONS if section.endpoint in endpoints and principal.may(section.role)]
