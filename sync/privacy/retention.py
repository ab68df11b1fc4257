"""Retention: raw webhook bodies, closed dead letters and delivery answers lose their personal data after N days.

Three kinds, each with its own setting (``RetentionSettings``; 0 keeps that kind for ever):

- ``raw_events``: a *processed* inbox event's body is emptied once ``processed_at`` is past the
  window. The row stays (source, event key, times, status): de-duplication of a re-sent webhook
  and the inbox counts still work. Events still ``received`` (not yet processed) or ``dead``
  (their body is what a replay reads) are never touched.
- ``dead_letters``: a *closed* (replayed or dismissed) letter created before the window has its
  payload replaced by ``REDACTED_PAYLOAD``; reason, stage, source, status and times stay (the
  group counts are kept by triggers on the status, which does not change). Open letters keep
  their payload: someone still has to triage them.
- ``deliveries``: a *finished* (sent or dead) delivery last updated before the window keeps of
  its ``response`` only the keys the delivery report counts (``REPORT_KEYS``: which click id
  kind, which hashed key names, the duplicate flag — no personal values) plus ``redacted``,
  and loses its ``last_error`` (a vendor's error often quotes the record). Pending and failed
  deliveries are still being retried and are kept.

``purge`` works in bounded batches (keyset on the id, ``BATCH`` rows a statement, one
transaction a batch), so it runs at a million rows without holding a long transaction; a
second run finds nothing left to do. ``dry_run`` counts and changes nothing. The scheduled
job runs unaudited (no one asked); the CLI passes who ran it and one audit entry records the
counts (never any value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import bindparam, func, select, update

from sync.access import audit
from sync.access.roles import Principal
from sync.settings import ConnectionSettings, Settings, integer, setting
from sync.store import model
from sync.store.engine import Store

BATCH = 1000
KINDS = ("raw_events", "dead_letters", "deliveries")
REDACTED_PAYLOAD: dict[str, Any] = {"redacted": "retention"}
REPORT_KEYS = ("click_id", "keys", "duplicate")  # sync.reports.delivery reads these (no personal values)
FINISHED_DELIVERIES = ("sent", "dead")
CLOSED_LETTERS = ("replayed", "dismissed")


@dataclass(frozen=True)
class RetentionSettings(ConnectionSettings):
    """Days each kind keeps its personal data (0: for ever)."""

    platform: ClassVar[str] = "retention"
    raw_events_days: int = setting("LIFESYNC_RETAIN_RAW_EVENTS_DAYS", integer(0, 36500))
    dead_letters_days: int = setting("LIFESYNC_RETAIN_DEAD_LETTERS_DAYS", integer(0, 36500))
    delivery_responses_days: int = setting("LIFESYNC_RETAIN_DELIVERY_RESPONSES_DAYS", integer(0, 36500))


def _pages(session_of: Callable[[], Any], query: Any) -> Iterator[list[Any]]:
    """Rows of ``query`` (first column: the id) in id order, ``BATCH`` a page, each read in its own transaction."""
    after = 0
    while True:
        with session_of() as session:
            rows = list(session.execute(query.where(query.selected_columns[0] > after)
                                        .order_by(query.selected_columns[0]).limit(BATCH)))
        if not rows:
            return
        after = rows[-1][0]
        yield rows


def _raw_events(store: Store, cutoff: datetime, dry_run: bool) -> int:
    r = model.RawEvent
    query = select(r.id).where(r.status == "processed", r.processed_at < cutoff, func.length(r.body) > 0)
    done = 0
    for rows in _pages(store.transaction, query):
        done += len(rows)
        if not dry_run:
            with store.transaction() as session:
                session.execute(update(r).where(r.id.in_([row.id for row in rows])).values(body=b""))
    return done


def _redact_each(store: Store, table: Any, query: Any, redact: Callable[[Any], dict[str, Any] | None],
                 dry_run: bool) -> int:
    """Rows of ``query`` that ``redact`` turns into new values (None: already redacted), written by id."""
    done = 0
    for rows in _pages(store.transaction, query):
        changes = [(row[0], values) for row in rows if (values := redact(row)) is not None]
        done += len(changes)
        if changes and not dry_run:
            columns = {k: bindparam(f"new_{k}") for k in changes[0][1]}
            statement = update(table).where(table.c.id == bindparam("row_id")).values(columns)
            with store.transaction() as session:
                params = [{"row_id": row_id, **{f"new_{k}": v for k, v in values.items()}}
                          for row_id, values in changes]
                session.connection().execute(statement, params)
    return done


def _dead_letters(store: Store, cutoff: datetime, dry_run: bool) -> int:
    d = model.DeadLetter
    query = select(d.id, d.payload).where(d.status.in_(CLOSED_LETTERS), d.created_at < cutoff)
    return _redact_each(store, d.__table__, query,
                        lambda row: None if row.payload == REDACTED_PAYLOAD else {"payload": REDACTED_PAYLOAD}, dry_run)


def redacted_response(response: Any) -> dict[str, Any]:
    """What a delivery's response keeps past its window: the delivery report's keys and the marker."""
    kept = {k: response[k] for k in REPORT_KEYS if isinstance(response, dict) and k in response}
    return {**kept, "redacted": True}


def _deliveries(store: Store, cutoff: datetime, dry_run: bool) -> int:
    d = model.Delivery
    query = select(d.id, d.response, d.last_error).where(d.status.in_(FINISHED_DELIVERIES), d.updated_at < cutoff)

    def redact(row: Any) -> dict[str, Any] | None:
        response = redacted_response(row.response)
        if row.response == response and row.last_error is None:
            return None
        return {"response": response, "last_error": None}

    return _redact_each(store, d.__table__, query, redact, dry_run)


PURGES: dict[str, tuple[str, Callable[[Store, datetime, bool], int]]] = {
    "raw_events": ("raw_events_days", _raw_events),
    "dead_letters": ("dead_letters_days", _dead_letters),
    "deliveries": ("delivery_responses_days", _deliveries),
}


def purge(store: Store, settings: Settings, *, dry_run: bool = False, actor: Principal | None = None,
          now: datetime | None = None) -> dict[str, Any]:
    """Redact what each kind holds past its retention window; rows redacted (or, dry, to redact) per kind.

    ``actor``: who asked (one audit entry with the counts); None for the scheduled job.
    """
    own = RetentionSettings.of(settings)
    now = now or model.utcnow()
    counts: dict[str, int] = {}
    days: dict[str, int] = {}
    for kind, (field_name, run) in PURGES.items():
        days[kind] = getattr(own, field_name)
        counts[kind] = run(store, now - timedelta(days=days[kind]), dry_run) if days[kind] else 0
    result = {"dry_run": dry_run, "redacted": counts, "days": days}
    if actor is not None and not dry_run:
        with store.transaction() as session:
            audit.record(session, actor, "privacy.purge", "retention", after=result)
    return result
