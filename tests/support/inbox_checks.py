"""Helpers for receiver tests: process what a test app queued, count what landed."""

from __future__ import annotations

from sqlalchemy import func, select

from sync.ingest import inbox
from sync.store import model


def process(store, config, enqueued) -> None:
    """Process every batch of inbox ids the test app handed over."""
    for ids in enqueued:
        inbox.process_events(store, config, ids)


def counts(store) -> tuple[int, int, int]:
    """Rows in (raw_events, contacts, activities)."""
    with store.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (model.RawEvent, model.Contact,
                                                                                 model.Activity))
