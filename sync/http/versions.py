"""Vendor API versions and their published end dates: one type, one check, every vendor's table with its code.

A vendor's code declares a ``VersionTable`` once (the ad networks on their ``Network``, the CRM
connectors in their ``versions`` module): each ``ApiVersion`` with its release and end dates as
the vendor published them, and the page that says so. The check is the same for all::

    VERSIONS.check("v21.0", date(2026, 12, 6)).state   # "ended"

States: ``current``; ``ending`` (its end is at most ``WARN_DAYS`` days away); ``ended`` (on or
after its end date: the vendor refuses it, or no longer supports it); ``unknown`` (no such
version, or not released yet on that day). A vendor that published only a month (Google's
projected sunsets, Salesforce's release seasons) gives ``YYYY-MM``: the first day of that month
is used, so the warning and the error come early rather than late (``approximate``).

``VersionUse`` names what chose a version (a setting, or the code's own paths) for whom, and
``problem`` turns the check into the error or warning ``lifesync config check`` prints. The
module imports nothing of lifesync's: the sandboxes and the settings checks read the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

WARN_DAYS = 90  # warn this many days before a version's end (and again every day until it ends)
CURRENT, ENDING, ENDED, UNKNOWN = "current", "ending", "ended", "unknown"
ERROR, WARNING = "error", "warning"


def _day(text: str | None) -> tuple[date | None, bool]:
    """``YYYY-MM-DD`` exactly, ``YYYY-MM`` as the first of the month (approximate), None as None."""
    if text is None:
        return None, False
    if len(text) == 7:
        return date.fromisoformat(f"{text}-01"), True
    return date.fromisoformat(text), False


@dataclass(frozen=True)
class ApiVersion:
    """One version of a vendor API: when it was released, when the vendor ends it, and who says so."""

    name: str  # as it appears in the request path: "v26.0", "v1.3", "2026-09"
    released: date | None  # None: the vendor published no day lifesync relies on
    ends: date | None  # None: no end date published yet
    source: str  # the vendor page (or, marked ⚠ where it is declared, a third party) giving these dates
    approximate: bool = False  # ``ends`` is the first day of a month or season the vendor named

    def until(self) -> str:
        """The end as the vendor gave it: ``2027-02-23``, or the month ``2027-02``; ``""`` without one."""
        if self.ends is None:
            return ""
        return f"{self.ends:%Y-%m}" if self.approximate else self.ends.isoformat()

    def when(self) -> str:
        """The end for a sentence: ``on 2027-02-23``, or ``in 2027-02`` when only the month is published."""
        return f"{'in' if self.approximate else 'on'} {self.until()}" if self.ends is not None else "never"


@dataclass(frozen=True)
class Verdict:
    """What a table says about one version on one day."""

    state: str  # CURRENT, ENDING, ENDED or UNKNOWN
    name: str
    version: ApiVersion | None
    on: date

    @property
    def days_left(self) -> int | None:
        """Days from ``on`` until the version's end (negative once ended); None without an end."""
        if self.version is None or self.version.ends is None:
            return None
        return (self.version.ends - self.on).days


@dataclass(frozen=True)
class VersionTable:
    """The versions of one vendor API, newest first as the vendor lists them."""

    api: str  # for messages: "Meta Marketing API (Conversions API)"
    versions: tuple[ApiVersion, ...]

    def find(self, name: str) -> ApiVersion | None:
        """The version called ``name`` (spaces and case ignored; ``61.0`` finds ``v61.0``), or None."""
        wanted = name.strip().lower()
        for version in self.versions:
            if version.name.lower() in (wanted, f"v{wanted}"):
                return version
        return None

    def check(self, name: str, on: date, warn_days: int = WARN_DAYS) -> Verdict:
        """The state of version ``name`` on day ``on``."""
        version = self.find(name)
        if version is None or (version.released is not None and version.released > on):
            return Verdict(UNKNOWN, name, version, on)
        if version.ends is None:
            return Verdict(CURRENT, name, version, on)
        days = (version.ends - on).days
        state = ENDED if days <= 0 else ENDING if days <= warn_days else CURRENT
        return Verdict(state, name, version, on)

    def available(self, on: date) -> list[ApiVersion]:
        """The versions released by ``on`` and not ended on it, newest first."""
        return [v for v in self.versions if self.check(v.name, on).state in (CURRENT, ENDING)]

    def describe_available(self, on: date, most: int = 6) -> str:
        """The available versions for a message: ``v27.0, v26.0, v25.0 (until 2027-02-23)``, long lists elided."""
        found = self.available(on)
        words = [v.name + (f" (until {v.until()})" if v.ends is not None else "") for v in found]
        if len(words) > most:
            words = [*words[:most - 1], "…", words[-1]]
        return ", ".join(words) or "none"


def version_table(api: str, source: str, rows: Iterable[Sequence[str | None]]) -> VersionTable:
    """A table from rows ``(name, released, ends[, source])``; dates ``YYYY-MM-DD``, ``YYYY-MM`` or None.

    ``source`` is the page giving the dates of every row that names none of its own.
    """
    versions = []
    for row in rows:
        name, released, ends = row[0], row[1], row[2]
        end, approximate = _day(ends)
        versions.append(ApiVersion(str(name), _day(released)[0], end, str(row[3]) if len(row) > 3 else source,
                                   approximate))
    return VersionTable(api, tuple(versions))


@dataclass(frozen=True)
class VersionUse:
    """One vendor API version lifesync is set to call: which, chosen by what, used by whom."""

    table: VersionTable
    version: str
    setting: str  # the variable that chose it ("LIFESYNC_META_API_VERSION__EU", "… (default)"), or the code's paths
    user: str  # "conversion destination 'meta'", "HubSpot connection 'default'"
    fix: str = field(default="")  # what to do instead, when no setting chooses the version (``setting`` is paths)


@dataclass(frozen=True)
class Problem:
    """An error (past its end, or unknown) or a warning (ending within ``WARN_DAYS``) about one ``VersionUse``."""

    severity: str  # ERROR or WARNING
    message: str
    verdict: Verdict


def problem(use: VersionUse, on: date, warn_days: int = WARN_DAYS) -> Problem | None:
    """The error or warning ``use`` deserves on day ``on``, or None while its version is current.

    The message names the setting, the version, its end date and the vendor's page, and lists the
    versions available that day.
    """
    verdict = use.table.check(use.version, on, warn_days)
    if verdict.state == CURRENT:
        return None
    api, version = use.table.api, verdict.version
    head = f"{use.user}: {use.setting} {'calls' if use.fix else '='} {use.version}"
    choose = use.fix or f"set it to one of: {use.table.describe_available(on)}"
    if verdict.state == UNKNOWN or version is None:
        return Problem(ERROR, f"{head}, which is not a {api} version available on {on}; {choose}", verdict)
    if verdict.state == ENDED:
        return Problem(ERROR, f"{head}: {api} {version.name} ended {version.when()} (source: {version.source}); "
                              f"{choose}", verdict)
    return Problem(WARNING, f"{head}: {api} {version.name} ends {version.when()}, in {verdict.days_left} days "
                            f"(source: {version.source}); {choose}", verdict)
