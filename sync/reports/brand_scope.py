"""What scopes a report to one brand (``sync.config.brands``): its lifecycle, its history, its stage now.

A stage report (funnel, lost, response) is one brand's funnel: the default brand's unless
another is asked for, read from the brand's ``stage_transitions`` and its current stages
(``contacts`` for the default brand, ``contact_stages`` for the others). A conversion report
(attribution, delivery) is every brand's unless one is asked for. With one brand, the scope
is the whole installation, as before brands existed.

A contact *dealt with* a brand (:func:`dealt_with`) when it has a stage row in it
(``contact_stages``), or, for the default brand, a stage in ``contacts`` or no other brand at
all: one rule for contact search, the data-quality report and the duplicate review queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, exists, false, or_, true

from sync.config.brands import DEFAULT_BRAND, ONE_BRAND, Brands
from sync.config.types import LifecycleConfig
from sync.reports.window import lifecycle_of
from sync.store import model

if TYPE_CHECKING:
    from sync.config import Config


def brands_of(config: Config | LifecycleConfig) -> Brands:
    """The brands of a loaded ``Config`` (one brand for a bare ``LifecycleConfig``)."""
    return getattr(config, "brands", None) or ONE_BRAND


def check_brand(config: Config | LifecycleConfig, brand: str | None) -> str | None:
    """``brand`` when the configuration has it (None stays None); ValueError naming the brands otherwise."""
    if brand is None:
        return None
    brands = brands_of(config)
    if brands.get(brand) is None:
        raise ValueError(f"unknown brand {brand!r}; configured brands: {', '.join(brands.keys)}")
    return brand


@dataclass(frozen=True)
class StageScope:
    """One brand's funnel: its lifecycle, its history's filter, and where its current stages are."""

    brand: str
    lifecycle: LifecycleConfig

    @property
    def default(self) -> bool:
        """True for the default brand (stage now in ``contacts``, all-time counts kept)."""
        return self.brand == DEFAULT_BRAND

    def history(self, table: Any = model.StageTransition) -> ColumnElement[bool]:
        """The filter of this brand's transitions (of ``table``, an alias of ``stage_transitions``)."""
        return table.brand == self.brand

    def now(self) -> tuple[Any, Any, Any, Any, ColumnElement[bool]]:
        """(the table of current stages, its contact id, stage and lost stage columns, the filter) of this brand."""
        if self.default:
            c = model.Contact
            return c, c.id, c.stage, c.lost_stage, true()
        cs = model.ContactStage
        return cs, cs.contact_id, cs.stage, cs.lost_stage, cs.brand == self.brand

    def entered(self) -> Any:
        """The column of when a contact entered its current stage in this brand (null: no move recorded)."""
        return model.Contact.stage_changed_at if self.default else model.ContactStage.stage_changed_at


def stage_scope(config: Config | LifecycleConfig, brand: str | None) -> StageScope:
    """The funnel of ``brand`` (None: the default brand); ValueError for a brand not configured."""
    key = check_brand(config, brand) or DEFAULT_BRAND
    return StageScope(key, brands_of(config).lifecycle(key, lifecycle_of(config)))


def dealt_with(brand: str, contact: Any = model.Contact,
               bound: Callable[[Any], list[ColumnElement[bool]]] = lambda _: []) -> ColumnElement[bool]:
    """Whether a row of ``contact`` (``contacts`` or an alias of it) dealt with ``brand``.

    A stage row in the brand (``contact_stages``); for the default brand, a stage in
    ``contacts`` or no other brand at all. ``bound`` adds conditions on ``contact_stages.contact_id``
    inside the semi-join (a page's bounds, see ``sync.reports.contact_search``).
    """
    cs = model.ContactStage
    if brand != DEFAULT_BRAND:
        return exists().where(cs.contact_id == contact.id, cs.brand == brand, *bound(cs.contact_id))
    return or_(contact.stage.is_not(None), contact.lost_stage.is_not(None),
               ~exists().where(cs.contact_id == contact.id, *bound(cs.contact_id)))


def dealt_with_any(brands: Iterable[str] | None, contact: Any = model.Contact) -> ColumnElement[bool]:
    """Whether a row of ``contact`` dealt with one of ``brands`` (None: every contact)."""
    if brands is None:
        return true()
    found = [dealt_with(b, contact) for b in dict.fromkeys(brands)]
    return or_(*found) if found else false()
