"""What every CRM connector gives the sync runner: pages of records to pull, batches to push.

A puller turns (object, cursor) into ``Page``s: the vendor-shaped records of one page (the
shape the object's mapping file reads) and the cursor that resumes *after* that page. The
runner (``sync.crm.pull``) ingests a page's records and stores its cursor in the same
transaction, so a crash between pages loses nothing and repeats nothing that committed.

A pusher takes ``PushItem``s (vendor-shaped properties built by the mapping's reverse) and
sends them in batches of at most ``max_batch``; it returns one ``PushResult`` per item and
raises the typed ``sync.errors`` only when the whole request failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol


@dataclass
class SyncStats:
    """Counters a connector keeps while it runs (for the progress bar and the benchmark)."""

    records: int = 0
    pages: int = 0
    api_calls: int = 0
    rate_limit_waits: int = 0
    rate_limit_seconds: float = 0.0
    deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Page:
    """One page of vendor records for the mapping of (source, ``object``), and the cursor after it."""

    object: str
    records: list[dict[str, Any]]
    cursor: dict[str, Any]


class QuotaReached(Exception):
    """The run used its configured share of the vendor's API quota: stop cleanly, resume later."""


class Puller(Protocol):
    """Reads one CRM connection."""

    source: str
    stats: SyncStats

    def objects(self) -> list[str]:
        """Objects this connector syncs, in dependency order (e.g. contacts before deals)."""

    def pull(self, obj: str, cursor: dict[str, Any], *, full: bool = False,
             now: datetime | None = None) -> Iterator[Page]:
        """Pages changed since ``cursor`` (everything when ``full`` or the cursor is empty)."""


@dataclass(frozen=True)
class PushItem:
    """One contact's changes for one system."""

    key: int  # the outbox row id: results are matched by it
    object: str  # the mapping object, e.g. "contacts", "Lead", "Contact"
    vendor_id: str | None  # the record's id in the system, when lifesync knows it
    properties: dict[str, Any]  # vendor-shaped values from the mapping's reverse (stage included)
    known: dict[str, Any] = field(default_factory=dict)  # the system's last values for those keys
    external_id: str | None = None  # lifesync's own id for upserts by an external-id field
    # what the mapping's reverse wrote outside the record's properties: requests the pusher makes besides the
    # write (HubSpot: ``unsubscribe_all``, sync.connectors.hubspot.push), and the contact's e-mail addresses they
    # are addressed by
    extra: dict[str, Any] = field(default_factory=dict)
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushResult:
    """What became of one ``PushItem``."""

    key: int
    # deferred: not sent, the run's API allowance is spent; it stays pending for the next run
    status: Literal["ok", "failed", "conflict", "retry", "deferred"]
    vendor_id: str | None = None  # the record's id in the system (new records included)
    error: str | None = None  # the vendor's reason, redacted, for failed / conflict / retry / deferred


class Pusher(Protocol):
    """Writes one CRM connection."""

    max_batch: int
    stats: SyncStats

    def push(self, obj: str, items: list[PushItem]) -> list[PushResult]:
        """Send ``items`` (at most ``max_batch``) of one object; one result per item.

        Raises QuotaReached, sending nothing, when the run may make no more calls; items a
        batch could not send for that reason after a first request come back ``deferred``.
        """
