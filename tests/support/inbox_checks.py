"""Helpers for receiver tests: process what a test app queued, count what landed."""

from __future__ import annotations

from sqlalchemy import func, select

from sync.ingest import inbox
from sync.store import model


def process(store, config, enqueued) -> None:
    """Process every batch of inbox ids the test app handed over."""
    for ids in enqueued:
        inbox.process_events(store, config, ids)


def counts(store, tables=(model.RawEvent, model.Contact, model.Activity)) -> tuple[int, ...]:
    """Rows in each of ``tables`` (by default: raw_events, contacts, activities)."""
    with store.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in tables)


def raw_rows(store) -> list[model.RawEvent]:
    """The inbox rows in arrival order, detached from their session."""
    with store.transaction() as s:
        rows = list(s.scalars(select(model.RawEvent).order_by(model.RawEvent.id)))
        s.expunge_all()
    return rows
