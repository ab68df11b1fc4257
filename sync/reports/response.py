"""First-response time vs drop-off: whether contacts answered late end up in a lost stage more often.

Read from ``conversation_stats`` (kept by ``sync.ingest.automation.compute_first_responses``: per
conversation, the first inbound message and the first reply at or after it) and ``contacts``.
Each contact is counted once, by its **first conversation** — the earliest
``first_inbound_at`` of all its conversations, so later conversations never re-bucket a
contact — and a contact is in the window when that first conversation started in it.

Buckets go by that conversation's ``first_response_seconds``: under 5 minutes, 5–60 minutes,
1–24 hours, over 24 hours, and never answered (no reply recorded yet). **Lost** is the
contact's state now: in a lost stage, whichever.

``brand`` (``sync.reports.brand_scope``): the contacts with a stage in that brand, lost in it
(default: the default brand, whose stage ``contacts`` holds), by their first conversation with
that brand: a conversation is the brand's whose connection its messages came through
(``conversation_stats.brand``), so a contact of two brands is bucketed in each by how fast
that brand answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND
from sync.reports.brand_scope import stage_scope
from sync.reports.window import ReportData, reading, share, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

# (label, lower bound in seconds inclusive, upper bound exclusive); "never answered" comes last
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 5 min", 0, 5 * 60),
    ("5–60 min", 5 * 60, 60 * 60),
    ("1–24 h", 60 * 60, 24 * 60 * 60),
    ("> 24 h", 24 * 60 * 60, None),
)

NEVER = "never answered"


@dataclass(frozen=True)
class ResponseBucket:
    """Contacts whose first conversation was answered within one time range, and how many were lost."""

    label: str
    contacts: int
    lost: int
    lost_share: float | None  # lost / contacts


@dataclass(frozen=True)
class ResponseReport(ReportData):
    """First-response buckets for contacts whose first conversation started in [start, end)."""

    start: datetime | None
    end: datetime | None
    buckets: tuple[ResponseBucket, ...]
    contacts: int
    lost: int
    lost_share: float | None
    brand: str = "default"  # whose contacts (sync.config.brands)


def response(session_or_store: Session | Store, config: Config | LifecycleConfig | None = None, *,
             start: datetime | None = None, end: datetime | None = None, brand: str | None = None) -> ResponseReport:
    """Compute the first-response vs drop-off report (``config`` names the brands; a bare lifecycle: one brand)."""
    scope = stage_scope(config, brand) if config is not None else None
    s = model.ConversationStat
    table, cid, _, lost_stage, where = scope.now() if scope is not None else (
        model.Contact, model.Contact.id, None, model.Contact.lost_stage, None)
    first = (select(s.contact_id, s.first_inbound_at, s.first_response_seconds,
                    func.row_number().over(partition_by=s.contact_id, order_by=(s.first_inbound_at, s.id))
                    .label("n")).where(s.brand == (scope.brand if scope else DEFAULT_BRAND)).subquery())
    seconds = first.c.first_response_seconds
    bucket = case(*[((seconds >= lo) if hi is None else (seconds < hi), label)
                    for label, lo, hi in BUCKETS], else_=NEVER)
    # "never answered" is the NULLs; they fall through every comparison to else_
    is_lost = case((lost_stage.is_not(None), 1), else_=0)
    # bucket in a subquery and group by its column: PostgreSQL does not see two renderings of
    # one CASE with bound labels as the same expression
    per_contact = (select(bucket.label("bucket"), is_lost.label("lost"))
                   .select_from(first).join(table, cid == first.c.contact_id)
                   .where(first.c.n == 1, within(first.c.first_inbound_at, start, end),
                          *(() if where is None else (where,))).subquery())
    with reading(session_or_store) as session:
        rows = session.execute(select(per_contact.c.bucket, func.count(), func.sum(per_contact.c.lost))
                               .group_by(per_contact.c.bucket)).all()
    found = {label: (n, int(lost or 0)) for label, n, lost in rows}
    buckets = []
    for label in (*(b[0] for b in BUCKETS), NEVER):
        n, lost_n = found.get(label, (0, 0))
        buckets.append(ResponseBucket(label, n, lost_n, share(lost_n, n)))
    contacts = sum(b.contacts for b in buckets)
    lost_total = sum(b.lost for b in buckets)
    return ResponseReport(start=start, end=end, buckets=tuple(buckets), contacts=contacts, lost=lost_total,
                          lost_share=share(lost_total, contacts), brand=scope.brand if scope else DEFAULT_BRAND)
