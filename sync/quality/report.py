"""The data-quality report: what lifesync could not use, and what the contacts lack, over a date range.

``quality`` assembles the report from ``SECTIONS``, a list of section functions
``(session, lifecycle, start, end, brands) -> Section``; a new concern adds its function to the list
and the CLI, the ops API, the
console and the CSV download show it with no change of theirs. A ``Section`` is one table:
its column names, its rows, and a ``total`` (the one figure a summary shows of it).

The window is that of every report (``sync.reports.window``), half-open on:

- ``contact_points``: invalid e-mails and phones (the open issues) and contacts without an
  e-mail or a phone, by the source that supplied the contact's identities; contacts created
  in the window. Total: open invalid e-mails and phones.
- ``refused_values``: values refused per mapping, field, kind and reason, open and resolved;
  issues first seen in the window. Total: open ones.
- ``without_stage``: contacts created in the window with neither a stage nor a lost stage, in
  the default brand (``contacts``) or any other (``contact_stages``), by source. Total: those contacts.
- ``suspected_duplicates``: the duplicate review queue (``sync.quality.duplicates``): open pairs
  found in the window, by kind of evidence (same e-mail, phone, name and city; ``blocked``: a
  merge the identity rules refused). Total: open pairs. A pair with several kinds counts in each.
- ``trend``: issues first seen per UTC day, and how many of them are still open. Total: found.

``brand`` narrows every section to one brand (``sync.config.brands``): issues of records that
came through its connections (``quality_issues.brand``); contacts that dealt with it
(``sync.reports.brand_scope.dealt_with``), without a stage *in it*; pairs whose two contacts both
dealt with it. Without a brand, the report is the whole installation's. Section functions get
the brands as a tuple (None: every brand), so a caller limited to several brands can ask for them.

The same function serves ``lifesync report quality``, ``GET /api/reports/quality`` and the
console's Reports page (``sync.reports.REPORTS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from sync.config.types import DEFAULT_BRAND
from sync.quality import duplicates
from sync.reports.brand_scope import check_brand, dealt_with, dealt_with_any
from sync.reports.window import ReportData, day_of, lifecycle_of, reading, utc, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig


@dataclass(frozen=True)
class Section(ReportData):
    """One table of the report: ``rows`` hold a value per name of ``columns``."""

    name: str  # stable key: contact_points, refused_values, without_stage, trend, …
    title: str  # in English (the console translates by ``name``)
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: int  # the section's headline figure (see the module docstring)


@dataclass(frozen=True)
class QualityReport(ReportData):
    """The data-quality report over [start, end): one Section per entry of ``SECTIONS``."""

    start: datetime | None
    end: datetime | None
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section | None:
        """The section called ``name`` (None when no section function made it)."""
        return next((s for s in self.sections if s.name == name), None)


Brands = tuple[str, ...] | None  # the brands a section narrows to (None: every brand)
SectionFn = Callable[[Session, "LifecycleConfig", datetime | None, datetime | None, Brands], Section]
INVALID = ("invalid_email", "invalid_phone")


def _issue_brand(brands: Brands) -> Any:
    """The filter of the issues of ``brands`` (every issue when None)."""
    return true() if brands is None else model.QualityIssue.brand.in_(brands)


def _sources_of_contacts(start: datetime | None, end: datetime | None, brands: Brands, *where: Any) -> Any:
    """(source, contact_id) once per contact a source supplied identities of, contacts created in the window
    that dealt with one of ``brands``.
    """
    i, c = model.Identity, model.Contact
    return (select(i.source, i.contact_id).distinct().join(c, c.id == i.contact_id)
            .where(within(c.created_at, start, end), dealt_with_any(brands), *where).subquery())


def contact_points(session: Session, lifecycle: LifecycleConfig, start: datetime | None,
                   end: datetime | None, brands: Brands = None) -> Section:
    """Invalid or missing e-mails and phones, by source."""
    pairs = _sources_of_contacts(start, end, brands)
    other = aliased(model.Identity)

    def lacks(kind: str) -> Any:
        has = exists().where(other.contact_id == pairs.c.contact_id, other.kind == kind)
        return func.coalesce(func.sum(case((~has, 1), else_=0)), 0)

    missing = {source: (int(n), int(email), int(phone)) for source, n, email, phone in session.execute(
        select(pairs.c.source, func.count(), lacks("email"), lacks("phone")).group_by(pairs.c.source))}
    q = model.QualityIssue
    invalid: dict[tuple[str, str], int] = {(source, kind): int(n) for source, kind, n in session.execute(
        select(q.source, q.kind, func.count()).where(q.kind.in_(INVALID), q.resolved_at.is_(None),
                                                     within(q.created_at, start, end), _issue_brand(brands))
        .group_by(q.source, q.kind))}
    rows = []
    for source in sorted(set(missing) | {s for s, _ in invalid}):
        n, email, phone = missing.get(source, (0, 0, 0))
        rows.append((source, n, invalid.get((source, "invalid_email"), 0), email,
                     invalid.get((source, "invalid_phone"), 0), phone))
    return Section("contact_points", "Invalid or missing e-mails and phones, by source",
                   ("source", "contacts", "invalid_emails", "without_email", "invalid_phones", "without_phone"),
                   tuple(rows), sum(invalid.values()))


def refused_values(session: Session, lifecycle: LifecycleConfig, start: datetime | None,
                   end: datetime | None, brands: Brands = None) -> Section:
    """Values refused per mapping, field, kind and reason: open and resolved."""
    q = model.QualityIssue
    still_open = func.coalesce(func.sum(case((q.resolved_at.is_(None), 1), else_=0)), 0)
    found = session.execute(
        select(q.mapping, q.field, q.kind, q.reason, still_open, func.count(), func.max(q.last_seen_at))
        .where(within(q.created_at, start, end), _issue_brand(brands))
        .group_by(q.mapping, q.field, q.kind, q.reason)).all()
    rows = sorted(((m, f, k, r, int(o), int(n) - int(o), utc(last)) for m, f, k, r, o, n, last in found),
                  key=lambda row: (-row[4], -row[5], row[:4]))
    return Section("refused_values", "Values refused, per mapping and field",
                   ("mapping", "field", "kind", "reason", "open", "resolved", "last_seen"),
                   tuple(rows), sum(row[4] for row in rows))


def _unstaged(brands: Brands) -> Any:
    """The filter of contacts without a stage (nor a lost stage) in one of ``brands`` they dealt with
    (None: in any brand).
    """
    c, b = model.Contact, model.ContactStage
    staged = (b.stage.is_not(None)) | (b.lost_stage.is_not(None))
    if brands is None:
        return and_(c.stage.is_(None), c.lost_stage.is_(None), ~exists().where(b.contact_id == c.id, staged))

    def no_stage_in(brand: str) -> Any:
        if brand == DEFAULT_BRAND:
            return and_(c.stage.is_(None), c.lost_stage.is_(None))
        return ~exists().where(b.contact_id == c.id, b.brand == brand, staged)

    found = [and_(dealt_with(brand), no_stage_in(brand)) for brand in dict.fromkeys(brands)]
    return or_(*found) if found else false()


def without_stage(session: Session, lifecycle: LifecycleConfig, start: datetime | None,
                  end: datetime | None, brands: Brands = None) -> Section:
    """Contacts with neither a stage nor a lost stage (in the brands asked for, else in any brand), by source."""
    c = model.Contact
    unstaged = _unstaged(brands)
    total = session.scalar(select(func.count()).select_from(c).where(unstaged, within(c.created_at, start, end)))
    pairs = _sources_of_contacts(start, end, None, unstaged)
    rows = tuple((source, int(n)) for source, n in session.execute(
        select(pairs.c.source, func.count()).group_by(pairs.c.source).order_by(pairs.c.source)))
    return Section("without_stage", "Contacts without a stage, by source", ("source", "contacts"), rows,
                   int(total or 0))


def trend(session: Session, lifecycle: LifecycleConfig, start: datetime | None, end: datetime | None,
          brands: Brands = None) -> Section:
    """Issues first seen per UTC day, and how many of them are still open."""
    q = model.QualityIssue
    day = day_of(session, q.created_at)
    still_open = func.coalesce(func.sum(case((q.resolved_at.is_(None), 1), else_=0)), 0)
    rows = tuple((d, int(n), int(o)) for d, n, o in session.execute(
        select(day, func.count(), still_open).where(within(q.created_at, start, end), _issue_brand(brands))
        .group_by(day).order_by(day)))
    return Section("trend", "Issues found per day", ("day", "found", "still_open"), rows, sum(r[1] for r in rows))


def suspected_duplicates(session: Session, lifecycle: LifecycleConfig, start: datetime | None,
                         end: datetime | None, brands: Brands = None) -> Section:
    """The duplicate review queue (``sync.quality.duplicates``): open pairs by kind of evidence, found in the window."""
    queue = duplicates.summary(session, start, end, brands)
    rows = tuple((kind, n) for kind, n in queue["by_kind"].items())
    return Section("suspected_duplicates", "Suspected duplicates waiting for review, by evidence",
                   ("evidence", "open_pairs"), rows, int(queue["open"]))


# The report's sections, in the order they are shown: a new concern adds its function here.
SECTIONS: list[SectionFn] = [contact_points, refused_values, without_stage, suspected_duplicates, trend]


def quality(session_or_store: Session | Store, config: Config | LifecycleConfig, *, start: datetime | None = None,
            end: datetime | None = None, brand: str | None = None) -> QualityReport:
    """The data-quality report over [start, end): every section of ``SECTIONS``, read in one transaction.

    ``brand`` narrows every section to that brand (see the module docstring; None: the whole
    installation); ValueError for a brand the configuration does not have.
    """
    lifecycle = lifecycle_of(config)
    key = check_brand(config, brand)
    brands = None if key is None else (key,)
    with reading(session_or_store) as session:
        sections = tuple(fn(session, lifecycle, start, end, brands) for fn in SECTIONS)
    return QualityReport(start=utc(start), end=utc(end), sections=sections)
